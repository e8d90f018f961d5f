#!/usr/bin/env bash
# Everything the VM runs need, idempotently: the Debian packages of
# `scripts/setup.sh --vm`, npm dependencies, the TypeScript build, the
# ublk addon (required here, not best effort), the kernel and initramfs.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --vm
bash native/build.sh --strict
test/vm/prepare.sh >/dev/null

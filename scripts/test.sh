#!/usr/bin/env bash
# The whole test suite, with its own set-up (idempotent). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.cache/tools/bin:$PATH"
npm test
# The ublk frontend in a real kernel (qemu VM; see docs/ublk.md).
npm run test:vm

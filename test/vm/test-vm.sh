#!/usr/bin/env bash
# `npm run test:vm`: the ublk end-to-end tests, inside a qemu VM with a
# ublk-enabled kernel (this host's kernel has no ublk_drv). See docs/ublk.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
test/vm/vm-ready.sh

# The harness itself must be able to fail: a guest command's status comes
# back unchanged, and a guest that outlives its time limit is a failure.
rc=0
test/vm/run-vm.sh -n -t 60 -- sh -c 'exit 3' || rc=$?
[ "$rc" = 3 ] || { echo "test:vm: harness check failed: exit status 3 came back as $rc" >&2; exit 1; }
rc=0
test/vm/run-vm.sh -n -t 10 -- sleep 600 >/dev/null 2>&1 || rc=$?
[ "$rc" = 124 ] || { echo "test:vm: harness check failed: a timeout came back as $rc, not 124" >&2; exit 1; }
echo "test:vm: harness checks passed"

test/vm/run-vm.sh -t 600 -- node --test --test-concurrency=1 dist/test/vm/guest/
echo "test:vm: passed in $(($(date +%s) - started)) s"

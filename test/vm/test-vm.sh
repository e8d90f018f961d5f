#!/usr/bin/env bash
# `npm run test:vm`: the ublk end-to-end tests, inside a qemu VM with a
# ublk-enabled kernel (this host's kernel has no ublk_drv). See docs/ublk.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
test/vm/vm-ready.sh

# The harness itself must be able to fail: a guest command's status comes
# back unchanged, and a guest that outlives its time limit is a failure.
# Their console output is kept and shown when a check fails.
check_log=$(mktemp "${TMPDIR:-/tmp}/marsvm-check.XXXXXX")
trap 'rm -f "$check_log"' EXIT
harness_check() { # expected-status description run-vm-args...
  local expected=$1 what=$2 rc=0
  shift 2
  test/vm/run-vm.sh "$@" >"$check_log" 2>&1 || rc=$?
  if [ "$rc" != "$expected" ]; then
    echo "test:vm: harness check failed: $what came back as $rc, not $expected; the run printed:" >&2
    cat "$check_log" >&2
    exit 1
  fi
}
harness_check 3 "exit status 3" -n -t 60 -- sh -c 'exit 3'
harness_check 124 "a timeout" -n -t 20 -- sleep 600
echo "test:vm: harness checks passed"

test/vm/run-vm.sh -t 600 -- node --test --test-concurrency=1 dist/test/vm/guest/
# The default kernel (6.12) has no UBLK_U_CMD_UPDATE_SIZE: the resize test
# once more on trixie-backports' kernel (>= 6.16), which has it. About 50 s
# of the run, plus about 20 s to fetch that kernel the first time.
resize_started=$(date +%s)
KSUITE=trixie-backports test/vm/prepare.sh >/dev/null
KSUITE=trixie-backports test/vm/run-vm.sh -t 300 -- node --test dist/test/vm/guest/ublk-resize.test.js
echo "test:vm: resize test on trixie-backports passed in $(($(date +%s) - resize_started)) s"
echo "test:vm: passed in $(($(date +%s) - started)) s"

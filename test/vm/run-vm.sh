#!/usr/bin/env bash
# Boots the test VM (qemu, TCG software emulation) and runs ONE command in
# it; prints the command's output and exits with its exit status.
#
#   test/vm/run-vm.sh [options] -- command [args...]
#
#   -t SECONDS  time limit for the whole run (default 600); on expiry the VM
#               is killed and the exit status is 124 (a timeout is a failure)
#   -m MIB      guest memory (default 3072)      -c N  vCPUs (default: nproc)
#   -s DIR      share DIR read-write at the same path (repeatable; the
#               current directory is always shared)
#   -n          no host sharing: run in the initramfs' busybox
#   -d          show kernel messages and the boot
#   VM_CPU=...  qemu -cpu model (default max,la57=off)
#
# Exit status: the command's, 124 on timeout, 125 when the guest died
# before reporting one (panic, boot failure).
#
# The guest sees the host's / read-only (9p, overlay on tmpfs) and the
# current directory read-write, runs as root with the host's PATH and HOME,
# and has no network. Why TCG: this machine's /dev/kvm is a nested PVM
# that cannot run a stock Debian kernel (see docs/ublk.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=600
mem=3072
cpus=$(nproc)
share_root=1
debug=0
shares=("$PWD")
while [ $# -gt 0 ]; do
  case "$1" in
    -t) timeout_s=$2; shift 2 ;;
    -m) mem=$2; shift 2 ;;
    -c) cpus=$2; shift 2 ;;
    -s) shares+=("$(cd "$2" && pwd)"); shift 2 ;;
    -n) share_root=0; shift ;;
    -d) debug=1; shift ;;
    --) shift; break ;;
    *) echo "run-vm: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "run-vm: no command given" >&2; exit 2; }

read -r kernel initrd < <("$here/prepare.sh")

job=$(mktemp -d "${TMPDIR:-/tmp}/marsvm-job.XXXXXX")
trap 'rm -rf "$job"' EXIT
mkdir -p "$job/root/job"
{
  echo "SHARE_ROOT=$share_root"
  echo "SHARES='${shares[*]}'"
} >"$job/root/job/config"
{
  if [ "$share_root" = 1 ]; then
    printf 'export PATH=%q HOME=%q\n' "$PATH" "${HOME:-/root}"
  else
    echo 'export PATH=/bin HOME=/'
  fi
  printf 'export JOB_CWD=%q MARSD_VM_GUEST=1 TERM=dumb\n' "$PWD"
} >"$job/root/job/env"
printf 'exec' >"$job/root/job/cmd"
printf ' %q' "$@" >>"$job/root/job/cmd"
echo >>"$job/root/job/cmd"
# The kernel unpacks concatenated newc archives in order: the job is simply
# appended to the prepared initramfs.
(cd "$job/root" && find . | cpio -o -H newc --quiet) >"$job/job.cpio"
cat "$initrd" "$job/job.cpio" >"$job/initrd.cpio"

virtfs=()
if [ "$share_root" = 1 ]; then
  virtfs+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
  i=0
  for dir in "${shares[@]}"; do
    virtfs+=(-virtfs "local,path=$dir,mount_tag=share$i,security_model=none,multidevs=remap")
    i=$((i + 1))
  done
fi
loglevel=4
[ "$debug" = 1 ] && loglevel=7

# mawk (Debian's awk) reads its input in big blocks unless told otherwise,
# which would hold back the guest's output until the end.
awk_stream=()
awk -W version 2>&1 | grep -q mawk && awk_stream=(-W interactive)
# The serial console carries the output; the markers written by the guest's
# /init delimit the job's output and carry its exit status.
status_file="$job/status"
begun_file="$job/begun"
# A guest that dies before its job begins (seen once: a kernel oops during
# boot under TCG with two VMs running) ran nothing, so booting again cannot
# hide a test failure; it is retried, twice at most, with the boot log shown.
# Once the job has begun, its outcome stands.
for attempt in 1 2 3; do
  rm -f "$status_file" "$begun_file"
  set +e
  timeout -k 5 "$timeout_s" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu "${VM_CPU:-max,la57=off}" -smp "$cpus" -m "$mem" \
    -nodefaults -no-reboot -display none -serial stdio \
    -device virtio-rng-pci \
    -kernel "$kernel" -initrd "$job/initrd.cpio" \
    -append "console=ttyS0 panic=-1 loglevel=$loglevel quiet" \
    "${virtfs[@]}" </dev/null 2>&1 |
    awk "${awk_stream[@]}" -v debug="$debug" -v status="$status_file" -v begunfile="$begun_file" '
      { sub(/\r$/, "") }
      /reboot: Power down$/ && debug != 1 { next }
      /^@@MARSVM_BEGIN@@$/ { begun = 1; print "" > begunfile; close(begunfile); next }
      /^@@MARSVM_RC=[0-9]+@@$/ { rc = $0; gsub(/[^0-9]/, "", rc); print rc > status; close(status); next }
      { if (begun || debug == 1) { print; fflush() } else boot = boot $0 "\n" }
      END { if (!begun && debug != 1) printf "%s", boot }
    '
  qemu_rc=${PIPESTATUS[0]}
  set -e
  if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
    echo "run-vm: timed out after ${timeout_s}s" >&2
    exit 124
  fi
  [ -e "$begun_file" ] && break
  echo "run-vm: the guest died before its job began (attempt $attempt, qemu exit $qemu_rc; boot log above)" >&2
done
if [ ! -s "$status_file" ]; then
  echo "run-vm: the guest ended without reporting a status (qemu exit $qemu_rc)" >&2
  exit 125
fi
exit "$(cat "$status_file")"

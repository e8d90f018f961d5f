#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine with Node >= 20.
# Installs the Debian packages marsd's demo and tests need, the npm
# dependencies, and builds the TypeScript. Safe to run any number of times:
# every step first checks whether it is already done.
#
#   scripts/setup.sh            # demo + test prerequisites
#   scripts/setup.sh --vm       # also what the ublk VM tests need
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

want_vm=0
for arg in "$@"; do
  case "$arg" in
    --vm) want_vm=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }

# --- Node -------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# --- Debian packages ----------------------------------------------------------
# Command-line clients the tests drive (we did not write them), and the tools
# for real filesystems on our export.
packages=(nbdkit libnbd-bin python3-libnbd qemu-utils fio e2fsprogs fuse3 util-linux iproute2 procps curl tmux)
# The Ansible collection's tests (ansible/): ansible-playbook and ansible-doc,
# the json stdout callback (ansible.posix, in Debian's "ansible" bundle),
# module unit tests, and ansible-test sanity offline (ansible/sanity-offline.py:
# the linters it would pip-install, from Debian, in a venv on system packages).
packages+=(ansible-core ansible python3-voluptuous python3-pytest)
packages+=(python3-venv python3-pycodestyle pylint yamllint)
# The monitoring tests read the dashboard provisioning and alert rules (YAML).
packages+=(python3-yaml)
# The peer identity tests make a CA and node certificates with the openssl CLI.
packages+=(openssl)
# The unit's tests: systemd-analyze (verify, security) and systemd-notify,
# the daemon's sd_notify fallback without the native addon.
packages+=(systemd)
if [ "$want_vm" = 1 ]; then
  # The VM harness (test/vm/), the ublk addon's build (liburing-dev, a C++
  # toolchain, python3 for node-gyp) and the kernel NBD client the ublk
  # benchmark compares against inside the VM.
  packages+=(qemu-system-x86 busybox-static cpio kmod xz-utils liburing-dev g++ make python3 nbd-client)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool lints our /metrics output and tests the alert rules; the server
# itself scrapes live daemons in test/integration/prometheus-live.test.ts.
# The Debian 'prometheus' package would also install and start a server
# as a service, so its binaries are only unpacked locally.
tools="$ROOT/.cache/tools"
if [ ! -x "$tools/bin/promtool" ] || [ ! -x "$tools/bin/prometheus" ]; then
  log "unpacking promtool and prometheus from Debian's prometheus package"
  mkdir -p "$tools/deb"
  (cd "$tools/deb" && rm -f prometheus_*.deb && apt-get download prometheus >/dev/null 2>&1)
  rm -rf "$tools/root" && dpkg -x "$tools"/deb/prometheus_*.deb "$tools/root"
  mkdir -p "$tools/bin"
  # Relative, so a moved or copied checkout keeps a working link.
  ln -sf ../root/usr/bin/promtool "$tools/bin/promtool"
  ln -sf ../root/usr/bin/prometheus "$tools/bin/prometheus"
fi

# --- npm dependencies and build ----------------------------------------------
stamp=node_modules/.setup-stamp
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi
log "building"
npm run --silent build
# The ublk addon: best effort (without liburing-dev it says why and marsd
# serves NBD only); npm ci already built it when the lock file changed.
bash native/build.sh

#!/usr/bin/env bash
# Prepares everything the ublk VM tests boot, idempotently, into the
# gitignored test/vm/work/:
#
#   kernel/   a Debian kernel with ublk_drv (bookworm-backports by default;
#             bookworm's own 6.1 is built without CONFIG_BLK_DEV_UBLK)
#   initramfs.cpio   busybox + the decompressed modules + our /init
#
# The kernel comes through apt only, with a private configuration under
# work/apt: /etc/apt is neither read for sources nor changed.
#
#   KSUITE=bookworm-backports (default) | trixie | trixie-backports
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work="$here/work"
suite=${KSUITE:-bookworm-backports}
mirror=${KMIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
log() { printf 'vm-prepare: %s\n' "$*" >&2; }

for tool in apt-get dpkg-deb depmod busybox cpio xz qemu-system-x86_64; do
  command -v "$tool" >/dev/null || {
    log "missing $tool: run scripts/setup.sh --vm"
    exit 1
  }
done

# --- the kernel, through a private apt ---------------------------------------
aptdir="$work/apt-$suite"
kdir="$work/kernel-$suite"
if [ ! -f "$kdir/.done" ]; then
  log "fetching the $suite kernel through a private apt configuration"
  mkdir -p "$aptdir"/{lists/partial,archives/partial,etc/preferences.d,etc/apt.conf.d}
  : >"$aptdir/status"
  echo "deb [signed-by=$keyring] $mirror $suite main" >"$aptdir/etc/sources.list"
  # Every path apt would take from /etc/apt or /var is redirected here.
  cat >"$aptdir/apt.conf" <<CONF
Dir::Etc "$aptdir/etc";
Dir::Etc::sourcelist "$aptdir/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::parts "$aptdir/etc/apt.conf.d";
Dir::Etc::preferencesparts "$aptdir/etc/preferences.d";
Dir::State "$aptdir";
Dir::State::lists "$aptdir/lists";
Dir::State::status "$aptdir/status";
Dir::Cache "$aptdir";
Dir::Cache::archives "$aptdir/archives";
APT::Architecture "amd64";
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
  export APT_CONFIG="$aptdir/apt.conf"
  apt-get -qq update
  # linux-image-amd64 is a meta package: follow it to the real image
  # (6.12 ships image + modules in one package; 7.x splits them).
  pkgs=()
  queue=(linux-image-amd64)
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    pkgs+=("$p")
    while read -r dep; do
      case "$dep" in
        linux-image-*|linux-binary-*|linux-modules-*) [[ " ${pkgs[*]} ${queue[*]} " == *" $dep "* ]] || queue+=("$dep") ;;
      esac
    done < <(apt-cache depends --no-recommends --no-suggests "$p" 2>/dev/null | sed -n 's/^ *\(Pre\)\?Depends: \([^ <>]*\).*/\2/p')
  done
  rm -rf "$aptdir/debs" && mkdir -p "$aptdir/debs"
  (cd "$aptdir/debs" && apt-get -qq download "${pkgs[@]}")
  unset APT_CONFIG
  rm -rf "$kdir" && mkdir -p "$kdir/root"
  for deb in "$aptdir"/debs/*.deb; do dpkg-deb -x "$deb" "$kdir/root"; done
  # Prints the first path that exists, nothing otherwise (never a failure:
  # 7.x packages ship no config file, and set -e would end the script here).
  first() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 0; }
  moddir=$(first "$kdir"/root/lib/modules/* "$kdir"/root/usr/lib/modules/*)
  [ -n "$moddir" ] || { log "no modules in the kernel packages of $suite"; exit 1; }
  kver=$(basename "$moddir")
  vmlinuz=$(first "$kdir"/root/boot/vmlinuz-"$kver" "$moddir"/vmlinuz)
  [ -n "$vmlinuz" ] || { log "no vmlinuz for $kver"; exit 1; }
  config=$(first "$kdir"/root/boot/config-"$kver" "$moddir"/config)
  if [ -n "$config" ] && ! grep -q '^CONFIG_BLK_DEV_UBLK=[my]' "$config"; then
    log "the $suite kernel $kver is built without ublk (CONFIG_BLK_DEV_UBLK)"
    exit 1
  fi
  # The module tree may sit under /usr/lib (merged /usr); depmod wants $base/lib/modules.
  if [ "$moddir" != "$kdir/root/lib/modules/$kver" ]; then
    mkdir -p "$kdir/root/lib/modules" && ln -sfn "$moddir" "$kdir/root/lib/modules/$kver"
  fi
  depmod -b "$kdir/root" "$kver"
  ln -sfn "$vmlinuz" "$kdir/vmlinuz"
  echo "$kver" >"$kdir/version"
  touch "$kdir/.done"
  log "kernel $kver ready"
fi
kver=$(cat "$kdir/version")

# --- the initramfs ----------------------------------------------------------
initrd="$work/initramfs-$suite.cpio"
# Rebuilt when /init changes, so editing the guest init needs no manual step.
stamp="$(sha256sum "$here/guest-init.sh" | cut -d' ' -f1) $kver"
if [ ! -f "$initrd" ] || [ "$(cat "$initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the initramfs for $kver"
  root="$work/initramfs-root"
  rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,newroot,lib/modules,etc}
  cp "$(command -v busybox)" "$root/bin/busybox"
  file "$root/bin/busybox" 2>/dev/null | grep -q 'statically linked' || {
    log "busybox is not static: install busybox-static"
    exit 1
  }
  for applet in $(busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  # The modules the tests need, with their dependencies first (modprobe
  # works that out from the depmod data), decompressed because busybox
  # insmod reads no .ko.xz. Built-in ones are skipped.
  : >"$root/etc/modules"
  for want in virtio_pci 9pnet_virtio 9p overlay ext4 loop nbd ublk_drv virtio_rng; do
    while read -r verb f _; do
      [ "$verb" = insmod ] || continue
      m=$(basename "$f")
      m=${m%%.ko*}
      grep -qx "$m" "$root/etc/modules" && continue
      case "$f" in
        *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
        *.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
        *) cp "$f" "$root/lib/modules/$m.ko" ;;
      esac
      echo "$m" >>"$root/etc/modules"
    done < <(modprobe -d "$kdir/root" -S "$kver" --show-depends "$want" 2>/dev/null || true)
  done
  grep -qx ublk_drv "$root/etc/modules" || { log "ublk_drv.ko not found in $kver"; exit 1; }
  install -m 0755 "$here/guest-init.sh" "$root/init"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  echo "$stamp" >"$initrd.stamp"
fi
echo "$work/kernel-$suite/vmlinuz $initrd"

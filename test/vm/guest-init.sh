#!/bin/sh
# /init of the test VM (busybox sh, PID 1). It loads the modules, builds the
# guest's root from the host's (read-only 9p + overlay on tmpfs, so host
# binaries, node_modules and the built addon run unchanged), mounts the
# project directory read-write at its host path, runs the one job command
# from /job and powers off. run-vm.sh reads the exit status from the
# marker line, so nothing after the job may print a line starting with @@.
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Never leave the host waiting on a hung guest: any failure of this script
# itself ends in a power-off without a status line (run-vm.sh reports 125).
die() {
  echo "vm-init: $*"
  poweroff -f
  echo o >/proc/sysrq-trigger
}

while read -r m; do
  insmod "/lib/modules/$m.ko" || die "insmod $m failed"
done </etc/modules
[ -e /dev/ublk-control ] || die "/dev/ublk-control did not appear"

. /job/config

if [ "$SHARE_ROOT" = 1 ]; then
  mkdir -p /mnt/lower /mnt/rw
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro,cache=loose hostroot /mnt/lower ||
    die "cannot mount the host root over 9p"
  mount -t tmpfs -o mode=0755 tmpfs /mnt/rw
  mkdir -p /mnt/rw/upper /mnt/rw/work
  mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
    die "cannot mount the overlay root"
  mount -t proc proc /newroot/proc
  mount -t sysfs sysfs /newroot/sys
  mount -t devtmpfs devtmpfs /newroot/dev
  mkdir -p /newroot/dev/shm /newroot/dev/pts
  mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
  mount -t devpts devpts /newroot/dev/pts
  mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
  mount -t tmpfs -o mode=0755 tmpfs /newroot/run
  i=0
  for dir in $SHARES; do
    # The share may lie under a directory the guest mounted over (a checkout
    # in /tmp is under the guest's own tmpfs): make its mount point.
    mkdir -p "/newroot$dir"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose "share$i" "/newroot$dir" ||
      die "cannot mount share $dir"
    i=$((i + 1))
  done
  ip link set lo up 2>/dev/null
  mkdir -p /newroot/run/job && cp /job/env /job/cmd /newroot/run/job/
  echo "@@MARSVM_BEGIN@@"
  chroot /newroot /bin/sh -c '. /run/job/env && cd "$JOB_CWD" && . /run/job/cmd' </dev/null
else
  ip link set lo up 2>/dev/null
  echo "@@MARSVM_BEGIN@@"
  /bin/sh -c '. /job/env && cd / && . /job/cmd' </dev/null
fi
rc=$?
sync
echo "@@MARSVM_RC=$rc@@"
poweroff -f
echo o >/proc/sysrq-trigger

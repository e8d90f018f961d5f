#!/usr/bin/env bash
# The main job: a marsd node with a file-backed demo volume, exported over
# NBD. Does its own set-up (idempotent), then runs in the foreground until
# Ctrl-C. State lives in ./.demo (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

DEMO=$PWD/.demo
mkdir -p "$DEMO"
DISK=$DEMO/disk-r0.img
[ -f "$DISK" ] || truncate -s 256M "$DISK"
ADMIN=127.0.0.1:${MARSD_DEMO_PORT:-7780}

node dist/src/daemon/main.js --data-dir "$DEMO/data" --run-dir "$DEMO/run" --host demo \
  --admin-listen "$ADMIN" > "$DEMO/marsd.log" 2>&1 &
MARSD=$!
trap 'kill -TERM $MARSD 2>/dev/null; wait $MARSD 2>/dev/null || true' EXIT INT TERM

marsadm() { node dist/src/cli/marsadm.js --url "http://$ADMIN" --token-file "$DEMO/data/admin.token" "$@"; }
for _ in $(seq 1 100); do
  curl -sf "http://$ADMIN/healthz" >/dev/null 2>&1 && break
  kill -0 $MARSD 2>/dev/null || { cat "$DEMO/marsd.log"; exit 1; }
  sleep 0.1
done

marsadm create-resource r0 "$DISK" --frontend nbd >/dev/null
URI=$(marsadm --json view r0 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).device.uri))')

cat <<INFO

marsd is running (log: $DEMO/marsd.log, admin API: http://$ADMIN).
Resource r0 (256 MiB, backed by $DISK) is exported over NBD at:

    $URI

Write to it and read it back, for example:

    nbdcopy /etc/os-release '$URI'
    qemu-io -f raw '$URI' -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M'
    nbdinfo '$URI'

Watch it:

    node dist/src/cli/marsadm.js --url http://$ADMIN --token-file $DEMO/data/admin.token view r0
    curl -s http://$ADMIN/metrics | grep ^marsd_

Press Ctrl-C to stop (the log is finished and checkpointed cleanly).
INFO
wait $MARSD

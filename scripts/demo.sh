#!/usr/bin/env bash
# The main job: a local demo cluster of three marsd nodes on loopback with
# file-backed disks. It creates a replicated resource, writes to it through
# the NBD frontend, shows the replication status of every member, and
# stays up (Ctrl-C stops it) so you can try a handover or a failover.
# Does its own set-up (idempotent). Every run starts from scratch in
# ./.demo (MARSD_DEMO_DIR moves it; what an earlier run left there is
# deleted first). MARSD_DEMO_PORT moves the port range (default 7780);
# MARSD_DEMO_SETUP=0 skips the set-up (the test suite, which has done it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${MARSD_DEMO_SETUP:-1}" = 0 ] || scripts/setup.sh

DEMO=$(realpath -m "${MARSD_DEMO_DIR:-$PWD/.demo}")
BASE=${MARSD_DEMO_PORT:-7780}
NODES=(alpha bravo charlie)
mkdir -p "$DEMO"
rm -rf "${NODES[@]/#/$DEMO/}" "$DEMO/data.bin"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

admin() { echo "127.0.0.1:$((BASE + 1 + $1))"; }
peer() { echo "127.0.0.1:$((BASE + 11 + $1))"; }
marsadm() {
  local i=$1
  shift
  node dist/src/cli/marsadm.js --url "http://$(admin "$i")" --token-file "$DEMO/${NODES[$i]}/data/admin.token" "$@"
}

for i in 0 1 2; do
  n=${NODES[$i]}
  mkdir -p "$DEMO/$n"
  truncate -s 256M "$DEMO/$n/disk.img"
  node --no-incremental-marking dist/src/daemon/main.js --host "$n" --data-dir "$DEMO/$n/data" --run-dir "$DEMO/$n/run" \
    --admin-listen "$(admin "$i")" --peer-listen "$(peer "$i")" > "$DEMO/$n/marsd.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 1 100); do
    curl -sf "http://$(admin "$i")/healthz" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$DEMO/${NODES[$i]}/marsd.log"; exit 1; }
    sleep 0.1
  done
done

echo "== a cluster of three nodes"
SECRET=$(marsadm 0 --json create-cluster | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).secret))')
marsadm 1 join-cluster "$(peer 0)" --secret "$SECRET" >/dev/null
marsadm 2 join-cluster "$(peer 0)" --secret "$SECRET" >/dev/null
marsadm 0 view-cluster

echo
echo "== resource r0: primary on alpha, replicas on bravo and charlie (full sync first)"
marsadm 0 create-resource r0 "$DEMO/alpha/disk.img" --frontend nbd >/dev/null
marsadm 1 join-resource r0 "$DEMO/bravo/disk.img" >/dev/null
marsadm 2 join-resource r0 "$DEMO/charlie/disk.img" >/dev/null
marsadm 1 wait r0 uptodate --timeout 120 >/dev/null
marsadm 2 wait r0 uptodate --timeout 120 >/dev/null

URI=$(marsadm 0 --json view r0 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).device.uri))')
echo
echo "== writing 32 MiB through the NBD export of the primary ($URI)"
head -c 32M /dev/urandom > "$DEMO/data.bin"
nbdcopy "$DEMO/data.bin" "$URI"
marsadm 0 wait r0 replicated --timeout 120 >/dev/null
marsadm 0 view r0
echo
for i in 0 1 2; do
  printf '%-8s disk sha256: %s\n' "${NODES[$i]}" "$(head -c 256M "$DEMO/${NODES[$i]}/disk.img" | sha256sum | cut -c1-16)"
done

cat <<INFO

The three disks are identical: every write went into alpha's durable log and
was pulled and replayed by bravo and charlie. Try (in another terminal):

  marsadm() { node dist/src/cli/marsadm.js --url http://\$1 --token-file $DEMO/\$2/data/admin.token "\${@:3}"; }
  marsadm $(admin 1) bravo view r0                 # status as bravo sees it
  marsadm $(admin 1) bravo primary r0              # planned handover to bravo
  kill -STOP ${pids[1]}; marsadm $(admin 2) charlie primary r0 --force   # failover with bravo frozen
  curl -s http://$(admin 0)/metrics | grep ^marsd_replication

Logs: $DEMO/<node>/marsd.log. Press Ctrl-C to stop all three nodes cleanly.
INFO
wait "${pids[0]}"

/**
 * Replication benchmark, two real daemons on loopback with a fault proxy
 * between them (a benchmark, not a test; `npm run bench:replication`):
 *
 * 1. shipping + replay throughput (bench/ship-replay.ts, shared with the
 *    `ship+replay` row of `npm run bench`): the secondary's fetch is paused
 *    while the primary writes N MiB; then fetch resumes and we time how
 *    long the secondary takes to hold and apply all of it. Reported against
 *    this machine's sequential write speed to a local file (fio, O_DIRECT,
 *    same filesystem, same run) and against the primary's own sequential
 *    write rate (fio, 1 MiB, QD8, N MiB through its NBD export while the
 *    secondary's fetch is paused), as ratios (>= 1 against the primary: a
 *    secondary keeps up).
 * 2. replication lag at a steady write rate through a bandwidth-capped
 *    link: fio writes at RATE while we sample both positions; the lag of a
 *    sample is how long ago the primary had made durable what the secondary
 *    has applied now (p50, p99).
 * 3. catch-up time after a 60 s partition (writes continue during it).
 *
 * Usage: node dist/bench/replication.js [throughputMiB=512] [partitionSeconds=60]
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { requireTool, startProcess } from "../test/helpers/tools.js";
import { measureShipReplay, SHIP_REPLAY_RESOURCE, startShipReplayPair } from "./ship-replay.js";

const MIB = 1024 * 1024;
const THROUGHPUT_MIB = Number(process.argv[2] ?? 512);
const PARTITION_SECONDS = Number(process.argv[3] ?? 60);
const LINK_BYTES_PER_SEC = 32 * MIB;
const WRITE_RATE_BYTES_PER_SEC = 8 * MIB;

interface Positions {
  primaryDurable: number;
  secondaryApplied: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}

async function main(): Promise<void> {
  const fio = requireTool("fio");
  const nbdcopy = requireTool("nbdcopy");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "marsd-bench-repl-"));
  const pair = await startShipReplayPair({ mib: THROUGHPUT_MIB, fio, scratch }).catch(
    async (err: unknown) => {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    },
  );
  const { cluster, uri, localMiBps } = pair;
  try {
    const p = cluster.node("primary").daemon.rpc;
    const s = cluster.node("secondary").daemon.rpc;

    // 1. Shipping + replay throughput.
    const shipped = await measureShipReplay(pair, { mib: THROUGHPUT_MIB, fio, nbdcopy, scratch });

    // 2. Lag at a steady rate through a capped link.
    cluster.setAllLinks({ bandwidthBytesPerSec: LINK_BYTES_PER_SEC, latencyMs: 20 });
    const positions = async (): Promise<Positions> => {
      const [ps, ss] = await Promise.all([
        p.call<{ log: { durable?: { streamBytes: number } } }>("resource.status", {
          name: SHIP_REPLAY_RESOURCE,
        }),
        s.call<{ log: { applied?: { streamBytes: number } } }>("resource.status", {
          name: SHIP_REPLAY_RESOURCE,
        }),
      ]);
      return {
        primaryDurable: ps.log.durable?.streamBytes ?? 0,
        secondaryApplied: ss.log.applied?.streamBytes ?? 0,
      };
    };
    const steadySeconds = 30;
    const writer = startProcess(fio, [
      "--name=steady",
      "--ioengine=nbd",
      `--uri=${uri}`,
      "--rw=randwrite",
      "--bs=64k",
      "--iodepth=4",
      `--rate=${WRITE_RATE_BYTES_PER_SEC}`,
      `--size=${THROUGHPUT_MIB}M`,
      `--runtime=${steadySeconds + PARTITION_SECONDS + 30}`,
      "--time_based",
    ]);
    const history: Array<{ atMs: number; durable: number }> = [];
    const lags: number[] = [];
    const sampleUntil = async (untilMs: number, keepLag: boolean): Promise<Positions> => {
      let last: Positions = { primaryDurable: 0, secondaryApplied: 0 };
      while (Date.now() < untilMs) {
        last = await positions();
        const now = Date.now();
        history.push({ atMs: now, durable: last.primaryDurable });
        if (keepLag) {
          // When did the primary first have what the secondary has applied now?
          const reached = history.find((h) => h.durable >= last.secondaryApplied);
          if (reached) lags.push((now - reached.atMs) / 1000);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return last;
    };
    await sampleUntil(Date.now() + 5_000, false); // let the rate settle
    await sampleUntil(Date.now() + steadySeconds * 1000, true);
    lags.sort((a, b) => a - b);

    // 3. Catch-up after a partition, writes going on.
    cluster.partition("secondary");
    const atCut = await sampleUntil(Date.now() + PARTITION_SECONDS * 1000, false);
    cluster.healAll();
    cluster.setAllLinks({ bandwidthBytesPerSec: LINK_BYTES_PER_SEC, latencyMs: 20 });
    const healed = Date.now();
    const behind = (await positions()).primaryDurable - atCut.secondaryApplied;
    let caughtUpMs = 0;
    for (;;) {
      const now = await positions();
      // Caught up: within one second of writes of the primary again.
      if (now.primaryDurable - now.secondaryApplied <= WRITE_RATE_BYTES_PER_SEC) {
        caughtUpMs = Date.now() - healed;
        break;
      }
      if (Date.now() - healed > 600_000) throw new Error("no catch-up within 10 minutes");
      await new Promise((r) => setTimeout(r, 100));
    }
    await writer.stop();

    console.log("");
    console.log(
      `local sequential write (fio, 1 MiB, O_DIRECT, same filesystem): ${localMiBps.toFixed(0)} MiB/s`,
    );
    console.log(
      `shipping + replay of ${THROUGHPUT_MIB} MiB on loopback: ${shipped.shippedMiBps.toFixed(0)} MiB/s in ${shipped.seconds.toFixed(1)} s = ${(shipped.shippedMiBps / localMiBps).toFixed(2)}x the local disk`,
    );
    console.log(
      `the primary's own sequential write (fio, 1 MiB, QD8, ${THROUGHPUT_MIB} MiB through its NBD export, fetch paused): ${shipped.primaryMiBps.toFixed(0)} MiB/s; shipping + replay = ${(shipped.shippedMiBps / shipped.primaryMiBps).toFixed(2)}x of it`,
    );
    console.log(
      `replication lag at ${WRITE_RATE_BYTES_PER_SEC / MIB} MiB/s through a ${LINK_BYTES_PER_SEC / MIB} MiB/s link (20 ms): p50 ${percentile(lags, 50).toFixed(2)} s, p99 ${percentile(lags, 99).toFixed(2)} s (${lags.length} samples)`,
    );
    console.log(
      `catch-up after a ${PARTITION_SECONDS} s partition (${(behind / MIB).toFixed(0)} MiB behind, link ${LINK_BYTES_PER_SEC / MIB} MiB/s): ${(caughtUpMs / 1000).toFixed(1)} s`,
    );
  } finally {
    await cluster.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();

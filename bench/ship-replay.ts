/**
 * Shipping + replay throughput on loopback, shared by `npm run
 * bench:replication` (its section 1) and `npm run bench` (its `ship+replay`
 * row): two real daemons, "primary" and "secondary", with a fault proxy
 * between them, one resource ("r0") created on the primary and joined by
 * the secondary.
 *
 * - Baseline: this machine's sequential write speed to a local file (fio,
 *   1 MiB, O_DIRECT, QD8, 1 GiB, same filesystem), measured once the
 *   daemons run, before the resource exists.
 * - The primary's own rate: with the secondary's fetch paused, fio writes
 *   N MiB sequentially (1 MiB, QD8) through the primary's NBD export (the
 *   `1M seqwrite QD8` workload of `npm run bench`, N MiB once instead of
 *   time-based); then fetch resumes and the secondary catches up (untimed).
 * - Shipping + replay: fetch paused again, N MiB of random data (nbdcopy
 *   from /dev/urandom: incompressible, as wire compression is on by
 *   default) go to the primary; then fetch resumes and we time how long the
 *   secondary takes to hold and apply all of it.
 *
 * A ship+replay rate at or above the primary's own rate means a secondary
 * keeps up with a primary writing as fast as it can.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { makeDisk, nbdUri, waitCaughtUp } from "../test/helpers/replication.js";
import { TestCluster } from "../test/helpers/test-cluster.js";
import { run } from "../test/helpers/tools.js";
import { runFio } from "./fio.js";

const MIB = 1024 * 1024;
export const SHIP_REPLAY_RESOURCE = "r0";

export interface ShipReplayPair {
  cluster: TestCluster;
  /** The primary's NBD export of the resource. */
  uri: string;
  /** Sequential write to a local file on the same filesystem (fio, O_DIRECT), MiB/s. */
  localMiBps: number;
}

export interface ShipReplayResult {
  mib: number;
  seconds: number;
  /** Shipping + replay: N MiB over the time the secondary took to hold and apply them. */
  shippedMiBps: number;
  /** fio writing N MiB (1 MiB, QD8) through the primary's NBD export, the secondary's fetch paused. */
  primaryMiBps: number;
}

export async function localSequentialWriteMiBps(fio: string, dir: string): Promise<number> {
  const { stdout } = await run(
    fio,
    [
      "--name=local",
      `--filename=${path.join(dir, "local-seq.bin")}`,
      "--rw=write",
      "--bs=1M",
      "--size=1G",
      "--direct=1",
      "--ioengine=libaio",
      "--iodepth=8",
      "--end_fsync=1",
      "--output-format=json",
    ],
    { timeoutMs: 300_000 },
  );
  const json = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
    jobs: Array<{ write: { bw_bytes: number } }>;
  };
  await rm(path.join(dir, "local-seq.bin"), { force: true });
  return (json.jobs[0]?.write.bw_bytes ?? 0) / MIB;
}

/**
 * Starts the two daemons, measures the local baseline, forms the cluster
 * and creates the resource (disks of `mib` + 64 MiB) with the secondary
 * caught up. The caller cleans up `cluster`.
 */
export async function startShipReplayPair(options: {
  mib: number;
  fio: string;
  /** Where the local baseline writes its file (same filesystem as the daemons). */
  scratch: string;
}): Promise<ShipReplayPair> {
  const cluster = await TestCluster.start({
    hosts: ["primary", "secondary"],
    config: {
      log: { rotateBytes: 256 * MIB },
      jobs: { logRotate: "", logDelete: "" },
      replication: { statusPublishMs: 500, heartbeatMs: 500, listWaitMs: 2000 },
    },
  });
  try {
    const localMiBps = await localSequentialWriteMiBps(options.fio, options.scratch);
    await cluster.form();
    const size = options.mib * MIB + 64 * MIB;
    const diskP = await makeDisk(cluster, "primary", SHIP_REPLAY_RESOURCE, size);
    const diskS = await makeDisk(cluster, "secondary", SHIP_REPLAY_RESOURCE, size);
    const p = cluster.node("primary").daemon.rpc;
    const s = cluster.node("secondary").daemon.rpc;
    await p.call("resource.create", { name: SHIP_REPLAY_RESOURCE, disk: diskP, frontend: "nbd" });
    await s.call("resource.join", { name: SHIP_REPLAY_RESOURCE, disk: diskS });
    await waitCaughtUp(cluster, "secondary", "primary", SHIP_REPLAY_RESOURCE, 300_000);
    return { cluster, uri: nbdUri(cluster, "primary", SHIP_REPLAY_RESOURCE), localMiBps };
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}

/** The primary's own rate, then shipping + replay of `mib` MiB; returns with the secondary caught up. */
export async function measureShipReplay(
  pair: ShipReplayPair,
  options: { mib: number; fio: string; nbdcopy: string; scratch: string },
): Promise<ShipReplayResult> {
  const { cluster, uri } = pair;
  const s = cluster.node("secondary").daemon.rpc;
  const name = SHIP_REPLAY_RESOURCE;

  // The primary's own 1M seqwrite rate, nothing fetching from it.
  await s.call("resource.pause", { name, what: "fetch" });
  const primary = await runFio(
    uri,
    { name: "1M seqwrite QD8", rw: "write", blockBytes: MIB, iodepth: 8 },
    { runtimeS: 0, rampS: 0, sizeBytes: options.mib * MIB, once: true, fio: options.fio },
  );
  await s.call("resource.resume", { name, what: "fetch" });
  await waitCaughtUp(cluster, "secondary", "primary", name, 600_000);

  // Shipping + replay.
  await s.call("resource.pause", { name, what: "fetch" });
  const data = path.join(options.scratch, "data.bin");
  await run("dd", ["if=/dev/urandom", `of=${data}`, "bs=1M", `count=${options.mib}`, "status=none"], {
    timeoutMs: 300_000,
  });
  await run(options.nbdcopy, [data, uri], { timeoutMs: 600_000 });
  await rm(data);
  const started = performance.now();
  await s.call("resource.resume", { name, what: "fetch" });
  await waitCaughtUp(cluster, "secondary", "primary", name, 600_000);
  const seconds = (performance.now() - started) / 1000;
  return {
    mib: options.mib,
    seconds,
    shippedMiBps: options.mib / seconds,
    primaryMiBps: primary.bandwidthBytesPerS / MIB,
  };
}

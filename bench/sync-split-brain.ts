/**
 * Split-brain section of the sync benchmark (bench/sync.ts): what a
 * resolution copies, against the disk size (the baseline: what leave +
 * join, the only repair before, would compare and may copy).
 *
 * Each cycle uses a fresh resource on two real daemons: alpha (primary)
 * and bravo, disks of splitMiB of seeded random data, equal at the start
 * (bravo's join only confirms it). Then, as in
 * test/integration/split-brain.test.ts: alpha (the loser) is cut off and
 * writes divergedMiBPerSide in scattered 1 MiB regions; bravo becomes
 * primary by force (the winner) and writes as much in other regions; the
 * link heals and both see the split brain; resource.resolveSplitBrain
 * {winner: bravo} runs on bravo, then on alpha. Measured on alpha: the
 * bytes its sync copied (marsd_replication_sync_transferred_bytes_total),
 * what it compared (marsd_replication_sync_total_bytes: the regions, or
 * the whole disk) and the time from its resolve call to UpToDate. Both
 * disks must then hold the same bytes (else the benchmark fails); the
 * resource is deleted.
 *
 * - exact: alpha still has its logs from the fork on; the resolution
 *   resyncs only the regions either side wrote since.
 * - fallback: the resource's lagging limit is 1 MiB, so while cut off
 *   alpha cuts bravo loose and deletes its files from the fork on
 *   (awaited before the failover); the resolution then compares the whole
 *   disk by digests.
 *
 * Why a fresh resource per cycle, and the log deletion job off
 * (jobs.logDelete ""): a node's retention compares file numbers across the
 * two lineages of a split brain (the winner's applied log-6-bravo passes
 * the loser's log-2..5-alpha), so a deletion run during the split brain
 * removes the loser's files from the fork on, and a second split brain of
 * the same resource with the roles swapped was resolved over the whole
 * disk; both would turn the exact case into the fallback
 * (src/resource/retention.ts logFloor; reported, not changed here).
 *
 * Links: the round trip's latency, capped at linkMiBPerSec (as for
 * different disks), from the partition on. Diverged bytes are known:
 * 2 x divergedMiBPerSide, distinct regions drawn from BENCH_SEED.
 */
import { parseLogName } from "../src/log/log-name.js";
import { systemClock } from "../src/platform/clock.js";
import { nodeStorage } from "../src/platform/storage/node-file.js";
import { waitFor } from "../test/helpers/daemon-process.js";
import { prng } from "../test/helpers/prng.js";
import { makeDisk, nbdUri, resourceDirOf, status, waitUntil } from "../test/helpers/replication.js";
import type { LinkFaults } from "../test/helpers/fault-proxy.js";
import { TestCluster } from "../test/helpers/test-cluster.js";
import { SYSTEM_PYTHON, requirePythonNbd, run } from "../test/helpers/tools.js";
import {
  MIB,
  diskDigest,
  fillFiles,
  linkAt,
  markdownTable,
  median,
  secondsSince,
  seededStream,
  type BenchOptions,
} from "./sync-common.js";

const HOSTS = ["alpha", "bravo"] as const;
const COPIED = "marsd_replication_sync_transferred_bytes_total";
const COMPARED = "marsd_replication_sync_total_bytes";

/** Writes stdin's bytes, 1 MiB per offset in argv[2] (comma-separated), through libnbd, and flushes. */
const WRITE_REGIONS_PY = `
import sys, nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
data = sys.stdin.buffer.read()
for i, offset in enumerate(int(x) for x in sys.argv[2].split(",")):
    h.pwrite(data[i << 20:(i + 1) << 20], offset)
h.flush()
h.shutdown()
`;

interface Cycle {
  copiedBytes: number;
  comparedBytes: number;
  seconds: number;
}

/** `count` distinct 1 MiB-aligned offsets within `diskMiB`, drawn from `seed`. */
function scatteredRegions(seed: number, count: number, diskMiB: number): number[] {
  const rnd = prng(seed);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(rnd() * diskMiB));
  return [...picked].map((mib) => mib * MIB);
}

async function writeRegions(uri: string, offsets: number[], data: Buffer): Promise<void> {
  await run(SYSTEM_PYTHON, ["-c", WRITE_REGIONS_PY, uri, offsets.join(",")], {
    input: data,
    timeoutMs: 120_000,
  });
}

async function logFileNumbers(dir: string): Promise<number[]> {
  return (await nodeStorage.list(dir))
    .map((n) => parseLogName(n)?.fileNumber)
    .filter((n): n is number => n !== undefined);
}

async function metric(cluster: TestCluster, host: string, name: string, resource: string): Promise<number> {
  return (await cluster.node(host).daemon.metric(name, `resource="${resource}"`)) ?? 0;
}

/** A fresh resource `name` on alpha, joined by bravo: both disks hold the same seeded bytes. */
async function freshResource(cluster: TestCluster, options: BenchOptions, name: string, seed: number) {
  const disks = new Map<string, string>();
  for (const host of HOSTS) disks.set(host, await makeDisk(cluster, host, name, options.splitMiB * MIB));
  await fillFiles([...disks.values()], options.splitMiB, seededStream(seed, "disk"));
  cluster.setAllLinks(linkAt(0, 0));
  await cluster
    .node("alpha")
    .daemon.rpc.call("resource.create", { name, disk: disks.get("alpha"), frontend: "nbd" });
  await cluster.node("bravo").daemon.rpc.call("resource.join", { name, disk: disks.get("bravo") });
  await waitUntil(cluster, "bravo", name, "uptodate", 600_000);
  return disks;
}

/** One split brain of a fresh resource `name` and its resolution for bravo. */
async function cycle(
  cluster: TestCluster,
  options: BenchOptions,
  c: { name: string; fallback: boolean; seed: number; link: Partial<LinkFaults> },
): Promise<Cycle> {
  const { name, seed } = c;
  const [loser, winner] = HOSTS;
  const disks = await freshResource(cluster, options, name, seed);
  const perSide = options.divergedMiBPerSide;
  const offsets = scatteredRegions(seed, 2 * perSide, options.splitMiB);
  const data = seededStream(seed, "regions")(2 * perSide * MIB);
  const winnerFile = parseLogName((await status(cluster, winner, name)).log.applied?.file ?? "")?.fileNumber;
  const w = cluster.node(winner).daemon;
  const l = cluster.node(loser).daemon;

  cluster.setAllLinks(c.link);
  cluster.partition(loser);
  const loserData = data.subarray(0, perSide * MIB);
  await writeRegions(nbdUri(cluster, loser, name), offsets.slice(0, perSide), loserData);
  if (c.fallback) {
    // Cutting bravo loose deletes what it pinned at once; a file still in use then needs a
    // deletion run, asked for only well after the cut's own one (two deletions at once can
    // fail the resource on a file the other removed: reported).
    const dir = resourceDirOf(cluster, loser, name);
    const waitStarted = systemClock.monotonicMs();
    await waitFor(
      `${loser} to delete its ${name} log files from the fork on`,
      async () => {
        if (secondsSince(waitStarted) > 10) await l.rpc.call("resource.logDelete", { name });
        return (await logFileNumbers(dir)).every((n) => n >= (winnerFile ?? 0) + 2);
      },
      120_000,
      500,
    );
  }
  await w.rpc.call("resource.primary", { name, force: true });
  await writeRegions(nbdUri(cluster, winner, name), offsets.slice(perSide), data.subarray(perSide * MIB));
  cluster.healAll();
  cluster.setAllLinks(c.link);
  for (const host of HOSTS) await waitUntil(cluster, host, name, "splitbrain", 60_000);
  await waitUntil(cluster, loser, name, "secondary", 60_000);

  await w.rpc.call("resource.resolveSplitBrain", { name, winner });
  const copiedBefore = await metric(cluster, loser, COPIED, name);
  const started = systemClock.monotonicMs();
  const answer = await l.rpc.call<{ changed: boolean }>("resource.resolveSplitBrain", { name, winner });
  if (!answer.changed) throw new Error(`${name}: the loser ${loser} did not roll back`);
  await waitUntil(cluster, loser, name, "uptodate", 1_800_000);
  const seconds = secondsSince(started);
  const copiedBytes = (await metric(cluster, loser, COPIED, name)) - copiedBefore;
  const comparedBytes = await metric(cluster, loser, COMPARED, name);
  for (const host of HOSTS) {
    await waitFor(
      `${host} to see no split brain of ${name}`,
      async () => !(await status(cluster, host, name)).splitBrain.detected,
      60_000,
      50,
    );
  }
  const sizeBytes = options.splitMiB * MIB;
  const [digestL, digestW] = await Promise.all(
    [loser, winner].map((h) => diskDigest(disks.get(h) as string, sizeBytes)),
  );
  if (digestL !== digestW)
    throw new Error(`${name}: after the resolution ${loser}'s disk differs from ${winner}'s`);
  await w.rpc.call("resource.delete", { name, force: true });
  for (const disk of disks.values()) await nodeStorage.remove(disk);
  return { copiedBytes, comparedBytes, seconds };
}

export async function splitBrainSection(options: BenchOptions): Promise<string> {
  await requirePythonNbd();
  const { splitMiB, divergedMiBPerSide, repeats, seed, roundTripsMs } = options;
  if (divergedMiBPerSide < 2 || 2 * divergedMiBPerSide > splitMiB)
    throw new Error(`diverged MiB per side: 2 to half the disk (${splitMiB} MiB), not ${divergedMiBPerSide}`);
  const cycles = roundTripsMs.length * repeats;
  const names = (prefix: string) => Array.from({ length: cycles }, (_, i) => `${prefix}${i + 1}`);
  const [exactNames, fallbackNames] = [names("sbexact"), names("sbfallback")];
  const cluster = await TestCluster.start({
    hosts: [...HOSTS],
    seed,
    config: {
      replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
      log: { rotateBytes: MIB },
      // Deleted only by cutting a member loose, or on request (see the header).
      jobs: { logDelete: "" },
      lagging: {
        maxLagBytes: 64 * 1024 ** 3,
        maxLagSeconds: 86_400,
        resources: Object.fromEntries(fallbackNames.map((n) => [n, { maxLagBytes: MIB }])),
      },
    },
  });
  try {
    await cluster.form();
    const rows: string[][] = [];
    let done = 0;
    for (const rttMs of roundTripsMs) {
      const link = linkAt(rttMs, options.linkMiBPerSec);
      const exact: Cycle[] = [];
      const fallback: Cycle[] = [];
      for (let r = 0; r < repeats; r++) {
        const [x, f] = [exactNames[done], fallbackNames[done]] as [string, string];
        done += 1;
        const runs: Array<[string, boolean, Cycle[]]> = [
          [x, false, exact],
          [f, true, fallback],
        ];
        for (const [name, isFallback, out] of r % 2 === 0 ? runs : runs.reverse()) {
          const result = await cycle(cluster, options, {
            name,
            fallback: isFallback,
            seed: seed + done,
            link,
          });
          console.log(`split brain ${name} at ${rttMs} ms: ${JSON.stringify(result)}`);
          out.push(result);
        }
      }
      const diskBytes = splitMiB * MIB;
      const cells = (cs: Cycle[]): string[] => {
        const copied = median(cs.map((c) => c.copiedBytes));
        return [
          `${(median(cs.map((c) => c.comparedBytes)) / MIB).toFixed(0)} MiB`,
          `${(copied / MIB).toFixed(1)} MiB`,
          `${((copied / diskBytes) * 100).toFixed(2)} %`,
          `${median(cs.map((c) => c.seconds)).toFixed(2)} s`,
        ];
      };
      rows.push([`${rttMs} ms`, ...cells(exact), ...cells(fallback)]);
    }
    return (
      `split-brain resolution, ${splitMiB} MiB disks (the baseline: leave + join compares all of it), ` +
      `${divergedMiBPerSide} MiB written on each side in 1 MiB regions (${2 * divergedMiBPerSide} MiB diverged), ` +
      `link capped at ${options.linkMiBPerSec} MiB/s, median of ${repeats}:\n` +
      markdownTable(
        [
          "round trip",
          "exact: compared",
          "copied",
          "copied / disk",
          "time",
          "fallback (logs gone): compared",
          "copied",
          "copied / disk",
          "time",
        ],
        rows,
      )
    );
  } finally {
    await cluster.cleanup();
  }
}

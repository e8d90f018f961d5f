/**
 * Compression section of the sync benchmark (bench/sync.ts): wire
 * compression (compression.*, src/replication/compression*.ts) on against
 * off, the baseline, in the same run.
 *
 * Two resources with the same compressible data on the primary: "zon"
 * (compression on, the default brotli level 1) and "zoff" (off on both
 * nodes: compression.resources.zoff.enabled = false). Through the capped
 * link of the different-disk case, per round trip, alternating on and off:
 *
 * - sync: the member's disk is zeroed, it joins and copies everything
 *   (rate from the sync's start to UpToDate);
 * - fetch: fetchMiB more of the same kind of data written through NBD
 *   (nbdcopy) onto the primary, shipped as logs (rate from the write's
 *   start until the member has applied all of it); the disks are then
 *   compared (the benchmark fails if they differ), and the member leaves.
 *
 * Printed: wire bytes / data bytes, both from the primary's
 * marsd_peer_compression_{wire,raw}_bytes_total (data: disk bytes sent,
 * or log bytes served); the rates; and the process CPU (user + system, all
 * threads: the compressing thread pool too) of each daemon from
 * /proc/<pid>/stat over the whole step, per MiB of data. The primary's
 * fetch CPU includes taking the writes through NBD and logging them, the
 * same with and without compression.
 *
 * Data (BENCH_COMPRESS_DATA, seeded):
 * - text: log lines (an ISO time stamp, 6-13 words of a small vocabulary
 *   and numbers), as bench/compression.ts's "text";
 * - half: alternating 4 KiB blocks of random bytes and zeros (no 1 MiB
 *   chunk is all zero, so nothing is skipped as equal to a fresh disk).
 */
import { systemClock } from "../src/platform/clock.js";
import { prng } from "../test/helpers/prng.js";
import { makeDisk, nbdUri, waitCaughtUp } from "../test/helpers/replication.js";
import { TestCluster } from "../test/helpers/test-cluster.js";
import { requireTool, run } from "../test/helpers/tools.js";
import {
  MIB,
  daemonCpuSeconds,
  diskDigest,
  fillFiles,
  linkAt,
  markdownTable,
  median,
  seededStream,
  timedJoin,
  zeroFile,
  type BenchOptions,
  type CompressibleKind,
} from "./sync-common.js";

const HOSTS = ["primary", "member"] as const;

interface Disks {
  primary: string;
  member: string;
  fetchImage: string;
}

/** One step (a sync or a fetch) of one resource. */
interface Step {
  seconds: number;
  dataMiB: number;
  rawBytes: number;
  wireBytes: number;
  cpuSeconds: { primary: number; member: number };
}

const WORDS =
  "the a disk write read error warning info request response user session node primary secondary sync fetch replay log file offset bytes latency timeout retry connection peer cluster".split(
    " ",
  );

/** A generator of `kind` data, 1 MiB multiples, from (seed, label). */
function compressible(kind: CompressibleKind, seed: number, label: string): (bytes: number) => Buffer {
  if (kind === "half") {
    const random = seededStream(seed, label);
    return (bytes) => {
      const b = random(bytes);
      for (let at = 4096; at < bytes; at += 8192) b.fill(0, at, at + 4096);
      return b;
    };
  }
  const rnd = prng(seed);
  let stampMs = 1_765_000_000_000;
  let carry = "";
  return (bytes) => {
    const lines = [carry];
    let length = carry.length;
    while (length < bytes) {
      stampMs += Math.floor(rnd() * 1000);
      const line = [new Date(stampMs).toISOString()];
      for (let w = 0; w < 6 + Math.floor(rnd() * 8); w++)
        line.push(
          rnd() < 0.3 ? String(Math.floor(rnd() * 1e6)) : (WORDS[Math.floor(rnd() * WORDS.length)] as string),
        );
      const text = line.join(" ") + "\n";
      lines.push(text);
      length += text.length;
    }
    const all = lines.join("");
    carry = all.slice(bytes);
    return Buffer.from(all.slice(0, bytes), "latin1");
  };
}

async function sample(cluster: TestCluster, resource: string, kind: "sync" | "fetch") {
  const p = cluster.node("primary").daemon;
  const labels = `resource="${resource}",kind="${kind}"`;
  return {
    atMs: systemClock.monotonicMs(),
    raw: (await p.metric("marsd_peer_compression_raw_bytes_total", labels)) ?? 0,
    wire: (await p.metric("marsd_peer_compression_wire_bytes_total", labels)) ?? 0,
    primary: await daemonCpuSeconds(cluster, "primary"),
    member: await daemonCpuSeconds(cluster, "member"),
  };
}

function step(
  before: Awaited<ReturnType<typeof sample>>,
  after: Awaited<ReturnType<typeof sample>>,
  seconds: number,
  dataMiB: number,
): Step {
  return {
    seconds,
    dataMiB,
    rawBytes: after.raw - before.raw,
    wireBytes: after.wire - before.wire,
    cpuSeconds: { primary: after.primary - before.primary, member: after.member - before.member },
  };
}

/** Sync then fetch of `name` to a member with a zeroed disk; the member leaves again. */
async function syncAndFetch(
  cluster: TestCluster,
  options: BenchOptions,
  name: string,
  disks: Disks,
): Promise<{ sync: Step; fetch: Step }> {
  const m = cluster.node("member").daemon.rpc;
  const sizeBytes = options.compressMiB * MIB;
  await zeroFile(disks.member, sizeBytes);
  // A joiner replays from the start of the primary's newest log file: a fresh
  // one, so that the time measured is the copy's, not the fetch of earlier rounds' logs.
  await cluster.node("primary").daemon.rpc.call("resource.logRotate", { name });
  const syncBefore = await sample(cluster, name, "sync");
  const syncSeconds = await timedJoin(cluster, name, disks.member);
  const sync = step(syncBefore, await sample(cluster, name, "sync"), syncSeconds, options.compressMiB);

  const fetchBefore = await sample(cluster, name, "fetch");
  await run(requireTool("nbdcopy"), [disks.fetchImage, nbdUri(cluster, "primary", name)], {
    timeoutMs: 600_000,
  });
  await waitCaughtUp(cluster, "member", "primary", name, 1_800_000);
  const fetchAfter = await sample(cluster, name, "fetch");
  const fetch = step(fetchBefore, fetchAfter, (fetchAfter.atMs - fetchBefore.atMs) / 1000, options.fetchMiB);

  const [digestP, digestM] = await Promise.all([
    diskDigest(disks.primary, sizeBytes),
    diskDigest(disks.member, sizeBytes),
  ]);
  if (digestP !== digestM) throw new Error(`${name}: the member's disk differs from the primary's`);
  await m.call("resource.leave", { name });
  return { sync, fetch };
}

/** One table row: on against off for one kind of step. */
function row(kind: string, rttMs: number, on: Step[], off: Step[]): string[] {
  const ratio = (s: Step) => s.wireBytes / s.rawBytes;
  const rate = (s: Step) => s.dataMiB / s.seconds;
  const cpuMs = (s: Step, host: "primary" | "member") => (s.cpuSeconds[host] * 1000) / s.dataMiB;
  const m = (steps: Step[], f: (s: Step) => number) => median(steps.map(f));
  return [
    kind,
    `${rttMs} ms`,
    `${m(on, ratio).toFixed(3)} (${m(off, ratio).toFixed(3)})`,
    `${m(on, rate).toFixed(1)} MiB/s`,
    `${m(off, rate).toFixed(1)} MiB/s`,
    `${(m(on, rate) / m(off, rate)).toFixed(2)}x`,
    `${m(on, (s) => cpuMs(s, "primary")).toFixed(1)} / ${m(off, (s) => cpuMs(s, "primary")).toFixed(1)}`,
    `${m(on, (s) => cpuMs(s, "member")).toFixed(1)} / ${m(off, (s) => cpuMs(s, "member")).toFixed(1)}`,
  ];
}

/** Resources of `kind` data with compression on and off (ids name them in the daemons' config). */
function names(kind: CompressibleKind): { on: string; off: string } {
  return { on: `zon-${kind}`, off: `zoff-${kind}` };
}

/** Disks of `kind` data for both resources (the same bytes), and the resources on the primary. */
async function createResources(cluster: TestCluster, options: BenchOptions, kind: CompressibleKind) {
  const { compressMiB, fetchMiB, seed } = options;
  const fetchImage = await makeDisk(cluster, "primary", `fetch-${kind}`, fetchMiB * MIB);
  await fillFiles([fetchImage], fetchMiB, compressible(kind, seed + 1, `fetch-${kind}`));
  const disks = new Map<string, Disks>();
  for (const name of Object.values(names(kind))) {
    disks.set(name, {
      primary: await makeDisk(cluster, "primary", name, compressMiB * MIB),
      member: await makeDisk(cluster, "member", name, compressMiB * MIB),
      fetchImage,
    });
  }
  await fillFiles(
    [...disks.values()].map((d) => d.primary),
    compressMiB,
    compressible(kind, seed, `disk-${kind}`),
  );
  for (const [name, d] of disks)
    await cluster
      .node("primary")
      .daemon.rpc.call("resource.create", { name, disk: d.primary, frontend: "nbd" });
  return disks;
}

/** The sync table and the fetch table. */
export async function compressionSection(options: BenchOptions): Promise<string[]> {
  requireTool("nbdcopy");
  const { compressMiB, fetchMiB, repeats, seed } = options;
  if (fetchMiB > compressMiB) throw new Error(`fetch MiB (${fetchMiB}) above the disk (${compressMiB} MiB)`);
  const off = Object.fromEntries(options.compressData.map((k) => [names(k).off, { enabled: false }]));
  const cluster = await TestCluster.start({
    hosts: [...HOSTS],
    seed,
    config: {
      jobs: { logRotate: "", logDelete: "" },
      replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
      compression: { enabled: true, codec: "brotli", level: 1, resources: off },
    },
  });
  try {
    await cluster.form();
    const syncRows: string[][] = [];
    const fetchRows: string[][] = [];
    for (const kind of options.compressData) {
      const disks = await createResources(cluster, options, kind);
      const { on, off } = names(kind);
      for (const rttMs of options.roundTripsMs) {
        cluster.setAllLinks(linkAt(rttMs, options.linkMiBPerSec));
        const runs = new Map<string, Array<{ sync: Step; fetch: Step }>>([
          [on, []],
          [off, []],
        ]);
        for (let r = 0; r < repeats; r++) {
          for (const name of r % 2 === 0 ? [on, off] : [off, on]) {
            const result = await syncAndFetch(cluster, options, name, disks.get(name) as Disks);
            console.log(`compression ${name} at ${rttMs} ms: ${JSON.stringify(result)}`);
            runs.get(name)?.push(result);
          }
        }
        const [onRuns, offRuns] = [runs.get(on) ?? [], runs.get(off) ?? []];
        syncRows.push(
          row(
            kind,
            rttMs,
            onRuns.map((x) => x.sync),
            offRuns.map((x) => x.sync),
          ),
        );
        fetchRows.push(
          row(
            kind,
            rttMs,
            onRuns.map((x) => x.fetch),
            offRuns.map((x) => x.fetch),
          ),
        );
      }
    }
    const headers = (what: string) => [
      "data",
      "round trip",
      "wire / data on (off)",
      `${what} on`,
      `${what} off`,
      "on / off",
      "primary CPU ms/MiB on / off",
      "member CPU ms/MiB on / off",
    ];
    const link = `link capped at ${options.linkMiBPerSec} MiB/s, brotli level 1, median of ${repeats}`;
    return [
      `compression, sync of a ${compressMiB} MiB disk to a zeroed one, ${link}:\n` +
        markdownTable(headers("sync rate"), syncRows),
      `compression, fetch of ${fetchMiB} MiB written through NBD (nbdcopy), ${link}:\n` +
        markdownTable(headers("fetch rate"), fetchRows),
    ];
  } finally {
    await cluster.cleanup();
  }
}

/**
 * `npm run bench`: fio through marsd's NBD export and through `nbdkit file`
 * on identical, fully allocated backing files, in the same run, both over a
 * Unix socket with fio's libnbd engine. Prints IOPS, bandwidth, latency and
 * the ratio marsd/nbdkit per workload, each server's CPU time per IO (on a
 * 2-CPU machine the servers and fio share the CPUs, so this is what
 * bounds IOPS), plus marsd's group-commit figures (records per batch,
 * time per batch) from its /metrics.
 *
 * marsd makes every write durable (log writev + fdatasync) before it
 * acknowledges it; nbdkit's file plugin acknowledges writes from the page
 * cache and syncs only on flush. The fsync=1 rows are the fair comparison
 * of durable writes: fio sends a flush after every write.
 *
 * Every run starts after a `sync`, so no run pays for the write-back of
 * the one before; each workload runs BENCH_REPEAT times per target
 * (alternating targets) and the run with the median IOPS is reported, since
 * a busy 2-CPU machine easily moves single runs by 20%.
 *
 * Three more tables follow the main one:
 * - QD1 write latency: for the QD1 write rows (`4k randwrite QD1`, `4k
 *   randwrite fsync=1 QD1`), fio's completion latency (mean, p50, p99,
 *   p99.9, from clat_ns with --percentile_list=50:99:99.9) per target, and
 *   what marsd adds per write: its p50 minus nbdkit's, its mean minus
 *   nbdkit's (from the same runs as the main table). fio times the write
 *   alone: in the fsync=1 row the flush after it is not included.
 * - `4k randwrite QD32, 2 resources`: a second resource on the same marsd
 *   daemon (its own backing file, same size, created when this row runs,
 *   after the others), two fio processes at once (one per export), their
 *   IOPS summed, against the same workload on one resource of the same
 *   daemon, alternating, BENCH_REPEAT times each (median). Ratio = two /
 *   one: above 1, the data path uses more than one core. marsd only.
 * - `ship+replay`: bench/ship-replay.ts (section 1 of `npm run
 *   bench:replication`) on two fresh daemons, after the targets above are
 *   stopped, once: shipping + replay of BENCH_SHIP_MIB MiB on loopback
 *   against the local sequential write speed and against the primary's own
 *   1M seqwrite QD8 rate (fio through its NBD export, N MiB, secondary's
 *   fetch paused); >= 1 against the primary: a secondary keeps up. Its
 *   daemons run bench/ship-replay.ts's config: MARSD_CONFIG_JSON and
 *   MARSD_NODE_ARGS do not apply to them.
 * Both extra rows are selected by BENCH_ONLY like the others (note that
 * "randwrite QD32" also selects the two-resource row) and run only when
 * BENCH_TARGETS includes marsd.
 *
 * Environment: BENCH_RUNTIME_S (default 10), BENCH_REPEAT (default 3), BENCH_SIZE_MIB (default 512),
 * BENCH_ONLY (substring filter on workload names), BENCH_TARGETS
 * ("marsd,nbdkit"), MARSD_NODE_ARGS (node options for the
 * daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it), UV_THREADPOOL_SIZE
 * (passed to the daemon; unset = the daemon's own default), MARSD_CONFIG_JSON
 * (a marsd config file's content, e.g. '{"log":{"checkpointIntervalMs":5000}}'),
 * BENCH_DROP_CACHE=1 (evict each backing file from the page cache once it is
 * written: 4 KiB writes then find small folios instead of the large ones
 * the 4 MiB fill leaves; see docs/performance.md), BENCH_SHIP_MIB (default 512: what the
 * ship+replay row writes and ships).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { requireTool } from "../test/helpers/tools.js";
import { runFio, type FioResult, type Workload } from "./fio.js";
import {
  measureShipReplay,
  startShipReplayPair,
  type ShipReplayPair,
  type ShipReplayResult,
} from "./ship-replay.js";
import { createAllocatedFile, startMarsd, startNbdkit, type MarsdTarget, type Target } from "./targets.js";

const KIB = 1024;
const MIB = 1024 * 1024;
const RAMP_S = 1;

interface MeasuredRun extends FioResult {
  /** The server's CPU time (all threads, user + system) per IO: what the 2-CPU box runs out of first. */
  cpuUsPerIo: number;
}

const WORKLOADS: Workload[] = [
  { name: "4k randwrite QD1", rw: "randwrite", blockBytes: 4 * KIB, iodepth: 1 },
  { name: "4k randwrite QD32", rw: "randwrite", blockBytes: 4 * KIB, iodepth: 32 },
  { name: "4k randread QD32", rw: "randread", blockBytes: 4 * KIB, iodepth: 32 },
  { name: "1M seqwrite QD8", rw: "write", blockBytes: MIB, iodepth: 8 },
  { name: "4k randwrite fsync=1 QD1", rw: "randwrite", blockBytes: 4 * KIB, iodepth: 1, fsyncEvery: 1 },
  { name: "4k randwrite fsync=1 QD32", rw: "randwrite", blockBytes: 4 * KIB, iodepth: 32, fsyncEvery: 1 },
  // Eight clients that each flush after every write: where group commit merges flushes.
  {
    name: "4k randwrite fsync=1 8 jobs",
    rw: "randwrite",
    blockBytes: 4 * KIB,
    iodepth: 1,
    fsyncEvery: 1,
    jobs: 8,
  },
];

/** Two resources of one daemon, one fio per export at once, against one resource alone. */
const TWO_RESOURCES: Workload = {
  name: "4k randwrite QD32, 2 resources",
  rw: "randwrite",
  blockBytes: 4 * KIB,
  iodepth: 32,
};
const SHIP_REPLAY = "ship+replay";

/** Figures summed over fio processes run at once. */
interface AggregateRun {
  iops: number;
  bandwidthBytesPerS: number;
  /** The server's CPU time per IO of all the processes together. */
  cpuUsPerIo: number;
}

interface TwoResourcesRow {
  two: AggregateRun;
  one: AggregateRun;
}

interface ShipReplayRow extends ShipReplayResult {
  localMiBps: number;
}

interface Row {
  workload: Workload;
  results: Map<string, MeasuredRun>;
  batch?: { recordsPerBatch: number; msPerBatch: number };
}

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const runtimeS = Number(env("BENCH_RUNTIME_S", "10"));
  const repeat = Math.max(1, Number(env("BENCH_REPEAT", "3")));
  const sizeBytes = Number(env("BENCH_SIZE_MIB", "512")) * MIB;
  const only = process.env.BENCH_ONLY;
  const dropCache = process.env.BENCH_DROP_CACHE === "1";
  const targetNames = env("BENCH_TARGETS", "marsd,nbdkit").split(",");
  const selected = (name: string): boolean => !only || name.includes(only);
  const workloads = WORKLOADS.filter((w) => selected(w.name));
  const twoResources = targetNames.includes("marsd") && selected(TWO_RESOURCES.name);
  const shipReplay = targetNames.includes("marsd") && selected(SHIP_REPLAY);
  const shipMiB = Number(env("BENCH_SHIP_MIB", "512"));

  const nodeArgs = (process.env.MARSD_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const baseDir = await mkdtemp(path.join(os.tmpdir(), "marsd-bench-"));
  const targets: Target[] = [];
  let marsd: MarsdTarget | undefined;
  // The ship+replay row starts daemons of its own: the targets only serve fio.
  const fioRows = workloads.length > 0 || twoResources;
  try {
    if (fioRows && targetNames.includes("marsd")) {
      const disk = path.join(baseDir, "marsd-disk.img");
      await createAllocatedFile(disk, sizeBytes, dropCache);
      const marsdDir = path.join(baseDir, "marsd");
      const extraArgs: string[] = [];
      if (process.env.MARSD_CONFIG_JSON) {
        await mkdir(marsdDir, { recursive: true });
        const configFile = path.join(marsdDir, "marsd.json");
        await writeFile(configFile, process.env.MARSD_CONFIG_JSON);
        extraArgs.push("--config", configFile);
      }
      marsd = await startMarsd(marsdDir, disk, nodeArgs, extraArgs);
      targets.push(marsd);
    }
    if (workloads.length > 0 && targetNames.includes("nbdkit")) {
      const disk = path.join(baseDir, "nbdkit-disk.img");
      await createAllocatedFile(disk, sizeBytes, dropCache);
      targets.push(await startNbdkit(baseDir, disk));
    }
    console.log(
      `fio --ioengine=nbd over Unix sockets, ${runtimeS} s per run, ${sizeBytes / MIB} MiB backing files, ${os.cpus().length} CPUs`,
    );
    const rows: Row[] = [];
    for (const [index, workload] of workloads.entries()) {
      const row: Row = { workload, results: new Map() };
      const runs = new Map<string, Array<{ result: MeasuredRun; batch?: Row["batch"] }>>();
      for (let round = 0; round < repeat; round++) {
        // Alternate who goes first, so neither always runs on a cache the other warmed.
        const ordered = (index + round) % 2 === 0 ? targets : [...targets].reverse();
        for (const target of ordered) {
          execFileSync("sync");
          const before = target === marsd ? await marsd.logCounters() : undefined;
          const cpuBeforeS = target.cpuSeconds();
          const fio = await runFio(target.uri, workload, { runtimeS, rampS: RAMP_S, sizeBytes });
          const result: MeasuredRun = {
            ...fio,
            cpuUsPerIo: cpuUsPerIo(target.cpuSeconds() - cpuBeforeS, fio.iops, runtimeS),
          };
          let batch: Row["batch"];
          if (before && marsd) {
            const after = await marsd.logCounters();
            const batches = after.batches - before.batches;
            if (batches > 0) {
              batch = {
                recordsPerBatch: (after.records - before.records) / batches,
                msPerBatch: ((after.fsyncSeconds - before.fsyncSeconds) / batches) * 1000,
              };
            }
          }
          runs.set(target.name, [...(runs.get(target.name) ?? []), { result, batch }]);
          console.log(
            `  ${workload.name.padEnd(28)} ${target.name.padEnd(7)} ${fmt(result.iops).padStart(8)} IOPS ${fmt(result.bandwidthBytesPerS / MIB, 1).padStart(8)} MiB/s ${fmt(result.meanLatencyUs).padStart(7)} us ${fmt(result.cpuUsPerIo).padStart(5)} CPU us/IO`,
          );
        }
      }
      for (const [name, list] of runs) {
        const median = medianByIops(list, (r) => r.result.iops);
        row.results.set(name, median.result);
        if (median.batch) row.batch = median.batch;
      }
      rows.push(row);
    }
    let twoRow: TwoResourcesRow | undefined;
    if (twoResources && marsd) {
      twoRow = await measureTwoResources(marsd, {
        disk: path.join(baseDir, "marsd-disk-2.img"),
        dropCache,
        repeat,
        runtimeS,
        sizeBytes,
      });
    }
    let shipRow: ShipReplayRow | undefined;
    if (shipReplay) {
      // On a machine of its own: the targets above are idle but still hold memory and timers.
      for (const target of targets.splice(0)) await target.stop();
      shipRow = await shipAndReplay(path.join(baseDir, "ship-replay"), shipMiB);
    }
    if (rows.length > 0) printTable(rows);
    printLatencyTable(rows);
    if (twoRow) printTwoResourcesTable(twoRow);
    if (shipRow) printShipReplayTable(shipRow);
  } finally {
    for (const target of targets) await target.stop().catch(() => undefined);
    if (marsd && nodeArgs.length > 0) console.log(`daemon output kept in ${baseDir}`);
    else await rm(baseDir, { recursive: true, force: true });
  }
}

/** The run with the median IOPS (a busy 2-CPU machine moves single runs by 20%). */
function medianByIops<T>(list: T[], iops: (run: T) => number): T {
  const run = [...list].sort((a, b) => iops(a) - iops(b))[Math.floor(list.length / 2)];
  if (run === undefined) throw new Error("no run measured");
  return run;
}

/** A server's CPU over a whole fio run (ramp included) per IO of the measured part, scaled to the whole run. */
function cpuUsPerIo(cpuSeconds: number, iops: number, runtimeS: number): number {
  return (cpuSeconds * 1e6) / (iops * (runtimeS + RAMP_S));
}

/**
 * TWO_RESOURCES: creates a second resource on `marsd` (backing file
 * `disk`, same size) and runs the workload on both exports at once and on
 * the first alone, alternating, `repeat` times each; the median by IOPS.
 */
async function measureTwoResources(
  marsd: MarsdTarget,
  options: { disk: string; dropCache: boolean; repeat: number; runtimeS: number; sizeBytes: number },
): Promise<TwoResourcesRow> {
  await createAllocatedFile(options.disk, options.sizeBytes, options.dropCache);
  const secondUri = await marsd.addResource("bench2", options.disk);
  const variants = { one: [marsd.uri], two: [marsd.uri, secondUri] };
  const runs: Record<keyof typeof variants, AggregateRun[]> = { one: [], two: [] };
  for (let round = 0; round < options.repeat; round++) {
    const order: Array<keyof typeof variants> = round % 2 === 0 ? ["one", "two"] : ["two", "one"];
    for (const variant of order) {
      execFileSync("sync");
      const cpuBeforeS = marsd.cpuSeconds();
      // Both fio processes start now and run for the same time; wait for both.
      const results = await Promise.all(
        variants[variant].map((uri) =>
          runFio(uri, TWO_RESOURCES, {
            runtimeS: options.runtimeS,
            rampS: RAMP_S,
            sizeBytes: options.sizeBytes,
          }),
        ),
      );
      const iops = results.reduce((sum, r) => sum + r.iops, 0);
      const run: AggregateRun = {
        iops,
        bandwidthBytesPerS: results.reduce((sum, r) => sum + r.bandwidthBytesPerS, 0),
        cpuUsPerIo: cpuUsPerIo(marsd.cpuSeconds() - cpuBeforeS, iops, options.runtimeS),
      };
      runs[variant].push(run);
      const label = variant === "two" ? "marsd, 2 resources" : "marsd, 1 resource";
      console.log(
        `  ${TWO_RESOURCES.name.padEnd(28)} ${label.padEnd(18)} ${fmt(run.iops).padStart(8)} IOPS ${fmt(run.bandwidthBytesPerS / MIB, 1).padStart(8)} MiB/s ${fmt(run.cpuUsPerIo).padStart(5)} CPU us/IO`,
      );
    }
  }
  return { two: medianByIops(runs.two, (r) => r.iops), one: medianByIops(runs.one, (r) => r.iops) };
}

/** SHIP_REPLAY: two fresh daemons (bench/ship-replay.ts), `mib` MiB shipped and replayed, once. */
async function shipAndReplay(scratch: string, mib: number): Promise<ShipReplayRow> {
  const fio = requireTool("fio");
  const nbdcopy = requireTool("nbdcopy");
  await mkdir(scratch, { recursive: true });
  const pair: ShipReplayPair = await startShipReplayPair({ mib, fio, scratch });
  try {
    const result = await measureShipReplay(pair, { mib, fio, nbdcopy, scratch });
    console.log(
      `  ${SHIP_REPLAY.padEnd(28)} ${fmt(result.shippedMiBps).padStart(8)} MiB/s shipped and replayed (${mib} MiB in ${fmt(result.seconds, 2)} s), local disk ${fmt(pair.localMiBps)} MiB/s, primary ${fmt(result.primaryMiBps)} MiB/s`,
    );
    return { ...result, localMiBps: pair.localMiBps };
  } finally {
    await pair.cluster.cleanup();
  }
}

/** Completion latency of the QD1 write rows, per target, and what marsd adds to nbdkit's. */
function printLatencyTable(rows: Row[]): void {
  const qd1 = rows.filter(
    (r) =>
      r.workload.iodepth === 1 &&
      (r.workload.jobs ?? 1) === 1 &&
      r.workload.rw !== "read" &&
      r.workload.rw !== "randread",
  );
  const lines: string[] = [];
  for (const row of qd1) {
    const k = row.results.get("nbdkit")?.completionLatency;
    for (const [target, result] of [...row.results].sort(([a], [b]) => a.localeCompare(b))) {
      const lat = result.completionLatency;
      if (!lat) continue;
      const added =
        target === "marsd" && k ? { p50: lat.p50Us - k.p50Us, mean: lat.meanUs - k.meanUs } : undefined;
      lines.push(
        `| ${row.workload.name} | ${target} | ${fmt(lat.meanUs)} | ${fmt(lat.p50Us)} | ${fmt(lat.p99Us)} | ${fmt(lat.p999Us)} | ${
          added ? fmt(added.p50) : "-"
        } | ${added ? fmt(added.mean) : "-"} |`,
      );
    }
  }
  if (lines.length === 0) return;
  console.log("");
  console.log(
    "| workload | target | clat mean us | clat p50 us | clat p99 us | clat p99.9 us | marsd adds, p50 us | marsd adds, mean us |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const line of lines) console.log(line);
}

function printTwoResourcesTable(row: TwoResourcesRow): void {
  console.log("");
  console.log(
    "| workload | marsd IOPS, 2 resources | marsd IOPS, 1 resource | ratio | marsd CPU us/IO, 2 resources | marsd CPU us/IO, 1 resource |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(
    `| ${TWO_RESOURCES.name} | ${fmt(row.two.iops)} | ${fmt(row.one.iops)} | ${fmt(row.two.iops / row.one.iops, 2)}x | ${fmt(row.two.cpuUsPerIo)} | ${fmt(row.one.cpuUsPerIo)} |`,
  );
}

function printShipReplayTable(row: ShipReplayRow): void {
  console.log("");
  console.log(
    "| workload | ship+replay MiB/s | local seq write MiB/s | ratio | primary 1M seqwrite QD8 MiB/s | ratio to primary |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(
    `| ${SHIP_REPLAY} (${row.mib} MiB) | ${fmt(row.shippedMiBps)} | ${fmt(row.localMiBps)} | ${fmt(row.shippedMiBps / row.localMiBps, 2)}x | ${fmt(row.primaryMiBps)} | ${fmt(row.shippedMiBps / row.primaryMiBps, 2)}x |`,
  );
}

function printTable(rows: Row[]): void {
  console.log("");
  console.log(
    "| workload | marsd IOPS | nbdkit IOPS | ratio | marsd MiB/s | nbdkit MiB/s | marsd lat us | nbdkit lat us | marsd CPU us/IO | nbdkit CPU us/IO | records/batch | ms/batch |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) {
    const m = row.results.get("marsd");
    const k = row.results.get("nbdkit");
    const cell = (r: MeasuredRun | undefined, f: (r: MeasuredRun) => string) => (r ? f(r) : "-");
    console.log(
      `| ${row.workload.name} | ${cell(m, (r) => fmt(r.iops))} | ${cell(k, (r) => fmt(r.iops))} | ${
        m && k ? `${fmt(m.iops / k.iops, 2)}x` : "-"
      } | ${cell(m, (r) => fmt(r.bandwidthBytesPerS / MIB, 1))} | ${cell(k, (r) => fmt(r.bandwidthBytesPerS / MIB, 1))} | ${cell(m, (r) => fmt(r.meanLatencyUs))} | ${cell(k, (r) => fmt(r.meanLatencyUs))} | ${cell(m, (r) => fmt(r.cpuUsPerIo))} | ${cell(k, (r) => fmt(r.cpuUsPerIo))} | ${
        row.batch ? fmt(row.batch.recordsPerBatch, 1) : "-"
      } | ${row.batch ? fmt(row.batch.msPerBatch, 3) : "-"} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

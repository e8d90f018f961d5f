/**
 * Sync benchmark (a benchmark, not a test; `npm run bench:sync`): two real
 * daemons with a fault proxy between them, at 0, 50 and 200 ms round trip.
 * Each figure is printed against a baseline measured in the same run:
 *
 * 1. equal: the member's disk already holds the primary's bytes (random
 *    data, so nothing is sparse); it leaves and joins again, and the sync
 *    only confirms equality. Against single-core SHA-256 speed measured in
 *    this process just before each run.
 * 2. different: fully different disks through a link capped at
 *    linkMiBPerSec (the proxy's shared link capacity), against what a plain
 *    TCP bulk transfer (8 connections, through the same kind of proxy with
 *    the same faults) reaches in the same run: the link as the proxy makes it.
 * 3. splitbrain (bench/sync-split-brain.ts): bytes a split-brain resolution
 *    copies, exact and fallback, against the disk size.
 * 4. compression (bench/sync-compression.ts): wire/data ratio, rate and
 *    daemon CPU per MiB of a sync and a fetch with compression on, against
 *    the same with it off.
 *
 * Each case alternates with its baseline and repeats BENCH_REPEATS (3)
 * times; medians are printed, as markdown tables.
 *
 * Usage: node dist/bench/sync.js [equalMiB=2048] [differentMiB=256] [splitMiB=512]
 *          [divergedMiBPerSide=8] [compressMiB=256] [fetchMiB=64]
 * (or BENCH_EQUAL_MIB, BENCH_DIFFERENT_MIB, BENCH_SPLIT_MIB, BENCH_DIVERGED_MIB,
 * BENCH_COMPRESS_MIB, BENCH_FETCH_MIB). Parts: BENCH_SECTIONS=equal,different,
 * splitbrain,compression (default all), BENCH_RTTS=0,50,200 (round trips, ms),
 * BENCH_COMPRESS_DATA=text,half (default text), BENCH_SEED replays the data.
 */
import { makeDisk } from "../test/helpers/replication.js";
import { TestCluster } from "../test/helpers/test-cluster.js";
import {
  MIB,
  benchOptions,
  fillFiles,
  hashMiBps,
  twoEndsMiBps,
  linkAt,
  linkMiBps,
  markdownTable,
  median,
  seededStream,
  timedJoin,
  type BenchOptions,
} from "./sync-common.js";
import { compressionSection } from "./sync-compression.js";
import { splitBrainSection } from "./sync-split-brain.js";

interface Measured {
  rate: number;
  base: number;
  /** Equal disks: what each end reaches reading and hashing at once on this machine (twoEndsMiBps). */
  bothEnds?: number;
}

/** Sections 1 and 2 (either or both): one table, a row per round trip. */
async function equalAndDifferent(options: BenchOptions): Promise<string> {
  const { equalMiB, differentMiB, linkMiBPerSec, repeats, seed } = options;
  const doEqual = options.sections.has("equal");
  const doDifferent = options.sections.has("different");
  const cluster = await TestCluster.start({
    hosts: ["primary", "member"],
    seed,
    config: {
      jobs: { logRotate: "", logDelete: "" },
      replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
    },
  });
  try {
    await cluster.form();
    const p = cluster.node("primary").daemon.rpc;
    const m = cluster.node("member").daemon.rpc;
    let [equalM, diffM] = ["", ""];
    if (doEqual) {
      const equalP = await makeDisk(cluster, "primary", "eq", equalMiB * MIB);
      equalM = await makeDisk(cluster, "member", "eq", equalMiB * MIB);
      await fillFiles([equalP, equalM], equalMiB, seededStream(seed, "equal"));
      await p.call("resource.create", { name: "eq", disk: equalP, frontend: "nbd" });
    }
    if (doDifferent) {
      const diffP = await makeDisk(cluster, "primary", "diff", differentMiB * MIB);
      diffM = await makeDisk(cluster, "member", "diff", differentMiB * MIB);
      await fillFiles([diffP], differentMiB, seededStream(seed, "different"));
      await p.call("resource.create", { name: "diff", disk: diffP, frontend: "nbd" });
    }
    const timeJoin = async (name: string, disk: string): Promise<number> => {
      const seconds = await timedJoin(cluster, name, disk);
      await m.call("resource.leave", { name });
      return seconds;
    };
    const rows: string[][] = [];
    for (const rttMs of options.roundTripsMs) {
      const equal: Measured[] = [];
      const different: Measured[] = [];
      for (let r = 0; r < repeats; r++) {
        if (doEqual) {
          cluster.setAllLinks(linkAt(rttMs, 0));
          const base = hashMiBps();
          const bothEnds = await twoEndsMiBps(equalM, Math.min(equalMiB, 1024));
          equal.push({ rate: equalMiB / (await timeJoin("eq", equalM)), base, bothEnds });
        }
        if (doDifferent) {
          const capped = linkAt(rttMs, linkMiBPerSec);
          cluster.setAllLinks(capped);
          await fillFiles([diffM], differentMiB, seededStream(seed, `different-member-${rttMs}-${r}`));
          const linkBase = await linkMiBps(capped, Math.min(differentMiB, 256));
          different.push({ rate: differentMiB / (await timeJoin("diff", diffM)), base: linkBase });
        }
      }
      const cells = (runs: Measured[], digits: number): string[] =>
        runs.length === 0
          ? ["-", "-", "-"]
          : [
              `${median(runs.map((e) => e.rate)).toFixed(digits)} MiB/s`,
              `${median(runs.map((e) => e.base)).toFixed(digits)} MiB/s`,
              `${median(runs.map((e) => e.rate / e.base)).toFixed(2)}x`,
            ];
      const machine =
        equal.length === 0
          ? ["-", "-"]
          : [
              `${median(equal.map((e) => e.bothEnds ?? 0)).toFixed(0)} MiB/s`,
              `${median(equal.map((e) => e.rate / (e.bothEnds ?? 1))).toFixed(2)}x`,
            ];
      rows.push([`${rttMs} ms`, ...cells(equal, 0), ...machine, ...cells(different, 1)]);
      console.log(rows[rows.length - 1]?.join(" | "));
    }
    return (
      `sync, equal ${equalMiB} MiB disks and different ${differentMiB} MiB disks, median of ${repeats}:\n` +
      markdownTable(
        [
          "round trip",
          "equal: sync rate",
          "SHA-256 one core",
          "ratio",
          "read + hash, both ends at once here",
          "ratio",
          "different: sync rate",
          `link (TCP, cap ${linkMiBPerSec} MiB/s)`,
          "ratio",
        ],
        rows,
      )
    );
  } finally {
    await cluster.cleanup();
  }
}

async function main(): Promise<void> {
  const options = benchOptions();
  console.log(
    `bench:sync seed ${options.seed} (BENCH_SEED replays), sections ${[...options.sections].join(",")}, ` +
      `round trips ${options.roundTripsMs.join(",")} ms, ${options.repeats} repeats, node ${process.version}`,
  );
  const tables: string[] = [];
  if (options.sections.has("equal") || options.sections.has("different"))
    tables.push(await equalAndDifferent(options));
  if (options.sections.has("splitbrain")) tables.push(await splitBrainSection(options));
  if (options.sections.has("compression")) tables.push(...(await compressionSection(options)));
  console.log(`\n${tables.join("\n\n")}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * What the sections of the sync benchmark (bench/sync.ts) share: its
 * options, seeded disk contents, disk digests, daemon CPU time, the link
 * and hashing baselines, medians and markdown tables.
 *
 * Contract: every byte a section writes derives from BENCH_SEED (printed by
 * bench/sync.ts), through a keyed AES-CTR stream (fast enough for GiB-sized
 * disks, unlike a JS PRNG per word); time goes through systemClock, files
 * through nodeStorage, as in the product.
 */
import { createCipheriv, createHash } from "node:crypto";
import net from "node:net";
import { Worker } from "node:worker_threads";
import { systemClock } from "../src/platform/clock.js";
import { nodeStorage } from "../src/platform/storage/node-file.js";
import { waitFor } from "../test/helpers/daemon-process.js";
import { FaultProxy, type LinkFaults } from "../test/helpers/fault-proxy.js";
import { waitUntil } from "../test/helpers/replication.js";
import type { TestCluster } from "../test/helpers/test-cluster.js";

export const MIB = 1024 * 1024;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

export type Section = "equal" | "different" | "splitbrain" | "compression";
export const ALL_SECTIONS: Section[] = ["equal", "different", "splitbrain", "compression"];

export interface BenchOptions {
  sections: Set<Section>;
  roundTripsMs: number[];
  repeats: number;
  seed: number;
  equalMiB: number;
  differentMiB: number;
  /** Disk of the split-brain section, and what each side writes (in scattered 1 MiB regions). */
  splitMiB: number;
  divergedMiBPerSide: number;
  /** Disk synced, and data written through NBD (fetched), with compression on and off. */
  compressMiB: number;
  fetchMiB: number;
  compressData: CompressibleKind[];
  /** The shared capacity of the capped link (the proxy's), per direction. */
  linkMiBPerSec: number;
}

export type CompressibleKind = "text" | "half";

function list(env: string | undefined, fallback: string): string[] {
  return (env === undefined || env === "" ? fallback : env)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Positional argument, else environment variable, else the default. */
function sizeMiB(position: number, env: string, fallback: number): number {
  const value = Number(process.argv[position] ?? process.env[env] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${env}: not a positive integer: ${value}`);
  return value;
}

export function benchOptions(): BenchOptions {
  const sections = list(process.env.BENCH_SECTIONS, ALL_SECTIONS.join(","));
  for (const s of sections)
    if (!ALL_SECTIONS.includes(s as Section)) throw new Error(`BENCH_SECTIONS: unknown section ${s}`);
  const kinds = list(process.env.BENCH_COMPRESS_DATA, "text");
  for (const k of kinds) if (k !== "text" && k !== "half") throw new Error(`BENCH_COMPRESS_DATA: ${k}`);
  const options: BenchOptions = {
    sections: new Set(sections as Section[]),
    roundTripsMs: list(process.env.BENCH_RTTS, "0,50,200").map(Number),
    repeats: Number(process.env.BENCH_REPEATS ?? 3),
    seed: Number(process.env.BENCH_SEED ?? systemClock.nowMs() % 1_000_000),
    equalMiB: sizeMiB(2, "BENCH_EQUAL_MIB", 2048),
    differentMiB: sizeMiB(3, "BENCH_DIFFERENT_MIB", 256),
    splitMiB: sizeMiB(4, "BENCH_SPLIT_MIB", 512),
    divergedMiBPerSide: sizeMiB(5, "BENCH_DIVERGED_MIB", 8),
    compressMiB: sizeMiB(6, "BENCH_COMPRESS_MIB", 256),
    fetchMiB: sizeMiB(7, "BENCH_FETCH_MIB", 64),
    compressData: kinds as CompressibleKind[],
    linkMiBPerSec: 64,
  };
  if (options.roundTripsMs.some((ms) => !Number.isFinite(ms) || ms < 0))
    throw new Error(`BENCH_RTTS: ${process.env.BENCH_RTTS}`);
  return options;
}

/** The proxy faults of a link at `roundTripMs`, capped at `capMiBPerSec` (0: uncapped). */
export function linkAt(roundTripMs: number, capMiBPerSec: number): Partial<LinkFaults> {
  return { latencyMs: roundTripMs / 2, linkBandwidthBytesPerSec: capMiBPerSec * MIB };
}

/** A deterministic stream of pseudo-random bytes named by (seed, label). */
export function seededStream(seed: number, label: string): (bytes: number) => Buffer {
  const key = createHash("sha256").update(`marsd-bench-sync/${seed}/${label}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (bytes) => cipher.update(Buffer.alloc(bytes));
}

/**
 * Writes `sizeMiB` from `next` (16 MiB at a time) into every file of
 * `files`, so they end up equal, and syncs them.
 */
export async function fillFiles(
  files: string[],
  sizeMiB: number,
  next: (bytes: number) => Buffer,
): Promise<void> {
  const handles = await Promise.all(files.map((f) => nodeStorage.open(f, "readwrite")));
  try {
    for (let atMiB = 0; atMiB < sizeMiB; atMiB += 16) {
      const chunk = next(Math.min(16, sizeMiB - atMiB) * MIB);
      await Promise.all(handles.map((h) => h.writev([chunk], atMiB * MIB)));
    }
    await Promise.all(handles.map((h) => h.datasync()));
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** Makes a disk all zeros again (sparse), at the same size. */
export async function zeroFile(file: string, sizeBytes: number): Promise<void> {
  const handle = await nodeStorage.open(file, "readwrite");
  try {
    await handle.truncate(0);
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a disk's first `sizeBytes`, read 16 MiB at a time. */
export async function diskDigest(file: string, sizeBytes: number): Promise<string> {
  const handle = await nodeStorage.open(file, "read");
  const hash = createHash("sha256");
  const buffer = Buffer.alloc(16 * MIB);
  try {
    for (let at = 0; at < sizeBytes; at += buffer.length) {
      const want = Math.min(buffer.length, sizeBytes - at);
      const got = await handle.read(buffer.subarray(0, want), at);
      if (got !== want) throw new Error(`${file}: short read at ${at}`);
      hash.update(buffer.subarray(0, want));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** Process CPU (user + system, all threads) of a daemon so far, seconds. */
export async function daemonCpuSeconds(cluster: TestCluster, host: string): Promise<number> {
  const pid = cluster.node(host).daemon.child?.pid;
  if (pid === undefined) throw new Error(`${host}: no daemon process`);
  const stat = Buffer.from(await nodeStorage.readFile(`/proc/${pid}/stat`)).toString("utf8");
  // Fields after the parenthesised command name: state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Seconds since `startedMs` (systemClock.monotonicMs). */
export function secondsSince(startedMs: number): number {
  return (systemClock.monotonicMs() - startedMs) / 1000;
}

/** Single-core SHA-256 over 256 MiB in 1 MiB chunks, MiB/s. */
export function hashMiBps(): number {
  const chunk = seededStream(0, "hash")(MIB);
  const started = systemClock.monotonicMs();
  for (let i = 0; i < 256; i++) createHash("sha256").update(chunk).digest();
  return 256 / secondsSince(started);
}

/**
 * What each end of a sync can reach when both run on this machine: two
 * threads at once, each reading `file` (its first `sizeMiB`) in 4 MiB
 * blocks and hashing every 1 MiB chunk, as each daemon does. MiB/s per
 * thread. On a machine with two cores this is below hashMiBps: the reads'
 * copies out of the page cache take CPU from the other end's hashing.
 */
export async function twoEndsMiBps(file: string, sizeMiB: number): Promise<number> {
  // A thread reads through node:fs directly: a baseline outside marsd's seams.
  const script = `
    const { openSync, readSync, closeSync } = require("node:fs");
    const { createHash } = require("node:crypto");
    const { workerData, parentPort } = require("node:worker_threads");
    const block = Buffer.allocUnsafe(4 << 20);
    const fd = openSync(workerData.file, "r");
    const started = performance.now();
    for (let at = 0; at < workerData.bytes; at += block.length) {
      const n = readSync(fd, block, 0, block.length, at);
      for (let i = 0; i < n; i += 1 << 20) createHash("sha256").update(block.subarray(i, i + (1 << 20))).digest();
    }
    closeSync(fd);
    parentPort.postMessage(performance.now() - started);`;
  const bytes = sizeMiB * MIB;
  const elapsedMs = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(script, { eval: true, workerData: { file, bytes } });
          worker.once("message", (ms: number) => resolve(ms));
          worker.once("error", reject);
        }),
    ),
  );
  return sizeMiB / (Math.max(...elapsedMs) / 1000);
}

/**
 * `member` joins `name` with `disk`; the seconds from the moment its sync
 * has started (the join's own set-up is not the sync's rate) until it is
 * UpToDate.
 */
export async function timedJoin(cluster: TestCluster, name: string, disk: string): Promise<number> {
  const m = cluster.node("member").daemon.rpc;
  await m.call("resource.join", { name, disk });
  await waitFor(
    `${name}: the sync to start`,
    async () => (await m.call<{ sync?: unknown }>("resource.status", { name })).sync !== undefined,
    60_000,
    5,
  );
  const started = systemClock.monotonicMs();
  await waitUntil(cluster, "member", name, "uptodate", 1_800_000);
  return secondsSince(started);
}

/** A plain bulk transfer of `sizeMiB` over 8 connections through a proxy with `faults`, MiB/s. */
export async function linkMiBps(faults: Partial<LinkFaults>, sizeMiB: number): Promise<number> {
  const connections = 8;
  const perConnection = (sizeMiB * MIB) / connections;
  const block = seededStream(0, "link")(MIB);
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    let sent = 0;
    const pump = (): void => {
      while (sent < perConnection) {
        sent += MIB;
        if (!socket.write(block)) return void socket.once("drain", pump);
      }
      socket.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy = await FaultProxy.start(`127.0.0.1:${port}`, faults, { seed: 1 });
  try {
    const started = systemClock.monotonicMs();
    await Promise.all(
      Array.from(
        { length: connections },
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = net.connect(proxy.port, "127.0.0.1");
            socket.on("data", () => undefined);
            socket.on("end", resolve);
            socket.on("error", reject);
          }),
      ),
    );
    return sizeMiB / secondsSince(started);
  } finally {
    await proxy.close();
    server.close();
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** A markdown table; numbers are formatted by the caller. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---:")), ...rows.map(line)].join("\n");
}

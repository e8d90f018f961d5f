/**
 * Runs one fio job against an NBD URI (fio --ioengine=nbd, libnbd inside
 * fio) and extracts the figures the benchmark compares: IOPS, bandwidth,
 * mean latency, and the completion latency's mean and p50 / p99 / p99.9
 * (fio --percentile_list=50:99:99.9, from clat_ns in its JSON). Time-based
 * by default; with `once`, one pass over `sizeBytes`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Workload {
  /** Short label printed in the table. */
  name: string;
  rw: "randwrite" | "randread" | "write" | "read";
  blockBytes: number;
  iodepth: number;
  /** fio --fsync=N: a flush after every N writes (0 = none). */
  fsyncEvery?: number;
  /** Concurrent fio jobs (connections), each at `iodepth`; figures are summed. */
  jobs?: number;
}

/** fio's completion latency (submission to completion of one IO), in microseconds. */
export interface CompletionLatency {
  meanUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

export interface FioResult {
  iops: number;
  bandwidthBytesPerS: number;
  meanLatencyUs: number;
  /** Absent when fio reported no percentiles (no IO completed). */
  completionLatency?: CompletionLatency;
}

/** The percentiles asked of fio; its JSON names them "50.000000", "99.000000", "99.900000". */
const PERCENTILES = ["50", "99", "99.9"] as const;

interface FioSide {
  iops: number;
  bw_bytes: number;
  lat_ns: { mean: number };
  clat_ns?: { mean: number; percentile?: Record<string, number> };
}

interface FioJson {
  jobs: Array<{ read: FioSide; write: FioSide }>;
}

function completionLatency(side: FioSide): CompletionLatency | undefined {
  const clat = side.clat_ns;
  const at = (p: string): number | undefined => clat?.percentile?.[Number(p).toFixed(6)];
  const [p50, p99, p999] = PERCENTILES.map(at);
  if (!clat || p50 === undefined || p99 === undefined || p999 === undefined) return undefined;
  return { meanUs: clat.mean / 1000, p50Us: p50 / 1000, p99Us: p99 / 1000, p999Us: p999 / 1000 };
}

export async function runFio(
  uri: string,
  workload: Workload,
  options: {
    runtimeS: number;
    rampS: number;
    sizeBytes: number;
    /** Write or read `sizeBytes` once instead of looping for runtimeS (runtimeS and rampS are then ignored). */
    once?: boolean;
    /** The fio binary (default: fio on PATH). */
    fio?: string;
  },
): Promise<FioResult> {
  const args = [
    "--output-format=json",
    "--name=bench",
    "--ioengine=nbd",
    `--uri=${uri}`,
    `--rw=${workload.rw}`,
    `--bs=${workload.blockBytes}`,
    `--iodepth=${workload.iodepth}`,
    `--size=${options.sizeBytes}`,
    ...(options.once
      ? []
      : ["--time_based=1", `--runtime=${options.runtimeS}`, `--ramp_time=${options.rampS}`]),
    "--randrepeat=0",
    "--norandommap=1",
    `--percentile_list=${PERCENTILES.join(":")}`,
  ];
  if (workload.fsyncEvery) args.push(`--fsync=${workload.fsyncEvery}`);
  if (workload.jobs && workload.jobs > 1) args.push(`--numjobs=${workload.jobs}`, "--group_reporting=1");
  const { stdout } = await run(options.fio ?? "fio", args, { maxBuffer: 64 * 1024 * 1024 });
  // fio may print notices before the JSON document.
  const json = JSON.parse(stdout.slice(stdout.indexOf("{"))) as FioJson;
  const job = json.jobs[0];
  if (!job) throw new Error("fio reported no job");
  const side = workload.rw === "randread" || workload.rw === "read" ? job.read : job.write;
  const latency = completionLatency(side);
  return {
    iops: side.iops,
    bandwidthBytesPerS: side.bw_bytes,
    meanLatencyUs: side.lat_ns.mean / 1000,
    ...(latency ? { completionLatency: latency } : {}),
  };
}

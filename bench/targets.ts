/**
 * The two NBD servers the benchmark compares, each on its own fully
 * allocated backing file (same size, same content): marsd (durable log,
 * group commit) and `nbdkit file` (page cache; durable only on flush).
 * marsd serves one resource ("bench") from the start; addResource() creates
 * more on the same daemon, each with its own backing file and NBD export.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { DaemonProcess, waitFor } from "../test/helpers/daemon-process.js";

/**
 * Writes zeroes over the whole file, so no benchmark write allocates blocks;
 * with `dropCache`, then evicts it from the page cache (Node has no
 * posix_fadvise; GNU dd's `nocache` flag with count=0 applies it to the
 * whole file).
 */
export async function createAllocatedFile(file: string, sizeBytes: number, dropCache = false): Promise<void> {
  const handle = await open(file, "w");
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (let at = 0; at < sizeBytes; at += chunk.length) {
      await handle.write(chunk, 0, Math.min(chunk.length, sizeBytes - at), at);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (dropCache) {
    execFileSync(
      "dd",
      ["if=/dev/null", `of=${file}`, "oflag=nocache", "conv=notrunc,fdatasync", "count=0", "status=none"],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  }
}

export interface Target {
  name: string;
  uri: string;
  /** CPU time the server process used so far (all its threads, user + system). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) throw new Error("the server process has no pid");
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

export interface MarsdTarget extends Target {
  daemon: DaemonProcess;
  /** Creates one more resource on this daemon over `backing` and returns its NBD URI. */
  addResource(name: string, backing: string): Promise<string>;
  /** Group-commit counters from /metrics (cumulative). */
  logCounters(): Promise<{ batches: number; records: number; fsyncSeconds: number }>;
}

export async function startMarsd(
  baseDir: string,
  backing: string,
  nodeArgs: string[],
  extraArgs: string[] = [],
): Promise<MarsdTarget> {
  const daemon = await DaemonProcess.start({ baseDir, nodeArgs, extraArgs });
  const createResource = async (name: string, disk: string): Promise<string> => {
    const created = await daemon.rpc.call<{ resource: { device?: { uri: string } } }>("resource.create", {
      name,
      disk,
      frontend: "nbd",
    });
    const uri = created.resource.device?.uri;
    if (!uri) throw new Error(`marsd did not export the ${name} resource`);
    return uri;
  };
  const uri = await createResource("bench", backing);
  return {
    name: "marsd",
    uri,
    daemon,
    addResource: createResource,
    cpuSeconds: () => processCpuSeconds(daemon.child?.pid),
    async logCounters() {
      const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      const value = (name: string): number => {
        const m = new RegExp(`^${name}\\{resource="bench"\\} (\\S+)$`, "m").exec(text);
        return m ? Number(m[1]) : 0;
      };
      return {
        batches: value("marsd_log_batch_records_count"),
        records: value("marsd_log_batch_records_sum"),
        fsyncSeconds: value("marsd_log_fsync_duration_seconds_sum"),
      };
    },
    async stop() {
      await daemon.stop();
    },
  };
}

export async function startNbdkit(baseDir: string, backing: string): Promise<Target> {
  const socket = path.join(baseDir, "nbdkit.sock");
  let output = "";
  const child: ChildProcess = spawn(
    "nbdkit",
    ["--foreground", "--exit-with-parent", "--unix", socket, "file", `file=${backing}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(`nbdkit to listen on ${socket}`, () => {
    if (child.exitCode !== null) throw new Error(`nbdkit exited: ${output}`);
    return existsSync(socket);
  });
  return {
    name: "nbdkit",
    uri: `nbd+unix:///?socket=${socket}`,
    cpuSeconds: () => processCpuSeconds(child.pid),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Helpers for the tests that run inside the test VM (test/vm/run-vm.sh sets
 * MARSD_VM_GUEST=1): real marsd processes, a real ublk_drv, real mkfs,
 * mount, fio. On any other machine these tests are skipped, so `npm test`
 * on a host without ublk stays green; `npm run test:vm` runs them.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DaemonProcess, waitFor } from "../../helpers/daemon-process.js";

export const IN_VM = process.env.MARSD_VM_GUEST === "1";
export const SKIP_OUTSIDE_VM = IN_VM ? false : "runs only inside the test VM: npm run test:vm";

const execFileAsync = promisify(execFile);

/** Runs a command; resolves with stdout, rejects with stdout/stderr in the message. */
export async function run(cmd: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

export function sh(script: string, timeoutMs?: number): Promise<string> {
  return run("sh", ["-ec", script], timeoutMs);
}

export interface UblkDeviceInfo {
  kind: string;
  path: string;
  deviceId: number;
}

interface Status {
  state: string;
  device?: UblkDeviceInfo;
}

/** A sparse backing file of `bytes` in a fresh temp dir. */
export async function backingFile(bytes: number): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-vm-disk-"));
  const file = path.join(dir, "disk.img");
  const handle = await open(file, "w");
  await handle.truncate(bytes);
  await handle.close();
  return { dir, file };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** resource.status until the resource is exported (export runs after creation / recovery). */
export async function waitForDevice(daemon: DaemonProcess, name: string): Promise<UblkDeviceInfo> {
  return waitFor(
    `resource ${name} to be exported`,
    async () => {
      const status = await daemon.rpc.call<Status>("resource.status", { name });
      return status.device && existsSync(status.device.path) ? status.device : undefined;
    },
    60_000,
  );
}

export function startDaemon(baseDir?: string): Promise<DaemonProcess> {
  return DaemonProcess.start(baseDir ? { baseDir } : {});
}

/** The nodes of device N are gone from /dev (devtmpfs removes them on DEL_DEV). */
export function deviceGone(id: number): boolean {
  return !existsSync(`/dev/ublkb${id}`) && !existsSync(`/dev/ublkc${id}`);
}

/** Kernel messages that mean the filesystem or the block layer saw an error. */
export async function kernelErrors(): Promise<string[]> {
  const log = await run("dmesg", []);
  return log
    .split("\n")
    .filter((line) =>
      /EXT4-fs error|I\/O error|Buffer I\/O|Remounting filesystem read-only|blk_update_request/i.test(line),
    );
}

/**
 * A writer that keeps creating files on a filesystem, each fsync'ed, and
 * records a file's number in `ackedFile` (outside the filesystem) only
 * after its fsync returned: every number there is an acknowledged write.
 * It stops, with status 0, when `stopFile` appears; any failed write ends it
 * with a non-zero status.
 */
export function startWriter(mountDir: string, ackedFile: string, stopFile: string): ChildProcess {
  const script = `
    i=0
    while [ ! -e "$STOP" ]; do
      yes "marsd-ublk-$i" | head -c 65536 > "$DIR/f$i"
      sync "$DIR/f$i"
      echo "$i" >> "$ACKED"
      i=$((i + 1))
    done`;
  return spawn("sh", ["-ec", script], {
    env: { ...process.env, DIR: mountDir, ACKED: ackedFile, STOP: stopFile },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The content startWriter gives file number i. */
export function writerContent(i: number): Buffer {
  const line = Buffer.from(`marsd-ublk-${i}\n`);
  const out = Buffer.alloc(65536);
  for (let at = 0; at < out.length; at += line.length) line.copy(out, at);
  return out;
}

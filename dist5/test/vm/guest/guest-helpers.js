/**
 * Helpers for the tests that run inside the test VM (test/vm/run-vm.sh sets
 * MARSD_VM_GUEST=1): real marsd processes, a real ublk_drv, real mkfs,
 * mount, fio. On any other machine these tests are skipped, so `npm test`
 * on a host without ublk stays green; `npm run test:vm` runs them.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RpcClient } from "../../../src/cli/rpc-client.js";
import { DAEMON_NODE_FLAGS } from "../../../src/daemon/gc-tuning.js";
import { MARSD_MAIN, freePort, waitFor } from "../../helpers/daemon-process.js";
export const IN_VM = process.env.MARSD_VM_GUEST === "1";
export const SKIP_OUTSIDE_VM = IN_VM ? false : "runs only inside the test VM: npm run test:vm";
const execFileAsync = promisify(execFile);
/** Runs a command; resolves with stdout, rejects with stdout/stderr in the message. */
export async function run(cmd, args, timeoutMs = 300_000) {
    try {
        const { stdout } = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
        return stdout;
    }
    catch (err) {
        const e = err;
        throw new Error(`${cmd} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
}
export function sh(script, timeoutMs) {
    return run("sh", ["-ec", script], timeoutMs);
}
/** A sparse backing file of `bytes` in a fresh temp dir. */
export async function backingFile(bytes) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-vm-disk-"));
    const file = path.join(dir, "disk.img");
    const handle = await open(file, "w");
    await handle.truncate(bytes);
    await handle.close();
    return { dir, file };
}
export async function removeDir(dir) {
    await rm(dir, { recursive: true, force: true });
}
/** resource.status until the resource is exported (export runs after creation / recovery). */
export async function waitForDevice(daemon, name) {
    return waitFor(`resource ${name} to be exported`, async () => {
        const status = await daemon.rpc.call("resource.status", { name });
        return status.device && existsSync(status.device.path) ? status.device : undefined;
    }, 60_000);
}
/** How long a marsd start may take in the VM: everything runs emulated there. */
export const VM_READY_TIMEOUT_MS = 120_000;
/**
 * A real marsd process in the VM. The same launch as test/helpers'
 * DaemonProcess (whose pieces it uses), with one difference: a readiness
 * limit that fits software emulation, where loading the daemon takes 10-20 s
 * instead of under one (DaemonProcess waits 20 s at most).
 */
export class VmDaemon {
    baseDir;
    adminPort;
    child;
    output = "";
    rpc;
    exited = Promise.resolve();
    running = false;
    constructor(baseDir, adminPort) {
        this.baseDir = baseDir;
        this.adminPort = adminPort;
    }
    static async start() {
        const d = new VmDaemon(await mkdtemp(path.join(os.tmpdir(), "marsd-vm-")), await freePort());
        await d.launch();
        return d;
    }
    get dataDir() {
        return path.join(this.baseDir, "data");
    }
    get nbdSocket() {
        return path.join(this.baseDir, "run", "nbd.sock");
    }
    async launch() {
        this.output = "";
        const child = spawn(process.execPath, [
            ...DAEMON_NODE_FLAGS,
            MARSD_MAIN,
            "--data-dir",
            this.dataDir,
            "--run-dir",
            path.join(this.baseDir, "run"),
            "--host",
            "alpha",
            "--admin-listen",
            `127.0.0.1:${this.adminPort}`,
        ], { stdio: ["ignore", "pipe", "pipe"] });
        this.child = child;
        this.running = true;
        child.stdout?.on("data", (d) => (this.output += d.toString()));
        child.stderr?.on("data", (d) => (this.output += d.toString()));
        this.exited = new Promise((resolve) => child.once("exit", () => {
            this.running = false;
            resolve();
        }));
        try {
            await waitFor("marsd to become ready", async () => {
                if (!this.running)
                    throw new Error(`marsd exited early:\n${this.output}`);
                const res = await fetch(`http://127.0.0.1:${this.adminPort}/healthz`).catch(() => undefined);
                return res?.ok === true;
            }, VM_READY_TIMEOUT_MS, 100);
        }
        catch (err) {
            await this.kill9(); // never leave a half-started daemon behind
            throw new Error(`${err.message}\n${this.output}`, { cause: err });
        }
        const token = (await readFile(path.join(this.dataDir, "admin.token"), "utf8")).trim();
        this.rpc = new RpcClient(`http://127.0.0.1:${this.adminPort}`, token);
    }
    /** SIGTERM (a clean stop) and wait; returns the exit code. */
    async stop() {
        if (this.running) {
            this.child?.kill("SIGTERM");
            await this.exited;
        }
        return this.child?.exitCode ?? null;
    }
    /** A crash: SIGKILL and wait. */
    async kill9() {
        if (this.running) {
            this.child?.kill("SIGKILL");
            await this.exited;
        }
    }
    /** Starts again on the same directories. */
    relaunch() {
        return this.launch();
    }
    /** A clean stop if still running (it removes ublk devices), then the directories go. */
    async cleanup() {
        await this.stop().catch(() => undefined);
        await this.kill9();
        await rm(this.baseDir, { recursive: true, force: true });
    }
}
export function startDaemon() {
    return VmDaemon.start();
}
/** The nodes of device N are gone from /dev (devtmpfs removes them on DEL_DEV). */
export function deviceGone(id) {
    return !existsSync(`/dev/ublkb${id}`) && !existsSync(`/dev/ublkc${id}`);
}
/** Kernel messages that mean the filesystem or the block layer saw an error. */
export async function kernelErrors() {
    const log = await run("dmesg", []);
    return log
        .split("\n")
        .filter((line) => /EXT4-fs error|I\/O error|Buffer I\/O|Remounting filesystem read-only| error, dev |blk_update_request/i.test(line));
}
/**
 * A writer that keeps creating files on a filesystem, each fsync'ed, and
 * records a file's number in `ackedFile` (outside the filesystem) only
 * after its fsync returned: every number there is an acknowledged write.
 * It stops, with status 0, when `stopFile` appears; any failed write ends it
 * with a non-zero status.
 */
export function startWriter(mountDir, ackedFile, stopFile) {
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
export function writerContent(i) {
    const line = Buffer.from(`marsd-ublk-${i}\n`);
    const out = Buffer.alloc(65536);
    for (let at = 0; at < out.length; at += line.length)
        line.copy(out, at);
    return out;
}
//# sourceMappingURL=guest-helpers.js.map
/**
 * Starts real marsd processes for tests: own temp data/run dirs, a free
 * admin port, readiness by polling /healthz (a condition, not a sleep), and
 * an RPC client with the generated token. `kill9()` simulates a crash;
 * `restart()` starts the same node again on the same dirs.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RpcClient } from "../../src/cli/rpc-client.js";
import { DAEMON_NODE_FLAGS } from "../../src/daemon/gc-tuning.js";
const here = path.dirname(fileURLToPath(import.meta.url));
export const MARSD_MAIN = path.resolve(here, "../../src/daemon/main.js");
export const MARSADM_MAIN = path.resolve(here, "../../src/cli/marsadm.js");
/**
 * Listens on `count` free loopback ports at once, so they are distinct, and
 * holds them until release(). Hold them while other sockets of the test
 * (fault proxies) bind port 0, or those may get a port that was just
 * handed out and the daemon's listen then fails with EADDRINUSE.
 */
export async function reservePorts(count) {
    const servers = await Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve(srv));
    })));
    return {
        ports: servers.map((srv) => srv.address().port),
        release: async () => {
            await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
        },
    };
}
export async function freePort() {
    const { ports, release } = await reservePorts(1);
    await release();
    return ports[0];
}
/** Thrown from a waitFor probe: stop waiting at once (the condition can never become true). */
export class GiveUp extends Error {
}
function errorText(err) {
    return err instanceof Error ? err.message : String(err);
}
export async function waitFor(what, probe, timeoutMs = 20_000, intervalMs = 25) {
    const deadline = Date.now() + timeoutMs;
    let lastError;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined && value !== false)
                return value;
        }
        catch (err) {
            if (err instanceof GiveUp)
                throw err;
            lastError = err;
        }
        if (Date.now() > deadline) {
            // The test runner prints the message, not the cause: name the last failure of the probe here.
            const last = lastError === undefined ? "" : ` (last probe failed: ${errorText(lastError)})`;
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}
/** How much of a daemon's output a test keeps (characters). */
const MAX_KEPT_OUTPUT_CHARS = 64 * 1024 * 1024;
export class DaemonProcess {
    baseDir;
    host;
    adminPort;
    options;
    child;
    output = "";
    rpc;
    exitCode = null;
    exitSignal = null;
    exited = Promise.resolve();
    constructor(baseDir, host, adminPort, options) {
        this.baseDir = baseDir;
        this.host = host;
        this.adminPort = adminPort;
        this.options = options;
    }
    static async start(options = {}) {
        const baseDir = options.baseDir ?? (await mkdtemp(path.join(os.tmpdir(), "marsd-test-")));
        const d = new DaemonProcess(baseDir, options.host ?? "alpha", options.adminPort ?? (await freePort()), options);
        await d.launch();
        return d;
    }
    /**
     * Appends to `output`, keeping only its newest half once it passes
     * MAX_KEPT_OUTPUT_CHARS: a long fuzz run logs a warning per refused
     * request and would otherwise outgrow V8's longest string.
     */
    keepOutput(chunk) {
        this.output += chunk.toString();
        if (this.output.length > MAX_KEPT_OUTPUT_CHARS)
            this.output = this.output.slice(-MAX_KEPT_OUTPUT_CHARS / 2);
    }
    /** Returns what the daemon printed since the last call, and forgets it (for long runs). */
    takeOutput() {
        const out = this.output;
        this.output = "";
        return out;
    }
    get dataDir() {
        return path.join(this.baseDir, "data");
    }
    get runDir() {
        return path.join(this.baseDir, "run");
    }
    get nbdSocket() {
        return path.join(this.runDir, "nbd.sock");
    }
    get adminUrl() {
        return `http://127.0.0.1:${this.adminPort}`;
    }
    nbdUri(exportName) {
        return `nbd+unix:///${exportName}?socket=${this.nbdSocket}`;
    }
    /**
     * One sample of /metrics: `name{labels}` (labels as exposed, e.g.
     * `resource="r0"`), or undefined when absent (a labelled counter appears
     * with its first increment).
     */
    async metric(name, labels) {
        const text = await (await fetch(`${this.adminUrl}/metrics`)).text();
        const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
        return line === undefined ? undefined : Number(line.split(" ").at(-1));
    }
    async launch() {
        this.output = "";
        this.exitCode = null;
        this.exitSignal = null;
        const child = spawn(process.execPath, [
            // As the systemd unit and the shebang start it (src/daemon/gc-tuning.ts).
            ...DAEMON_NODE_FLAGS,
            ...(this.options.nodeArgs ?? []),
            MARSD_MAIN,
            "--data-dir",
            this.dataDir,
            "--run-dir",
            this.runDir,
            "--host",
            this.host,
            "--admin-listen",
            `127.0.0.1:${this.adminPort}`,
            // Test daemons never share the default peer port; a test that needs a known one passes its own.
            "--peer-listen",
            "127.0.0.1:0",
            ...(this.options.extraArgs ?? []),
        ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.options.env } });
        this.child = child;
        child.stdout?.on("data", (d) => this.keepOutput(d));
        child.stderr?.on("data", (d) => this.keepOutput(d));
        this.exited = new Promise((resolve) => child.once("exit", (code, signal) => {
            this.exitCode = code;
            this.exitSignal = signal;
            resolve();
        }));
        await waitFor(`marsd ${this.host} to become ready\n${this.output}`, async () => {
            if (this.exitCode !== null || this.exitSignal !== null) {
                throw new GiveUp(`marsd exited early (${this.exitCode ?? this.exitSignal}):\n${this.output}`);
            }
            const res = await fetch(`${this.adminUrl}/healthz`).catch(() => undefined);
            return res?.ok === true;
        });
        this.rpc = new RpcClient(this.adminUrl, (await readFile(path.join(this.dataDir, "admin.token"), "utf8")).trim());
    }
    /** SIGTERM and wait; returns the exit code. */
    async stop() {
        if (this.child && this.exitCode === null && this.exitSignal === null) {
            this.child.kill("SIGTERM");
            await this.exited;
        }
        return this.exitCode;
    }
    /** Crash: SIGKILL and wait. */
    async kill9() {
        if (this.child && this.exitCode === null && this.exitSignal === null) {
            this.child.kill("SIGKILL");
            await this.exited;
        }
    }
    async restart() {
        await this.stop();
        await this.launch();
    }
    /** Starts again after kill9()/stop(), on the same directories. */
    async relaunch() {
        await this.launch();
    }
    waitExit() {
        return this.exited;
    }
    /**
     * What a failed test should print about this daemon: whether it runs,
     * answers /healthz, burns CPU (a spinning event loop answers nothing),
     * and the tail of its output.
     */
    async diagnose(tailChars = 8000) {
        const pid = this.child?.pid;
        const lines = [`--- ${this.host} (pid ${pid ?? "none"})`];
        if (this.exitCode !== null || this.exitSignal !== null) {
            lines.push(`exited: ${this.exitCode ?? this.exitSignal}`);
        }
        else if (pid !== undefined) {
            const cpuTicks = async () => {
                const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
                const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
                return Number(fields[11]) + Number(fields[12]); // utime + stime
            };
            const ticksBefore = await cpuTicks();
            const started = Date.now();
            const health = await fetch(`${this.adminUrl}/healthz`, { signal: AbortSignal.timeout(3000) }).then((res) => `HTTP ${res.status}`, (err) => `no answer (${err.message})`);
            await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
            const cpuPercent = ((await cpuTicks()) - ticksBefore) / ((Date.now() - started) / 1000);
            lines.push(`healthz: ${health} in ${Date.now() - started} ms; cpu ~${Math.round(cpuPercent)}% of a core`);
        }
        lines.push(this.output.slice(-tailChars));
        return lines.join("\n");
    }
    /** Stops (SIGKILL if needed) and removes the directories. */
    async cleanup() {
        await this.kill9();
        if (!this.options.baseDir)
            await rm(this.baseDir, { recursive: true, force: true });
    }
}
//# sourceMappingURL=daemon-process.js.map
/**
 * Starts real marsd processes for tests: own temp data/run dirs, a free
 * admin port, readiness by polling /healthz (a condition, not a sleep), and
 * an RPC client with the generated token. `kill9()` simulates a crash;
 * `restart()` starts the same node again on the same dirs.
 */
import { spawn, type ChildProcess } from "node:child_process";
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
export async function reservePorts(
  count: number,
): Promise<{ ports: number[]; release: () => Promise<void> }> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer();
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  return {
    ports: servers.map((srv) => (srv.address() as net.AddressInfo).port),
    release: async () => {
      await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
    },
  };
}

export async function freePort(): Promise<number> {
  const { ports, release } = await reservePorts(1);
  await release();
  return ports[0] as number;
}

/** Thrown from a waitFor probe: stop waiting at once (the condition can never become true). */
export class GiveUp extends Error {}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
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

export interface DaemonProcessOptions {
  host?: string;
  /** Reuse directories (for restarts); default: fresh temp dirs. */
  baseDir?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Options for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** The admin port (reserved by the caller with reservePorts); default: a free one now. */
  adminPort?: number;
}

/** How much of a daemon's output a test keeps (characters). */
const MAX_KEPT_OUTPUT_CHARS = 64 * 1024 * 1024;

export class DaemonProcess {
  child: ChildProcess | undefined;
  output = "";
  rpc!: RpcClient;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly baseDir: string,
    readonly host: string,
    readonly adminPort: number,
    private readonly options: DaemonProcessOptions,
  ) {}

  static async start(options: DaemonProcessOptions = {}): Promise<DaemonProcess> {
    const baseDir = options.baseDir ?? (await mkdtemp(path.join(os.tmpdir(), "marsd-test-")));
    const d = new DaemonProcess(
      baseDir,
      options.host ?? "alpha",
      options.adminPort ?? (await freePort()),
      options,
    );
    await d.launch();
    return d;
  }

  /**
   * Appends to `output`, keeping only its newest half once it passes
   * MAX_KEPT_OUTPUT_CHARS: a long fuzz run logs a warning per refused
   * request and would otherwise outgrow V8's longest string.
   */
  private keepOutput(chunk: Buffer): void {
    this.output += chunk.toString();
    if (this.output.length > MAX_KEPT_OUTPUT_CHARS)
      this.output = this.output.slice(-MAX_KEPT_OUTPUT_CHARS / 2);
  }

  /** Returns what the daemon printed since the last call, and forgets it (for long runs). */
  takeOutput(): string {
    const out = this.output;
    this.output = "";
    return out;
  }

  get dataDir(): string {
    return path.join(this.baseDir, "data");
  }

  get runDir(): string {
    return path.join(this.baseDir, "run");
  }

  get nbdSocket(): string {
    return path.join(this.runDir, "nbd.sock");
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  nbdUri(exportName: string): string {
    return `nbd+unix:///${exportName}?socket=${this.nbdSocket}`;
  }

  /**
   * One sample of /metrics: `name{labels}` (labels as exposed, e.g.
   * `resource="r0"`), or undefined when absent (a labelled counter appears
   * with its first increment).
   */
  async metric(name: string, labels: string): Promise<number | undefined> {
    const text = await (await fetch(`${this.adminUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
    return line === undefined ? undefined : Number(line.split(" ").at(-1));
  }

  private async launch(): Promise<void> {
    this.output = "";
    this.exitCode = null;
    this.exitSignal = null;
    const child = spawn(
      process.execPath,
      [
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
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.options.env } },
    );
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => this.keepOutput(d));
    child.stderr?.on("data", (d: Buffer) => this.keepOutput(d));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
    await waitFor(`marsd ${this.host} to become ready\n${this.output}`, async () => {
      if (this.exitCode !== null || this.exitSignal !== null) {
        throw new GiveUp(`marsd exited early (${this.exitCode ?? this.exitSignal}):\n${this.output}`);
      }
      const res = await fetch(`${this.adminUrl}/healthz`).catch(() => undefined);
      return res?.ok === true;
    });
    this.rpc = new RpcClient(
      this.adminUrl,
      (await readFile(path.join(this.dataDir, "admin.token"), "utf8")).trim(),
    );
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.child && this.exitCode === null && this.exitSignal === null) {
      this.child.kill("SIGTERM");
      await this.exited;
    }
    return this.exitCode;
  }

  /** Crash: SIGKILL and wait. */
  async kill9(): Promise<void> {
    if (this.child && this.exitCode === null && this.exitSignal === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Starts again after kill9()/stop(), on the same directories. */
  async relaunch(): Promise<void> {
    await this.launch();
  }

  waitExit(): Promise<void> {
    return this.exited;
  }

  /**
   * What a failed test should print about this daemon: whether it runs,
   * answers /healthz, burns CPU (a spinning event loop answers nothing),
   * and the tail of its output.
   */
  async diagnose(tailChars = 8000): Promise<string> {
    const pid = this.child?.pid;
    const lines = [`--- ${this.host} (pid ${pid ?? "none"})`];
    if (this.exitCode !== null || this.exitSignal !== null) {
      lines.push(`exited: ${this.exitCode ?? this.exitSignal}`);
    } else if (pid !== undefined) {
      const cpuTicks = async () => {
        const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[11]) + Number(fields[12]); // utime + stime
      };
      const ticksBefore = await cpuTicks();
      const started = Date.now();
      const health = await fetch(`${this.adminUrl}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
        (res) => `HTTP ${res.status}`,
        (err: unknown) => `no answer (${(err as Error).message})`,
      );
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      const cpuPercent = ((await cpuTicks()) - ticksBefore) / ((Date.now() - started) / 1000);
      lines.push(
        `healthz: ${health} in ${Date.now() - started} ms; cpu ~${Math.round(cpuPercent)}% of a core`,
      );
    }
    lines.push(this.output.slice(-tailChars));
    return lines.join("\n");
  }

  /** Stops (SIGKILL if needed) and removes the directories. */
  async cleanup(): Promise<void> {
    await this.kill9();
    if (!this.options.baseDir) await rm(this.baseDir, { recursive: true, force: true });
  }
}

/**
 * One node of the simulated cluster: the real NodeCore (cluster state, peer
 * listener, resources, replication, JSON-RPC methods) over this node's
 * view of the simulated seams: a NodeClock on the cluster's SimClock, a
 * SimStorage view of its own SimDisk, a SimTransport on the SimNetwork.
 *
 * The application's side of the node is the frontend: `SimFrontend`
 * receives the volumes the node exports, as NBD or ublk would, and the
 * simulator's workload writes through them (the BlockVolume interface).
 *
 * crash(): the process dies (`kill`: the page cache survives) or the
 * machine loses power (`power`: only what was synced survives, the last
 * writes may tear). Its timers stop, its connections reset, its disk view
 * freezes; restart() runs the real start-up on what the disk holds.
 */
import path from "node:path";
import pino, { type Logger } from "pino";
import { defaultConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { inlineCompress } from "../../src/replication/compression.js";
import { NodeCore } from "../../src/daemon/node-core.js";
import type { DeviceInfo, Frontend } from "../../src/frontend/frontend.js";
import { FrontendSet } from "../../src/frontend/frontend-set.js";
import { Metrics } from "../../src/metrics/metrics.js";
import { seededRandom } from "../../src/platform/random.js";
import { makeDirectoryDurable } from "../../src/platform/storage/atomic-file.js";
import type { BlockVolume } from "../../src/resource/block-volume.js";
import type { Storage } from "../../src/platform/storage/types.js";
import { NodeClock } from "./node-clock.js";
import type { SimClock } from "./sim-clock.js";
import type { SimNetwork } from "./sim-network.js";
import type { SimStorage } from "./sim-storage.js";
import { type TearMode } from "./sim-storage.js";
import { SimTransport } from "./sim-transport.js";
import { NotStartedError } from "../../src/util/errors.js";

const SIM_PEER_PORT = 7700;

/** The node died while the simulator waited on it: whatever it was doing never finishes. */
export class NodeDownError extends Error {
  constructor(host: string) {
    super(`${host} is down`);
    this.name = "NodeDownError";
  }
}
const LOG_LINES_KEPT = 400;

/** The application's view: the volumes this node exports. */
class SimFrontend implements Frontend {
  readonly kind = "nbd" as const;
  readonly volumes = new Map<string, BlockVolume>();

  attach(volume: BlockVolume): Promise<DeviceInfo> {
    this.volumes.set(volume.name, volume);
    return Promise.resolve(this.device(volume.name) as DeviceInfo);
  }

  detach(name: string): Promise<void> {
    this.volumes.delete(name);
    return Promise.resolve();
  }

  device(name: string): DeviceInfo | undefined {
    return this.volumes.has(name) ? { kind: "nbd", export: name, uri: `sim://${name}` } : undefined;
  }
}

export interface SimNodeOptions {
  host: string;
  sim: SimClock;
  network: SimNetwork;
  storage: SimStorage;
  /** Seeds the node's Random (cluster ids, secrets, nonces, jitter): a run replays exactly. */
  seed: number;
  /** Settings on top of the defaults (small logs, fast status), the same for every node. */
  tune(config: DaemonConfig): void;
  /** A resource failed (it recovers by itself from its disk). */
  onResourceFailed?: (resource: string, err: unknown) => void;
  /** What the node's code sees of its disk (default: the SimStorage view itself); for fault tests. */
  present?: (storage: SimStorage) => Storage;
}

export class SimNode {
  readonly host: string;
  readonly config: DaemonConfig;
  storage: SimStorage;
  core: NodeCore | undefined;
  private time: NodeClock | undefined;
  private transport: SimTransport | undefined;
  private frontend = new SimFrontend();
  private readonly logLines: string[] = [];
  /** How many processes this node has started (each start is a new one). */
  generation = 0;
  private died: { promise: Promise<never>; reject(err: Error): void } = deferredDeath();

  constructor(private readonly options: SimNodeOptions) {
    this.host = options.host;
    this.storage = options.storage;
    const config = defaultConfig({ dataDir: "/var/lib/marsd", runDir: "/run/marsd" });
    config.host = options.host;
    config.peerListen = `${options.host}:${SIM_PEER_PORT}`;
    options.tune(config);
    this.config = config;
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  /** The volume this node exports for `name` (a primary's is writable). */
  volume(name: string): BlockVolume | undefined {
    return this.core ? this.frontend.volumes.get(name) : undefined;
  }

  /**
   * Whether `name` has failed in this process (before the manager reports
   * it: the failed resource stops exporting, closes its files, then says so).
   */
  resourceFailed(name: string): boolean {
    try {
      return this.core?.resources.get(name)?.state === "failed";
    } catch (err) {
      // Starting: no resource is loaded yet.
      if (err instanceof NotStartedError) return false;
      throw err;
    }
  }

  /** Runs the real start-up: cluster state, peer listener, every resource recovered. */
  async start(): Promise<void> {
    this.generation += 1;
    const time = new NodeClock(this.options.sim);
    const transport = new SimTransport(this.options.network, this.host);
    const frontends = new FrontendSet();
    this.frontend = new SimFrontend();
    frontends.add(this.frontend);
    frontends.markUnavailable("ublk", "simulated node");
    const core = new NodeCore({
      config: this.config,
      logger: this.logger(time),
      time,
      storage: this.options.present?.(this.storage) ?? this.storage,
      transport,
      // A new process draws anew, as a restarted daemon would (but the same on every replay).
      random: seededRandom(this.options.seed * 1000 + this.generation),
      // No process-wide default metrics: a simulated node is not a process (and they would pile up).
      metrics: new Metrics({ defaultMetrics: false }),
      frontends,
      onResourceFailed: (resource, err) => {
        // A process that died already cannot take its successor down with it.
        if (core !== this.core) return;
        // The resource recovers by itself (the process no longer exits); the simulator decides.
        this.log(`--- ${resource} failed: ${String(err)} ---`);
        this.options.onResourceFailed?.(resource, err);
      },
      // Inline: thread-pool work would complete outside virtual time, and a seed would not replay.
      compress: inlineCompress,
    });
    this.time = time;
    this.transport = transport;
    this.died = deferredDeath();
    this.core = core;
    await makeDirectoryDurable(this.config.dataDir, this.storage, { mode: 0o700 });
    await core.start();
  }

  /** The process dies (`kill`) or the machine loses power (`power`, with the disk's tear mode or `tear`). */
  crash(how: "kill" | "power", tear?: TearMode): void {
    if (!this.core) return;
    this.core = undefined;
    this.time?.halt();
    this.transport?.kill();
    this.frontend.volumes.clear();
    this.died.reject(new NodeDownError(this.host));
    this.storage = how === "kill" ? this.storage.kill() : this.storage.crash(tear);
    this.log(`--- ${how === "kill" ? "process killed" : "power lost"} ---`);
  }

  /** `work` on this node, or NodeDownError as soon as the node dies (a dead node's work never settles). */
  whileAlive<T>(work: Promise<T>): Promise<T> {
    if (!this.core) return Promise.reject(new NodeDownError(this.host));
    return Promise.race([work, this.died.promise]);
  }

  /** A JSON-RPC call through the real endpoint (params validated against api/openrpc.json). */
  async call(method: string, params: Record<string, unknown> = {}): Promise<RpcAnswer> {
    const core = this.core;
    if (!core) return { error: { code: -1, message: `${this.host} is down` } };
    let reply;
    try {
      reply = await this.whileAlive(
        core.rpc.handle(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), core),
      );
    } catch (err) {
      if (err instanceof NodeDownError) return { error: { code: -1, message: err.message } };
      throw err;
    }
    const body = reply.body as { result?: unknown; error?: { code: number; message: string } };
    return body.error ? { error: body.error } : { result: body.result };
  }

  /** The last lines this node logged, oldest first (for a failure report). */
  recentLog(lines = 60): string[] {
    return this.logLines.slice(-lines);
  }

  log(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > LOG_LINES_KEPT) this.logLines.splice(0, this.logLines.length - LOG_LINES_KEPT);
  }

  private logger(time: NodeClock): Logger {
    const generation = this.generation;
    return pino(
      {
        level: "info",
        base: { node: this.host, gen: generation },
        timestamp: () => `,"t":${time.monotonicMs()}`,
      },
      { write: (line: string) => this.log(line.trimEnd()) },
    );
  }

  /** Path of this node's backing disk for `resource` (the simulator creates it). */
  diskPath(resource: string): string {
    return path.join("/dev", `sim-${this.host}-${resource}`);
  }
}

function deferredDeath(): { promise: Promise<never>; reject(err: Error): void } {
  let reject: (err: Error) => void = () => {};
  const promise = new Promise<never>((_, r) => {
    reject = r;
  });
  promise.catch(() => {});
  return { promise, reject };
}

type RpcAnswer = { result: unknown; error?: undefined } | { error: { code: number; message: string } };

/**
 * The deterministic simulator: a whole marsd cluster (the real NodeCore of
 * every node) in one process, on one SimClock, each node on its own
 * SimDisk, all wired by one SimNetwork; a workload and faults drawn from
 * one seed; the invariants of issue 15 checked as it runs.
 *
 * A run, for a seed:
 * 1. start N nodes, form the cluster, create resource r0 on the first node
 *    (primary), join it everywhere;
 * 2. `steps` times: advance virtual time a seeded amount, keep a seeded
 *    number of writes in flight on every primary, and maybe start one
 *    operator action or fault (workload.ts);
 * 3. heal everything, restart every dead node, stop writing, and wait for
 *    the cluster to settle (liveness, checked only here, where the faults
 *    are over);
 * 4. check the final images and the cluster state.
 *
 * Safety checks run throughout (invariants.ts); the first violation ends
 * the run with SimViolation, which carries the seed, the step, the trace
 * of actions and every node's last log lines. The same seed replays the
 * same run, step for step: every input (time, network, disks, workload)
 * comes from the seed, and the code runs only on the simulated seams.
 */
import { blockBytes, BLOCK_BYTES } from "../helpers/versioned-blocks.js";
import { prng } from "../helpers/prng.js";
import type { DaemonConfig } from "../../src/daemon/config.js";
import type { Storage } from "../../src/platform/storage/types.js";
import { SimClock } from "./sim-clock.js";
import { SimNetwork } from "./sim-network.js";
import { SimStorage, type TearMode } from "./sim-storage.js";
import { NodeDownError, SimNode } from "./sim-node.js";
import { NotStartedError } from "../../src/util/errors.js";
import { History, type WriteRecord } from "./history.js";
import { Invariants, SimViolation } from "./invariants.js";
import { Workload } from "./workload.js";

export const RESOURCE = "r0";

export interface SimOptions {
  seed: number;
  nodes?: number;
  /** Workload steps before the final settling (default 200). */
  steps?: number;
  /** Blocks of the replicated volume (4 KiB each; default 256, the smallest volume marsd takes). */
  blocks?: number;
  /** Print each action as it happens. */
  verbose?: boolean;
  /** What a node's code sees of its disk (fault tests: a disk that lies about flushes). */
  present?: (host: string, storage: SimStorage) => Storage;
}

export interface SimReport {
  seed: number;
  steps: number;
  virtualMs: number;
  writesAcked: number;
  writesSent: number;
  actions: Record<string, number>;
  histories: number;
}

const HOSTS = ["alpha", "bravo", "charlie", "delta", "echo"];
const TEAR_MODES: readonly TearMode[] = ["none", "last-write", "any-sectors"];
/** Virtual time the cluster gets to settle after the faults end. */
const SETTLE_MS = 180_000;

/** Small logs (rotation and deletion happen often) and fast status, the same on every node. */
function tune(config: DaemonConfig): void {
  config.log.rotateBytes = 64 * 1024;
  // Preallocation still runs, at the scale of these small files (a simulated disk holds every byte in memory).
  config.log.preallocateBytes = 128 * 1024;
  config.log.checkpointIntervalMs = 1_000;
  config.replication.statusPublishMs = 200;
  config.replication.heartbeatMs = 500;
  config.replication.listWaitMs = 1_000;
  config.peer.syncIntervalMs = 1_000;
  config.peer.retryMaxMs = 2_000;
  config.peer.aliveWindowMs = 5_000;
  config.peer.requestTimeoutMs = 5_000;
  // Space safety at the same scale: a member down or cut off for a while is cut loose (and
  // rejoins by a region resync), emergency mode retries logging every second.
  config.lagging = { maxLagBytes: 1024 * 1024, maxLagSeconds: 60 };
  config.emergency = { enabled: true, dirtyGranularityBytes: 16 * 1024, retryMs: 1_000 };
}

export class Simulator {
  readonly seed: number;
  readonly random: () => number;
  readonly sim: SimClock;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly blocks: number;
  readonly invariants: Invariants;
  readonly trace: string[] = [];
  readonly actions: Record<string, number> = {};
  /** Each node's primary history, while the simulator believes it is primary. */
  readonly historyOf = new Map<string, History>();
  readonly histories: History[] = [];
  step = 0;
  writesSent = 0;
  writesAcked = 0;
  private nextWriteId = 1;
  private readonly inFlightBlocks = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private failure: SimViolation | undefined;

  constructor(readonly options: SimOptions) {
    this.seed = options.seed;
    this.random = prng(options.seed);
    this.blocks = options.blocks ?? 256;
    this.sim = new SimClock({ startWallMs: 1_700_000_000_000 + Math.floor(this.random() * 1e9) });
    this.network = new SimNetwork({ time: this.sim, seed: Math.floor(this.random() * 2 ** 31) });
    const count = options.nodes ?? 3;
    const slowDisks = this.random() < 0.5;
    for (const host of HOSTS.slice(0, count)) {
      // Each disk its tear mode; half of the runs also slow syncs, and some disks a latency per
      // operation (operations finish out of order). Both cost a timer per operation: 4-7x the run time.
      const slow = slowDisks ? { clock: this.sim, delayMs: 1 + Math.floor(this.random() * 12) } : undefined;
      const latency =
        slowDisks && this.random() < 0.5
          ? { clock: this.sim, maxMs: 1 + Math.floor(this.random() * 2) }
          : undefined;
      const storage = new SimStorage({
        seed: Math.floor(this.random() * 2 ** 31),
        clock: this.sim,
        ...(slow ? { slowSync: slow } : {}),
        ...(latency ? { latency } : {}),
        tear: TEAR_MODES[Math.floor(this.random() * TEAR_MODES.length)] as TearMode,
      });
      const seed = Math.floor(this.random() * 2 ** 31);
      const present = options.present;
      this.nodes.push(
        new SimNode({
          host,
          sim: this.sim,
          network: this.network,
          storage,
          seed,
          tune,
          onResourceFailed: (resource, err) => this.resourceFailed(host, resource, err),
          ...(present ? { present: (s: SimStorage) => present(host, s) } : {}),
        }),
      );
    }
    this.invariants = new Invariants(this);
  }

  /**
   * The network of this run, every directed link on its own: a one-way
   * delay from LAN to long distance with jitter, sometimes a bandwidth cap,
   * chunks cut at seeded places, a slow reader, and in some runs resets.
   */
  private shapeLinks(): void {
    const r = this.random;
    const latencyMs = [0, 1, 5, 25, 100][Math.floor(r() * 5)] as number;
    const resetProbability = r() < 0.3 ? 0.002 : 0;
    for (const from of this.nodes) {
      for (const to of this.nodes) {
        if (from === to) continue;
        this.network.setLink(from.host, to.host, {
          latencyMs,
          jitterMs: Math.floor(r() * (latencyMs / 2 + 1)),
          bytesPerSecond: r() < 0.5 ? undefined : (1 + Math.floor(r() * 16)) * 1024 * 1024,
          resetProbability,
          readerDelayMs: r() < 0.1 ? Math.floor(r() * 5) : 0,
          maxSegmentBytes: r() < 0.3 ? 512 + Math.floor(r() * 64 * 1024) : undefined,
        });
      }
    }
  }

  /** No link resets a connection any more (the end of the faults). */
  endResets(): void {
    for (const from of this.nodes)
      for (const to of this.nodes)
        if (from !== to) this.network.setLink(from.host, to.host, { resetProbability: 0 });
  }

  node(host: string): SimNode {
    const n = this.nodes.find((x) => x.host === host);
    if (!n) throw new Error(`no node ${host}`);
    return n;
  }

  note(line: string): void {
    const entry = `[step ${this.step} t=${this.sim.monotonicMs()}ms] ${line}`;
    this.trace.push(entry);
    if (this.options.verbose) console.log(entry);
    for (const n of this.nodes) n.log(`### ${entry}`);
  }

  count(action: string): void {
    this.actions[action] = (this.actions[action] ?? 0) + 1;
  }

  /** Runs a task beside the workload (an operator action, a restart); its failure ends the run. */
  spawn(what: string, task: () => Promise<void>): void {
    const p = task()
      .catch((err: unknown) => {
        if (err instanceof NodeDownError) return; // the node died under it: nothing to check
        this.failure ??= err instanceof SimViolation ? err : new SimViolation(`${what}: ${String(err)}`, err);
      })
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /** Nodes whose disks got a fault injected: a resource failing there is expected (it recovers by itself). */
  readonly faultsInjected = new Set<string>();
  /** Nodes with a resource failed and recovering in place (not stepped down: it will serve again). */
  readonly recovering = new Set<string>();

  private resourceFailed(host: string, resource: string, err: unknown): void {
    if (!this.faultsInjected.has(host)) {
      this.fail(
        new SimViolation(`${host}: ${resource} failed without an injected fault: ${String(err)}`, err),
      );
      return;
    }
    this.count("resource-failed");
    this.note(`${host}: ${resource} failed (${String(err)}); it recovers from its disk`);
    this.recovering.add(host);
  }

  /** Ends the run with `violation` at the next check (for checks made inside callbacks). */
  fail(violation: SimViolation): void {
    this.failure ??= violation;
  }

  get busy(): boolean {
    return this.background.size > 0;
  }

  /** Advances virtual time, checking the invariants each step of the way. */
  async advance(ms: number): Promise<void> {
    const until = this.sim.monotonicMs() + ms;
    while (this.sim.monotonicMs() < until) {
      await this.sim.advance(Math.min(50, until - this.sim.monotonicMs()));
      if (this.failure) throw this.failure;
      await this.invariants.observe();
    }
  }

  /** Runs virtual time until `condition` holds or `maxMs` passed; returns whether it held. */
  async waitFor(condition: () => boolean | Promise<boolean>, maxMs: number): Promise<boolean> {
    const until = this.sim.monotonicMs() + maxMs;
    for (;;) {
      if (await condition()) return true;
      if (this.sim.monotonicMs() >= until) return false;
      await this.advance(100);
    }
  }

  /** Sends one write of a free block to a primary `host`; records it in that node's history. */
  write(host: string): void {
    const node = this.node(host);
    const history = this.historyOf.get(host);
    const volume = node.volume(RESOURCE);
    if (!history || !volume || !this.invariants.writable(host)) return;
    const free = [];
    for (let b = 0; b < this.blocks; b++) if (!this.inFlightBlocks.has(`${host}/${b}`)) free.push(b);
    if (free.length === 0) return;
    const block = free[Math.floor(this.random() * free.length)] as number;
    const record: WriteRecord = { id: this.nextWriteId++, block, node: host, status: "inflight" };
    history.add(record);
    this.writesSent += 1;
    const key = `${host}/${block}`;
    this.inFlightBlocks.add(key);
    volume.write(block * BLOCK_BYTES, blockBytes(block, record.id)).then(
      () => {
        this.inFlightBlocks.delete(key);
        record.status = "acked";
        this.writesAcked += 1;
        this.invariants.acked(host, record);
      },
      () => {
        this.inFlightBlocks.delete(key);
        record.status = "unknown";
      },
    );
  }

  /** The writes in flight on `host` can no longer be acknowledged (the node died). */
  forgetInFlight(host: string): void {
    for (const key of [...this.inFlightBlocks])
      if (key.startsWith(`${host}/`)) this.inFlightBlocks.delete(key);
    const history = this.historyOf.get(host);
    for (const w of history?.writes ?? [])
      if (w.status === "inflight" && w.node === host) w.status = "unknown";
  }

  newHistory(base: readonly number[], origin: string): History {
    const history = new History(this.histories.length, base, origin);
    this.histories.push(history);
    return history;
  }

  async run(): Promise<SimReport> {
    try {
      await this.start();
      const workload = new Workload(this);
      for (this.step = 1; this.step <= (this.options.steps ?? 200); this.step++) {
        await workload.step();
      }
      this.step += 1;
      await workload.settle(SETTLE_MS);
      await this.invariants.final();
      // The operator resolves every split brain for the history that serves;
      // after that every member must follow it, equal to its primary.
      if (await workload.resolveSplitBrains()) {
        await workload.settle(SETTLE_MS);
        await this.invariants.final({ splitBrainAllowed: false });
      }
    } catch (err) {
      throw this.explain(err);
    } finally {
      this.shutdown();
    }
    return {
      seed: this.seed,
      steps: this.options.steps ?? 200,
      virtualMs: this.sim.monotonicMs(),
      writesAcked: this.writesAcked,
      writesSent: this.writesSent,
      actions: this.actions,
      histories: this.histories.length,
    };
  }

  /** Every node's process ends (what is left of a run is garbage). */
  shutdown(): void {
    for (const n of this.nodes) n.crash("kill");
  }

  /** Cluster of every node, r0 created on the first (primary) and joined on the others, all UpToDate. */
  async start(): Promise<void> {
    for (const n of this.nodes) {
      await this.settled("making the disks", n.storage.makeDirectory("/dev"));
      await this.settled(
        "making the disks",
        n.storage.createBlockDevice(n.diskPath(RESOURCE), this.blocks * BLOCK_BYTES),
      );
      await this.settled(`start ${n.host}`, n.start());
    }
    const [first, ...others] = this.nodes as [SimNode, ...SimNode[]];
    const created = (await this.rpcOk(first, "cluster.create")) as { secret: string };
    for (const n of others) {
      await this.rpcOk(n, "cluster.join", {
        peer: `${first.host}:${first.config.peerListen.split(":")[1]}`,
        secret: created.secret,
      });
    }
    this.invariants.takeovers.set(first.host, { kind: "create" });
    await this.rpcOk(first, "resource.create", { name: RESOURCE, disk: first.diskPath(RESOURCE) });
    for (const n of others)
      await this.rpcOk(n, "resource.join", { name: RESOURCE, disk: n.diskPath(RESOURCE) });
    const ready = await this.waitFor(async () => {
      if (!this.historyOf.has(first.host)) return false;
      for (const n of others) {
        const st = (await n.call("resource.status", { name: RESOURCE })) as {
          result?: { diskState?: string };
        };
        if (st.result?.diskState !== "UpToDate") return false;
      }
      return true;
    }, 60_000);
    if (!ready) throw new SimViolation("set-up: the secondaries did not become UpToDate within 60 s");
    this.note(`set up: ${this.nodes.map((n) => n.host).join(", ")}; ${first.host} primary`);
    // The set-up ran on a clean network; the run's own network starts now.
    this.shapeLinks();
  }

  /** An RPC that must succeed (set-up). */
  async rpcOk(node: SimNode, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const answer = await this.settled(`${method} on ${node.host}`, node.call(method, params));
    if (answer.error) throw new SimViolation(`${method} on ${node.host}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  }

  /** Advances virtual time until `promise` settles (at most 10 virtual minutes). */
  async settled<T>(what: string, promise: Promise<T>): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    const ok = await this.waitFor(() => done, 600_000);
    if (!ok) throw new SimViolation(`${what} did not finish within 10 minutes of virtual time`);
    return tracked;
  }

  private explain(err: unknown): SimViolation {
    const violation = err instanceof SimViolation ? err : new SimViolation(String(err), err);
    violation.seed = this.seed;
    violation.step = this.step;
    violation.trace = this.trace.slice(-40);
    violation.logs = Object.fromEntries(
      this.nodes.map((n) => [
        n.host,
        [
          // Who each node believes is designated, and since when (the entry that decides roles).
          `designation entry: ${designationEntry(n)}`,
          ...n.recentLog(40),
        ],
      ]),
    );
    return violation;
  }
}

/** What `node` holds as the designation (the entry that decides roles), for a failure's explanation. */
function designationEntry(node: SimNode): string {
  try {
    return JSON.stringify(node.core?.cluster.state.get(`resource/${RESOURCE}/primary`) ?? "(down)");
  } catch (err) {
    // Restarting: its cluster layer is not up yet (an explanation must not fail itself).
    if (err instanceof NotStartedError) return "(starting)";
    throw err;
  }
}

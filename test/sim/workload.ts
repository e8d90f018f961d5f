/**
 * What happens to the simulated cluster, drawn from the seed: writes on
 * every primary, and now and then one operator action or fault:
 *
 * - a planned handover (`resource.primary` on a secondary);
 * - a forced failover (the primary cut off both ways, `--force` elsewhere);
 * - a crash of any node (process kill or power loss) and its restart later;
 * - a partition of one link, one way or both, healed later;
 * - a log rotation, a log deletion;
 * - an inspection: replay paused on a consistent secondary, its disk read
 *   and checked, replay resumed.
 *
 * Every RPC goes through the real JSON-RPC endpoint; an answer -32603
 * (internal error) is a violation: an expected refusal has its own code.
 */
import { SimViolation, type Takeover } from "./invariants.js";
import type { SimNode } from "./sim-node.js";
import type { SimOp } from "./sim-storage.js";
import { RESOURCE, type Simulator } from "./simulator.js";

const INTERNAL_ERROR = -32603;
/** resource.primary waited for the take-over in vain: the node is designated all the same. */
const WAIT_TIMEOUT = 1024;

type Action =
  "handover" | "force" | "crash" | "partition" | "heal" | "rotate" | "delete" | "inspect" | "diskfault";

const WEIGHTS: Record<Action, number> = {
  handover: 4,
  force: 1,
  crash: 3,
  partition: 3,
  heal: 2,
  rotate: 2,
  delete: 2,
  inspect: 3,
  diskfault: 2,
};

/** Where an injected disk fault lands: a log file, the backing disk, or a metadata file. */
const FAULT_TARGETS: ReadonlyArray<{ path: RegExp; ops: SimOp[] }> = [
  { path: /\/log-\d+-/, ops: ["writev", "datasync"] },
  { path: /^\/dev\/sim-/, ops: ["writeRanges", "writev", "datasync"] },
  { path: /\.json$/, ops: ["writev", "datasync"] },
];

export class Workload {
  private readonly partitions = new Set<string>();
  /** Writes kept in flight per primary (drawn per run). */
  private readonly depth: number;

  constructor(private readonly sim: Simulator) {
    this.depth = 1 + Math.floor(sim.random() * 8);
  }

  async step(): Promise<void> {
    const { sim } = this;
    this.writeAll();
    if (!sim.busy && sim.random() < 0.25) this.startAction(this.pick());
    await this.maybeHealed();
    await sim.advance(20 + Math.floor(sim.random() * 600));
  }

  /** Ends the faults, restarts every dead node, stops writing, and waits for the end state. */
  async settle(maxMs: number): Promise<void> {
    const { sim } = this;
    sim.note("settling: healing every link, restarting every node, no more writes");
    await sim.waitFor(() => !sim.busy, 120_000);
    if (sim.busy)
      throw new SimViolation("operator actions still running two minutes after the workload ended");
    this.healAll();
    // Connection resets end too: at the rate some runs draw (one per 500 packets,
    // cut into segments of a few hundred bytes) no 1 MiB chunk of a resync ever
    // got through, however long the cluster had (seed 1010164).
    sim.endResets();
    // Disk faults armed and not yet fired end too: a fault after "settled" would fail the check.
    for (const node of sim.nodes) node.storage.clearFaultRules();
    for (const node of sim.nodes) if (!node.alive) await this.restart(node);
    const servingOne = () => {
      const serving = sim.nodes.filter((n) => sim.invariants.serves(n));
      return serving.length === 1 ? serving[0] : undefined;
    };
    const isSettled = async (): Promise<boolean> => {
      const primary = servingOne();
      if (!primary) return false;
      for (const node of sim.nodes) {
        const status = await sim.invariants.status(node);
        // Every node names the one that serves (an old primary that has not heard yet still serves).
        if (status.designatedPrimary !== primary.host) return false;
        if (node === primary) continue;
        if (!status.splitBrain?.detected && status.diskState !== "UpToDate") return false;
      }
      // Asking took virtual time: the same node must still be the one primary.
      return servingOne() === primary;
    };
    let settled = await sim.waitFor(isSettled, maxMs / 2);
    // A planned handover blocked by a split brain waits for the operator: the
    // simulated one keeps the forced failover's history, by forcing a node of it.
    if (!settled && (await this.forceBlockedHandoverBack()))
      settled = await sim.waitFor(isSettled, maxMs / 2);
    if (settled) {
      sim.invariants.forceActive = false;
      sim.note("settled");
    }
    await this.stateConverged();
  }

  /**
   * resource.resolveSplitBrain for the node that serves, on every node
   * (the winner answers changed: false). Whether any node rolled back.
   */
  async resolveSplitBrains(): Promise<boolean> {
    const { sim } = this;
    const primary = sim.nodes.find((n) => sim.invariants.serves(n));
    if (!primary) return false;
    let rolledBack = false;
    for (const node of sim.nodes) {
      if (!(await sim.invariants.status(node)).splitBrain?.detected) continue;
      sim.note(`operator: resolving ${node.host}'s split brain for ${primary.host}`);
      const answer = await sim.settled(
        `resource.resolveSplitBrain on ${node.host}`,
        node.call("resource.resolveSplitBrain", { name: RESOURCE, winner: primary.host }),
      );
      if (answer.error)
        throw new SimViolation(`resolving ${node.host}'s split brain was refused: ${answer.error.message}`);
      sim.note(`resource.resolveSplitBrain on ${node.host}: ${JSON.stringify(answer.result)}`);
      if ((answer.result as { changed: boolean }).changed) {
        sim.count("resolve-split-brain");
        rolledBack = true;
      }
    }
    return rolledBack;
  }

  /** If a take-over waits on a split brain with the history a forced failover chose, forces a node of that history. */
  private async forceBlockedHandoverBack(): Promise<boolean> {
    const { sim } = this;
    for (const node of sim.nodes) {
      const status = await sim.invariants.status(node);
      const from = /split brain with (\S+): its history is the one a forced failover chose/.exec(
        status.takeOverBlockedBy ?? "",
      )?.[1];
      if (!from) continue;
      sim.note(
        `operator: ${node.host}'s handover waits on a split brain; forcing ${from}, which holds the chosen history`,
      );
      sim.invariants.forceActive = true;
      sim.invariants.takeovers.set(from, { kind: "force" });
      const answer = await sim.settled(
        `resource.primary --force on ${from}`,
        sim.node(from).call("resource.primary", { name: RESOURCE, force: true }),
      );
      if (answer.error) throw new SimViolation(`forcing ${from} back was refused: ${answer.error.message}`);
      return true;
    }
    return false;
  }

  private writeAll(): void {
    const { sim } = this;
    for (const host of sim.historyOf.keys()) {
      const count = Math.floor(sim.random() * (this.depth + 1));
      for (let i = 0; i < count; i++) sim.write(host);
    }
  }

  private pick(): Action {
    const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
    let r = this.sim.random() * total;
    for (const [action, weight] of Object.entries(WEIGHTS) as Array<[Action, number]>) {
      r -= weight;
      if (r < 0) return action;
    }
    return "inspect";
  }

  private any<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.sim.random() * items.length)];
  }

  private alive(): SimNode[] {
    return this.sim.nodes.filter((n) => n.alive);
  }

  private startAction(action: Action): void {
    const { sim } = this;
    const alive = this.alive();
    const primary = sim.nodes.find((n) => sim.invariants.serves(n));
    const secondaries = alive.filter((n) => n !== primary && !sim.invariants.serves(n));
    switch (action) {
      case "handover": {
        const target = this.any(secondaries);
        if (!target) return;
        this.askPrimary(
          action,
          target,
          { kind: "handover", from: sim.invariants.designated },
          { timeoutMs: 20_000 },
        );
        return;
      }
      case "force": {
        const target = this.any(secondaries);
        if (!target || !primary) return;
        for (const other of sim.nodes) if (other !== primary) this.cut(primary.host, other.host, true);
        sim.invariants.forceActive = true;
        this.askPrimary(action, target, { kind: "force" }, { force: true });
        return;
      }
      case "crash": {
        if (alive.length < sim.nodes.length) return; // one node down at a time
        const node = this.any(alive) as SimNode;
        const how = sim.random() < 0.5 ? "kill" : "power";
        sim.count(`crash-${how}`);
        sim.note(`${how === "kill" ? "kill -9" : "power loss"} on ${node.host}`);
        node.crash(how);
        sim.forgetInFlight(node.host);
        const downMs = 500 + Math.floor(sim.random() * 15_000);
        sim.spawn(`restart of ${node.host}`, async () => {
          await sim.sim.sleep(downMs);
          await this.restart(node);
        });
        return;
      }
      case "partition": {
        const [a, b] = [this.any(sim.nodes), this.any(sim.nodes)] as [SimNode, SimNode];
        if (a === b) return;
        const both = sim.random() < 0.5;
        this.cut(a.host, b.host, both);
        const healMs = 500 + Math.floor(sim.random() * 20_000);
        sim.spawn(`heal of ${a.host}-${b.host}`, async () => {
          await sim.sim.sleep(healMs);
          this.heal(a.host, b.host);
          if (both) this.heal(b.host, a.host);
        });
        return;
      }
      case "heal":
        this.healAll();
        return;
      case "rotate":
        if (primary?.alive) this.rpcAction(action, primary, "resource.logRotate", { name: RESOURCE });
        return;
      case "delete": {
        const node = this.any(alive);
        if (node) this.rpcAction(action, node, "resource.logDelete", { name: RESOURCE });
        return;
      }
      case "diskfault": {
        const node = this.any(alive);
        if (!node) return;
        const target = this.any(FAULT_TARGETS) as (typeof FAULT_TARGETS)[number];
        const op = this.any(target.ops) as SimOp;
        const code = sim.random() < 0.5 ? "EIO" : "ENOSPC";
        const afterMatches = Math.floor(sim.random() * 20);
        sim.count("diskfault");
        sim.note(`disk fault on ${node.host}: ${code} on the ${afterMatches + 1}th ${op} of ${target.path}`);
        sim.faultsInjected.add(node.host);
        node.storage.addFaultRule({ ops: [op], path: target.path, code, afterMatches, times: 1 });
        return;
      }
      case "inspect": {
        const node = this.any(secondaries);
        if (node) sim.spawn(`inspection of ${node.host}`, () => this.inspect(node));
        return;
      }
    }
  }

  /**
   * resource.primary on `node`, expecting `takeover`. Refused outright,
   * nothing changed: the take-over expected before it stands again (a
   * handover done but not yet served, its resource failed and recovering,
   * then a second request refused for that: seed 840050).
   */
  private askPrimary(
    action: Action,
    node: SimNode,
    requested: Takeover,
    params: Record<string, unknown>,
  ): void {
    const { takeovers } = this.sim.invariants;
    const before = takeovers.get(node.host);
    // Designated here by a forced failover that has not served yet: a
    // planned request changes nothing, the take-over still goes through the
    // cut (simulator seed 860216).
    const takeover = before?.kind === "force" && requested.kind === "handover" ? before : requested;
    takeovers.set(node.host, takeover);
    this.rpcAction(action, node, "resource.primary", { name: RESOURCE, ...params }, () => {
      if (takeovers.get(node.host) !== takeover) return;
      if (before) takeovers.set(node.host, before);
      else takeovers.delete(node.host);
    });
  }

  /**
   * An operator command; refusals are fine, an internal error is not.
   * `refused` runs when nothing changed: refused outright, or done with
   * `changed: false` (already primary in its own view: seed 870046, a
   * partitioned old primary that never heard of a forced failover).
   */
  private rpcAction(
    action: Action,
    node: SimNode,
    method: string,
    params: Record<string, unknown>,
    refused?: () => void,
  ): void {
    const { sim } = this;
    sim.count(action);
    sim.note(`${action}: ${method} ${JSON.stringify(params)} on ${node.host}`);
    sim.spawn(`${method} on ${node.host}`, async () => {
      const answer = await node.call(method, params);
      if (answer.error) {
        if (answer.error.code === INTERNAL_ERROR) {
          throw new SimViolation(
            `${method} on ${node.host} answered an internal error: ${answer.error.message}`,
          );
        }
        sim.note(`${method} on ${node.host} refused: ${answer.error.code} ${answer.error.message}`);
        // Refused outright, nothing changed; after a timed-out wait the designation stands.
        if (answer.error.code !== WAIT_TIMEOUT) refused?.();
      } else {
        const changed = (answer.result as { changed?: unknown } | undefined)?.changed;
        sim.note(`${method} on ${node.host}: done${changed === false ? " (nothing changed)" : ""}`);
        if (changed === false) refused?.();
      }
    });
  }

  /** Replay paused on a consistent secondary, its disk checked, replay resumed. */
  private async inspect(node: SimNode): Promise<void> {
    const { sim } = this;
    const paused = await node.call("resource.pause", { name: RESOURCE, what: "replay" });
    if (paused.error) return; // not a member any more, or down
    try {
      const status = await sim.invariants.status(node);
      if (status.role === "secondary" && status.consistent && node.alive) {
        sim.count("inspect");
        await sim.invariants.checkSecondary(node, `inspection at step ${sim.step}`);
      }
    } finally {
      // As an operator would: a resume refused while the resource recovers is tried again.
      for (let attempt = 0; node.alive && attempt < 30; attempt++) {
        const resumed = await node.call("resource.resume", { name: RESOURCE, what: "replay" });
        if (!resumed.error) break;
        await sim.sim.sleep(1_000);
      }
    }
  }

  /** Starts a dead node; a start that an injected disk fault broke is tried again, as systemd would. */
  private async restart(node: SimNode): Promise<void> {
    for (let attempt = 1; !node.alive; attempt++) {
      this.sim.note(`restart of ${node.host}`);
      try {
        await this.sim.settled(`start of ${node.host}`, node.start());
      } catch (err) {
        if (!this.sim.faultsInjected.has(node.host) || attempt >= 5) {
          throw new SimViolation(`${node.host} failed to start: ${String(err)}`, err);
        }
        this.sim.note(`${node.host} failed to start after an injected fault (${String(err)}); again in 1 s`);
        node.crash("kill");
        await this.sim.sim.sleep(1_000);
      }
    }
  }

  private cut(from: string, to: string, both: boolean): void {
    this.sim.note(`partition ${from} ${both ? "<->" : "->"} ${to}`);
    this.sim.count("partition");
    this.sim.network.partition(from, to);
    this.partitions.add(`${from}>${to}`);
    if (both) {
      this.sim.network.partition(to, from);
      this.partitions.add(`${to}>${from}`);
    }
  }

  private heal(from: string, to: string): void {
    if (!this.partitions.delete(`${from}>${to}`)) return;
    this.sim.network.heal(from, to);
    this.sim.note(`heal ${from} -> ${to}`);
  }

  private healAll(): void {
    for (const link of [...this.partitions]) {
      const [from, to] = link.split(">") as [string, string];
      this.heal(from, to);
    }
  }

  /** A forced split has healed once every node is up, every link heals, one node serves and all agree on it. */
  private async maybeHealed(): Promise<void> {
    const { sim } = this;
    if (!sim.invariants.forceActive || this.partitions.size > 0 || sim.busy) return;
    if (sim.nodes.some((n) => !n.alive)) return;
    const serving = sim.nodes.filter((n) => sim.invariants.serves(n));
    if (serving.length !== 1) return;
    for (const node of sim.nodes) {
      const status = await sim.invariants.status(node);
      if (status.designatedPrimary !== serving[0]?.host) return;
    }
    sim.invariants.forceActive = false;
    sim.note(`the forced split healed: ${serving[0]?.host} is the one primary`);
  }

  /** Every node's copy of the cluster state is the same (within 60 s of virtual time). */
  private async stateConverged(): Promise<void> {
    const { sim } = this;
    let last = "";
    const same = await sim.waitFor(async () => {
      const copies: string[] = [];
      for (const node of sim.nodes) {
        const answer = await sim.settled(`state.get on ${node.host}`, node.call("state.get", { prefix: "" }));
        if (answer.error) return false;
        const entries = (answer.result as { entries: Array<{ key: string; value: unknown }> }).entries;
        copies.push(JSON.stringify(entries.map((e) => [e.key, e.value]).sort()));
      }
      last = copies.map((c, i) => `${sim.nodes[i]?.host}: ${c.length} chars`).join(", ");
      return copies.every((c) => c === copies[0]);
    }, 60_000);
    if (!same) throw new SimViolation(`the cluster state did not converge after the heal (${last})`);
  }
}

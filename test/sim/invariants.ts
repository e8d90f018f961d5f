/**
 * The invariants of issue 15, checked on the real nodes of a Simulator:
 *
 * - no write acknowledged by a primary is lost on that node (a restarted
 *   primary's disk keeps every acknowledged write), nor on the new primary
 *   after a planned handover (its disk, when it starts serving, holds every
 *   write the old primary acknowledged, late acknowledgements included);
 * - every consistent secondary's disk is a prefix of a primary's history,
 *   and every forced primary starts from such a disk: divergent histories
 *   are never merged;
 * - never two primaries serving at once unless a forced failover made the
 *   split (and not after it has healed);
 * - at the end, after every fault healed: one primary, every other node
 *   either UpToDate with a disk equal to the primary's, or reporting a split
 *   brain (and a node whose disk is not a prefix of the primary's history
 *   must be one of those); every node's cluster state is the same.
 *
 * Safety checks run all the time; liveness (the end state) only once the
 * faults are over.
 */
import { createHash } from "node:crypto";
import { BLOCK_BYTES, decodeBlock } from "../helpers/versioned-blocks.js";
import type { History, Image, WriteRecord } from "./history.js";
import { VolumeFailedError } from "../../src/resource/block-volume.js";
import { NodeDownError, type SimNode } from "./sim-node.js";
import { RESOURCE, type Simulator } from "./simulator.js";

export class SimViolation extends Error {
  seed = 0;
  step = 0;
  trace: string[] = [];
  logs: Record<string, string[]> = {};

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "SimViolation";
  }

  /** The whole report: what broke, how to replay it, what led there. */
  report(): string {
    const logs = Object.entries(this.logs)
      .map(([host, lines]) => `--- ${host}, last log lines ---\n${lines.join("\n")}`)
      .join("\n");
    const cause = this.cause instanceof Error ? `\ncause: ${this.cause.stack ?? this.cause.message}` : "";
    return (
      `simulator seed ${this.seed} failed at step ${this.step}: ${this.message}${cause}\n` +
      `replay: npm run sim -- --seed ${this.seed}\n` +
      `--- last actions ---\n${this.trace.join("\n")}\n${logs}`
    );
  }
}

export type Takeover =
  { kind: "create" } | { kind: "handover"; from: History | undefined } | { kind: "force" };

/** Reads every block of `node`'s volume (a primary's: reads see every acknowledged write). */
async function readImage(node: SimNode, blocks: number): Promise<number[]> {
  const volume = node.volume(RESOURCE);
  if (!volume) throw new SimViolation(`${node.host} exports no volume to read`);
  const image: number[] = [];
  const buffer = Buffer.alloc(BLOCK_BYTES);
  for (let b = 0; b < blocks; b++) {
    await node.whileAlive(volume.read(b * BLOCK_BYTES, buffer));
    image.push(decoded(node.host, buffer, b));
  }
  return image;
}

/** Reads `node`'s backing disk directly (a secondary's replay target). */
async function readDisk(node: SimNode, blocks: number): Promise<number[]> {
  const file = await node.whileAlive(node.storage.open(node.diskPath(RESOURCE), "read"));
  try {
    const image: number[] = [];
    const buffer = Buffer.alloc(BLOCK_BYTES);
    for (let b = 0; b < blocks; b++) {
      await node.whileAlive(file.read(buffer, b * BLOCK_BYTES));
      image.push(decoded(node.host, buffer, b));
    }
    return image;
  } finally {
    if (node.alive) await node.whileAlive(file.close()).catch(() => {});
  }
}

/**
 * Expected block contents already computed (a block's check costs 129
 * hashes otherwise). Bounded: a long run of many seeds must not grow it.
 */
const knownBlocks = new Map<string, number>();
const KNOWN_BLOCKS_MAX = 100_000;

function decoded(host: string, buffer: Buffer, block: number): number {
  if (buffer.readUInt32LE(0) === 0 && buffer.every((b) => b === 0)) return 0;
  const cacheKey = `${block}:${createHash("sha256").update(buffer).digest("base64")}`;
  const known = knownBlocks.get(cacheKey);
  if (known !== undefined) return known;
  const v = decodeBlock(buffer, block);
  if (typeof v === "string") throw new SimViolation(`${host}: block ${block} is damaged (${v})`);
  if (knownBlocks.size >= KNOWN_BLOCKS_MAX) knownBlocks.clear();
  knownBlocks.set(cacheKey, v);
  return v;
}

export class Invariants {
  /** Whether each node served at the last look, and in which of its processes. */
  private readonly serving = new Map<string, { serves: boolean; generation: number }>();
  private readonly checking = new Set<string>();
  /** Operator actions that make a node primary, until it is. */
  readonly takeovers = new Map<string, Takeover>();
  /** The history of the primary operators made last (a handover hands this one over). */
  designated: History | undefined;
  /** A forced failover happened and the split has not healed yet: two primaries are allowed. */
  forceActive = false;
  /** A planned handover's old history and the image its successor started from (late acknowledgements are checked against it). */
  private readonly handedOver = new Map<History, { host: string; image: Image }>();

  constructor(private readonly sim: Simulator) {}

  /** Is `host` serving writes (its volume writable)? */
  serves(node: SimNode): boolean {
    return node.volume(RESOURCE)?.writable === true;
  }

  /** Called after each slice of virtual time. */
  async observe(): Promise<void> {
    const servingNow: string[] = [];
    for (const node of this.sim.nodes) {
      const now = this.serves(node);
      if (now) servingNow.push(node.host);
      const last = this.serving.get(node.host);
      const before = last?.serves ?? false;
      this.serving.set(node.host, { serves: now, generation: node.generation });
      const sameProcess = last?.generation === node.generation;
      // Serving in a new process counts as starting to serve, even if no look saw it stop.
      if (now && (!before || !sameProcess)) await this.becamePrimary(node);
      // Not serving any more in the same process: it stepped down (a restart is no step-down).
      // Failed: the export goes away a moment before the failure is reported (seed 950142).
      const failedInPlace = this.sim.recovering.has(node.host) || node.resourceFailed(RESOURCE);
      if (
        !now &&
        before &&
        sameProcess &&
        !failedInPlace &&
        node.alive &&
        this.sim.historyOf.has(node.host)
      ) {
        this.sim.note(`${node.host} stopped serving (stepped down)`);
        this.sim.historyOf.delete(node.host);
      }
    }
    if (servingNow.length > 1 && !this.forceActive) {
      throw new SimViolation(
        `two primaries serve at once without a forced failover: ${servingNow.join(", ")}`,
      );
    }
  }

  /** A write resolved on `host`. */
  acked(host: string, write: WriteRecord): void {
    for (const [history, successor] of this.handedOver) {
      if (!history.writes.includes(write)) continue;
      const check = history.prefix(successor.image, history.ackedLength);
      if (check.problem) {
        this.sim.fail(
          new SimViolation(
            `write ${write.id} (block ${write.block}) was acknowledged by ${host} after the planned handover ` +
              `to ${successor.host}, which started without it: ${check.problem}`,
          ),
        );
      }
    }
  }

  private async becamePrimary(node: SimNode): Promise<void> {
    const host = node.host;
    if (this.checking.has(host)) return;
    this.checking.add(host);
    try {
      // What made it primary, taken before the read: while the read runs,
      // the node may already step down again (a handover right after).
      const previous = this.sim.historyOf.get(host);
      const takeover = this.takeovers.get(host);
      let image: number[];
      try {
        image = await this.sim.settled(`reading ${host}'s volume`, readImage(node, this.sim.blocks));
      } catch (err) {
        if (err instanceof NodeDownError) return; // it died first; its restart is checked again
        // Its resource failed under the read (an injected fault): recovered in place, it is checked again.
        if (err instanceof VolumeFailedError) return;
        throw err;
      }
      this.takeovers.delete(host);
      // A resource that failed and recovered in place serves again: checked like a restart.
      const recovered = this.sim.recovering.delete(host);
      // Recovered in place as the primary it was (designated here in its own
      // view) while a handover request to it was pending: its own history
      // goes on, and the request is still to be answered (seed 870046: a
      // partitioned old primary that never heard of a forced failover).
      const resumedOwn =
        recovered &&
        previous !== undefined &&
        takeover?.kind === "handover" &&
        previous.prefix(image, previous.ackedLength).problem === undefined;
      if (resumedOwn) this.takeovers.set(host, takeover);
      let origin: string;
      let unasked = false;
      if (takeover?.kind === "handover" && takeover.from && !resumedOwn) {
        const from = takeover.from;
        const check = from.prefix(image, from.ackedLength);
        if (check.problem) {
          throw new SimViolation(
            `planned handover to ${host} lost acknowledged writes of h${from.id}: ${check.problem}`,
          );
        }
        this.handedOver.set(from, { host, image });
        origin = `handover from h${from.id}`;
      } else if (previous && (!takeover || resumedOwn)) {
        const check = previous.prefix(image, previous.ackedLength);
        if (check.problem) {
          throw new SimViolation(
            `${host} serves again after a restart or recovery but lost acknowledged writes: ${check.problem}`,
          );
        }
        origin = `restart of h${previous.id}`;
      } else if (takeover?.kind === "create") {
        if (image.some((v) => v !== 0))
          throw new SimViolation(`${host} created the resource on a disk already written`);
        origin = "start";
      } else if (takeover || this.forceActive) {
        const explained = this.sim.histories.find((h) => h.prefix(image).cut);
        if (!explained) {
          throw new SimViolation(`${host} became primary with a disk that is no prefix of any history`);
        }
        origin = `${takeover?.kind ?? "unasked (after a forced failover)"} from h${explained.id}`;
        // Unasked: a forced failover refused half-way (its resource failed) left it designated;
        // it took over once recovered, and a later handover starts from its history (seed 810070).
        unasked = !takeover;
      } else {
        throw new SimViolation(`${host} became primary without an operator asking for it`);
      }
      const history = this.sim.newHistory(image, origin);
      this.sim.historyOf.set(host, history);
      if ((takeover && !resumedOwn) || unasked || previous === this.designated) this.designated = history;
      // A handover asked before this restart hands over what the restarted primary
      // acknowledges from now on as well (seed 300049: h1 restarted h0 in between).
      if (previous && (!takeover || resumedOwn)) {
        for (const [other, pending] of this.takeovers) {
          if (pending.kind === "handover" && pending.from === previous) {
            this.takeovers.set(other, { kind: "handover", from: history });
          }
        }
      }
      this.sim.note(`${host} serves: history h${history.id} (${origin})`);
    } finally {
      this.checking.delete(host);
    }
  }

  /** Whether the writer may send to `host` now. */
  writable(host: string): boolean {
    return !this.checking.has(host) && this.sim.historyOf.has(host);
  }

  /** A consistent secondary's disk is a prefix of some history (nothing merged). */
  async checkSecondary(node: SimNode, why: string): Promise<void> {
    const image = await this.sim.settled(`reading ${node.host}'s disk`, readDisk(node, this.sim.blocks));
    if (!this.sim.histories.some((h) => h.prefix(image).cut)) {
      const closest = this.sim.histories.map((h) => `h${h.id}: ${h.prefix(image).problem}`).join("; ");
      throw new SimViolation(
        `${why}: ${node.host}'s consistent disk is no prefix of any history (${closest})`,
      );
    }
  }

  /** The end state, once every fault is healed and the cluster had time to settle. */
  async final(options: { splitBrainAllowed: boolean } = { splitBrainAllowed: true }): Promise<void> {
    const primaries = this.sim.nodes.filter((n) => this.serves(n));
    if (primaries.length !== 1) {
      const statuses = [];
      for (const node of this.sim.nodes)
        statuses.push(`${node.host}: ${JSON.stringify(await this.status(node))}`);
      throw new SimViolation(
        `after settling, ${primaries.length} nodes serve: ${primaries.map((n) => n.host).join(", ")}\n` +
          statuses.join("\n"),
      );
    }
    const primary = primaries[0] as SimNode;
    const history = this.sim.historyOf.get(primary.host) as History;
    const primaryImage = await this.sim.settled("reading the primary", readImage(primary, this.sim.blocks));
    for (const node of this.sim.nodes) {
      if (node === primary) continue;
      const status = await this.status(node);
      const image = await this.sim.settled(`reading ${node.host}'s disk`, readDisk(node, this.sim.blocks));
      const same = image.every((v, b) => v === primaryImage[b]);
      if (status.splitBrain?.detected) {
        if (!options.splitBrainAllowed)
          throw new SimViolation(
            `${node.host} still reports a split brain after it was resolved: ${JSON.stringify(status.splitBrain)}`,
          );
        // One that says it is not consistent may be half-way through a resync
        // it cannot finish until the split brain is resolved (seed 890128).
        if (status.consistent && !this.sim.histories.some((h) => h.prefix(image).cut)) {
          throw new SimViolation(
            `${node.host} reports a split brain and holds a merge of histories: ${JSON.stringify(status)}`,
          );
        }
        continue;
      }
      if (status.diskState !== "UpToDate" || !same) {
        const prefix = history.prefix(image);
        throw new SimViolation(
          `after settling, ${node.host} reports no split brain but is ${status.diskState} ` +
            `(${status.replState}) and its disk ${same ? "equals" : "differs from"} ${primary.host}'s` +
            (prefix.problem
              ? `; it is not even a prefix of ${primary.host}'s history: ${prefix.problem}`
              : "") +
            `\n${node.host}: ${JSON.stringify(status)}`,
        );
      }
    }
  }

  async status(node: SimNode): Promise<NodeResourceStatus> {
    const answer = await this.sim.settled(
      `status of ${node.host}`,
      node.call("resource.status", { name: RESOURCE }),
    );
    if (answer.error?.code === -1) throw new NodeDownError(node.host);
    if (answer.error) throw new SimViolation(`resource.status on ${node.host}: ${answer.error.message}`);
    return answer.result as NodeResourceStatus;
  }
}

interface NodeResourceStatus {
  role: string;
  diskState: string;
  replState: string;
  consistent: boolean;
  designatedPrimary: string | null;
  takeOverBlockedBy?: string;
  splitBrain?: { detected: boolean; forks?: unknown[] };
}

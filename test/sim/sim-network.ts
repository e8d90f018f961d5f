/**
 * The simulated network under SimTransport (sim-transport.ts): one
 * SimNetwork per simulated cluster holds the listeners by address
 * ("host:port") and the faults of every directed link between nodes, and
 * carries packets between nodes in `Channel`s on an injected Clock (a
 * SimClock in the simulator), every random decision from one seeded PRNG.
 *
 * Contract:
 * - A node is a name; a listener's host belongs to the node that listened
 *   on it (a host nobody listened on yet is taken as a node of that name).
 * - Faults are per directed link (bytes sent from -> to): one-way latency
 *   plus a seeded jitter in [0, jitterMs), a bandwidth shared by every
 *   connection on the link (bytes queue behind each other), a probability
 *   that a packet (a request, an answer's head, one body chunk) resets its
 *   connection on arrival, and a slow reader at `to` (each chunk is taken
 *   from the connection's buffer only readerDelayMs after the reader asked),
 *   and a segment size: written chunks are cut at seeded places, so
 *   readers meet frames split anywhere, as over TCP.
 * - A Channel never reorders: a packet is delivered no earlier than the
 *   one sent before it on the same channel, whatever the jitter drew.
 * - Partitions are per direction of connection: `partition(a, b)` blocks
 *   every packet (both ways) of the connections a opens to b's listeners,
 *   while b's connections to a work. (A packet-level one-way cut would break
 *   both directions of request/answer exchanges alike; what a one-way
 *   partition means for marsd is "a cannot reach b, b still reaches a".)
 *   A blocked packet is retransmitted every RETRANSMIT_MS, as TCP would,
 *   and goes through once the link heals; meanwhile the connection waits
 *   until its owner's timeout, as on a blackholed TCP link.
 * - Same seed, same calls, same clock steps: same delays and resets.
 */
import type { Clock, TimerHandle } from "../../src/platform/clock.js";
import { prng } from "../helpers/prng.js";

export interface LinkFaults {
  /** One-way delay of every packet, ms. */
  latencyMs: number;
  /** Extra delay drawn per packet from [0, jitterMs), ms (never reorders a connection's bytes). */
  jitterMs: number;
  /** Bytes per second on the link, shared by its connections; undefined: unbounded. */
  bytesPerSecond: number | undefined;
  /** Probability that one packet resets its connection when it arrives. */
  resetProbability: number;
  /** Connections opened from -> to are blackholed (see the header). */
  blocked: boolean;
  /** Slow reader at `to`: each chunk waits this long in the buffer before the reader gets it, ms. */
  readerDelayMs: number;
  /** Written chunks are cut into segments of seeded sizes in [1, maxSegmentBytes]; undefined: kept whole. */
  maxSegmentBytes: number | undefined;
}

export const NO_FAULTS: Readonly<LinkFaults> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  bytesPerSecond: undefined,
  resetProbability: 0,
  blocked: false,
  readerDelayMs: 0,
  maxSegmentBytes: undefined,
});

/** How often a packet on a blocked link is tried again, ms (TCP's minimum RTO is 200 ms). */
export const RETRANSMIT_MS = 200;
/** Bytes a request or answer head counts for against the bandwidth. */
export const HEAD_BYTES = 200;
/** Default bound of one connection's unread bytes (in flight plus buffered at the reader). */
export const DEFAULT_CONNECTION_BUFFER_BYTES = 256 * 1024;
/** First port handed out for ListenOptions.port 0, per host. */
const FIRST_EPHEMERAL_PORT = 40_000;

export interface SimNetworkOptions {
  time: Clock;
  seed: number;
  /** Bound of one connection's unread bytes: what a writer may run ahead of its reader. */
  connectionBufferBytes?: number;
}

/** What the network knows of a listener (implemented in sim-transport.ts). */
export interface RegisteredListener {
  readonly node: string;
}

export class SimNetwork {
  readonly time: Clock;
  readonly seed: number;
  readonly connectionBufferBytes: number;
  /** Every random decision of the network, in the order they are made. */
  readonly random: () => number;
  private readonly faults = new Map<string, LinkFaults>();
  /** When each directed link finishes sending what is queued on it (bandwidth), monotonic ms. */
  private readonly linkBusyUntilMs = new Map<string, number>();
  private readonly listeners = new Map<string, RegisteredListener>();
  private readonly hostOwners = new Map<string, string>();
  private readonly nextPorts = new Map<string, number>();

  constructor(options: SimNetworkOptions) {
    this.time = options.time;
    this.seed = options.seed;
    this.connectionBufferBytes = options.connectionBufferBytes ?? DEFAULT_CONNECTION_BUFFER_BYTES;
    this.random = prng(options.seed);
  }

  /** Faults of the directed link from -> to (merged into what was set before). */
  setLink(from: string, to: string, faults: Partial<LinkFaults>): void {
    this.faults.set(linkKey(from, to), { ...this.link(from, to), ...faults });
  }

  /** Faults of both directions between a and b. */
  setLinks(a: string, b: string, faults: Partial<LinkFaults>): void {
    this.setLink(a, b, faults);
    this.setLink(b, a, faults);
  }

  link(from: string, to: string): LinkFaults {
    return this.faults.get(linkKey(from, to)) ?? NO_FAULTS;
  }

  /** One-way partition: connections `from` opens to `to` are blackholed; `to`'s to `from` work. */
  partition(from: string, to: string): void {
    this.setLink(from, to, { blocked: true });
  }

  heal(from: string, to: string): void {
    this.setLink(from, to, { blocked: false });
  }

  /** The node that owns `host` (listened on it), else the host itself. */
  nodeOfHost(host: string): string {
    return this.hostOwners.get(host) ?? host;
  }

  allocatePort(host: string): number {
    let port = this.nextPorts.get(host) ?? FIRST_EPHEMERAL_PORT;
    while (this.listeners.has(formatAddress(host, port))) port += 1;
    this.nextPorts.set(host, port + 1);
    return port;
  }

  register(address: string, host: string, listener: RegisteredListener): void {
    this.listeners.set(address, listener);
    this.hostOwners.set(host, listener.node);
  }

  unregister(address: string, listener: RegisteredListener): void {
    if (this.listeners.get(address) === listener) this.listeners.delete(address);
  }

  lookup(address: string): RegisteredListener | undefined {
    return this.listeners.get(address);
  }

  /**
   * When a packet of `bytes` sent now from -> to arrives, ignoring order:
   * it waits for the link's earlier bytes (bandwidth), then latency and jitter.
   */
  arrivalMs(from: string, to: string, bytes: number): number {
    const faults = this.link(from, to);
    const nowMs = this.time.monotonicMs();
    const key = linkKey(from, to);
    let sentMs = nowMs;
    if (faults.bytesPerSecond !== undefined) {
      sentMs = Math.max(nowMs, this.linkBusyUntilMs.get(key) ?? 0) + (bytes * 1000) / faults.bytesPerSecond;
      this.linkBusyUntilMs.set(key, sentMs);
    }
    const jitterMs = faults.jitterMs > 0 ? this.random() * faults.jitterMs : 0;
    return sentMs + faults.latencyMs + jitterMs;
  }

  /** Seeded: `chunk` cut as the link's maxSegmentBytes says (frames then straddle segments). */
  segments(from: string, to: string, chunk: Buffer): Buffer[] {
    const max = this.link(from, to).maxSegmentBytes;
    if (max === undefined || chunk.length <= 1) return [chunk];
    const out: Buffer[] = [];
    for (let offset = 0; offset < chunk.length;) {
      const size = 1 + Math.floor(this.random() * max);
      out.push(chunk.subarray(offset, offset + size));
      offset += size;
    }
    return out;
  }

  /** Seeded: does this packet reset its connection? */
  drawReset(from: string, to: string): boolean {
    const p = this.link(from, to).resetProbability;
    return p > 0 && this.random() < p;
  }
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

interface QueuedPacket {
  dueMs: number;
  reset: boolean;
  deliver: () => void;
}

/**
 * One direction of one connection: packets in order, each delivered at
 * its arrival time (or later, behind the one before it). `onReset` runs
 * instead of a packet's delivery when the seed made it reset the connection.
 */
export class Channel {
  private readonly queue: QueuedPacket[] = [];
  private timer: TimerHandle | undefined;
  /** Bumped by every arm and by close: a stale nextTurn callback does nothing. */
  private generation = 0;
  private lastDueMs = 0;
  private closed = false;

  constructor(
    private readonly network: SimNetwork,
    readonly from: string,
    readonly to: string,
    /** Is the connection this channel belongs to blackholed now? */
    private readonly blocked: () => boolean,
    private readonly onReset: () => void,
  ) {}

  send(bytes: number, deliver: () => void): void {
    if (this.closed) return;
    const arrivalMs = this.network.arrivalMs(this.from, this.to, bytes);
    const reset = this.network.drawReset(this.from, this.to);
    this.lastDueMs = Math.max(this.lastDueMs, arrivalMs);
    this.queue.push({ dueMs: this.lastDueMs, reset, deliver });
    if (this.queue.length === 1) this.arm(this.lastDueMs);
  }

  /** Drops what is in flight; nothing is delivered after it. */
  close(): void {
    this.closed = true;
    this.generation += 1;
    this.timer?.cancel();
    this.queue.length = 0;
  }

  private arm(dueMs: number): void {
    const generation = ++this.generation;
    this.timer?.cancel();
    const delayMs = dueMs - this.network.time.monotonicMs();
    const fire = () => {
      if (generation === this.generation) this.fire();
    };
    if (delayMs <= 0) this.network.time.nextTurn(fire);
    else this.timer = this.network.time.setTimer(delayMs, fire);
  }

  private fire(): void {
    const nowMs = this.network.time.monotonicMs();
    for (;;) {
      if (this.closed) return;
      const head = this.queue[0];
      if (!head) return;
      if (head.dueMs > nowMs) {
        this.arm(head.dueMs);
        return;
      }
      if (this.blocked()) {
        this.arm(nowMs + RETRANSMIT_MS);
        return;
      }
      this.queue.shift();
      if (head.reset) {
        this.close();
        this.onReset();
        return;
      }
      head.deliver();
    }
  }
}

/**
 * Bandwidth limits for syncs and fetches: token buckets, one per node and
 * one per resource for each kind, that a transfer passes through in turn
 * before it moves the bytes.
 *
 * A bucket runs on debt: a transfer may start whenever the bucket is not
 * in debt and then takes all its bytes at once (the balance may go below
 * zero), the next waits until the debt is paid back at the rate. So any
 * transfer size works, and over an interval the bytes passed stay within
 * rate x interval + one transfer + the burst. The burst is a quarter
 * second of rate: a link that idled briefly does not then send a flood.
 * A rate of 0 means unlimited. Rates change at runtime: waiters re-check
 * at least every MAX_WAIT_STEP_MS.
 */
import type { Clock } from "../platform/clock.js";

const BURST_SECONDS = 0.25;
const MAX_WAIT_STEP_MS = 100;

export type BandwidthKind = "sync" | "fetch";

export interface BandwidthObserver {
  /** Time a transfer waited for its bucket. */
  throttled(kind: BandwidthKind, resource: string | undefined, waitedMs: number): void;
}

export class TokenBucket {
  private balanceBytes = 0;
  private lastMs: number;

  constructor(
    private readonly time: Clock,
    private rate: number,
  ) {
    this.lastMs = time.monotonicMs();
    this.balanceBytes = this.burstBytes;
  }

  get rateBytesPerSec(): number {
    return this.rate;
  }

  setRate(rateBytesPerSec: number): void {
    this.refill();
    this.rate = rateBytesPerSec;
    this.balanceBytes = Math.min(this.balanceBytes, this.burstBytes);
  }

  private get burstBytes(): number {
    return this.rate * BURST_SECONDS;
  }

  private refill(): void {
    const now = this.time.monotonicMs();
    if (this.rate > 0) {
      this.balanceBytes = Math.min(
        this.burstBytes,
        this.balanceBytes + ((now - this.lastMs) * this.rate) / 1000,
      );
    }
    this.lastMs = now;
  }

  /** Waits while the bucket is in debt, then takes `bytes`. Returns the time waited. */
  async take(bytes: number, signal?: AbortSignal): Promise<number> {
    const startMs = this.time.monotonicMs();
    let slept = false;
    for (;;) {
      this.refill();
      if (this.rate <= 0 || this.balanceBytes >= 0) break;
      const waitMs = Math.min(MAX_WAIT_STEP_MS, Math.ceil((-this.balanceBytes * 1000) / this.rate));
      await this.time.sleep(Math.max(1, waitMs), signal);
      slept = true;
      signal?.throwIfAborted();
    }
    if (this.rate > 0) this.balanceBytes -= bytes;
    // Only time spent asleep counts as throttled (not this call's own microseconds).
    return slept ? this.time.monotonicMs() - startMs : 0;
  }
}

/** The node's buckets and each resource's, for both kinds. */
export class BandwidthLimits {
  private readonly node: Record<BandwidthKind, TokenBucket>;
  private readonly perResource = new Map<string, Record<BandwidthKind, TokenBucket>>();

  constructor(
    private readonly time: Clock,
    nodeLimits: Record<BandwidthKind, number>,
    private readonly observer: BandwidthObserver,
  ) {
    this.node = {
      sync: new TokenBucket(time, nodeLimits.sync),
      fetch: new TokenBucket(time, nodeLimits.fetch),
    };
  }

  /** Sets the node's (resource undefined) or one resource's limit; 0 lifts it. */
  set(kind: BandwidthKind, resource: string | undefined, bytesPerSec: number): void {
    if (resource === undefined) this.node[kind].setRate(bytesPerSec);
    else this.bucketsOf(resource)[kind].setRate(bytesPerSec);
  }

  limitOf(kind: BandwidthKind, resource?: string): number {
    return (resource === undefined ? this.node : this.perResource.get(resource))?.[kind].rateBytesPerSec ?? 0;
  }

  /** The rate a resource's transfers of `kind` get at most: the lower of its limit and the node's (0: none). */
  effectiveRate(kind: BandwidthKind, resource: string): number {
    const rates = [this.limitOf(kind), this.limitOf(kind, resource)].filter((r) => r > 0);
    return rates.length > 0 ? Math.min(...rates) : 0;
  }

  /** The resources with a limit of their own. */
  resources(): string[] {
    return [...this.perResource.entries()]
      .filter(([, b]) => b.sync.rateBytesPerSec > 0 || b.fetch.rateBytesPerSec > 0)
      .map(([name]) => name);
  }

  /** Forgets a resource's buckets (it was deleted or left). */
  forget(resource: string): void {
    this.perResource.delete(resource);
  }

  /** Waits until the resource's and then the node's bucket let `bytes` of `kind` pass. */
  async take(kind: BandwidthKind, resource: string, bytes: number, signal?: AbortSignal): Promise<void> {
    const waited =
      (await this.bucketsOf(resource)[kind].take(bytes, signal)) +
      (await this.node[kind].take(bytes, signal));
    // Also 0: the series exists from the first transfer on (a dashboard shows 0, not "no data").
    this.observer.throttled(kind, resource, waited);
  }

  private bucketsOf(resource: string): Record<BandwidthKind, TokenBucket> {
    let b = this.perResource.get(resource);
    if (!b) {
      b = { sync: new TokenBucket(this.time, 0), fetch: new TokenBucket(this.time, 0) };
      this.perResource.set(resource, b);
    }
    return b;
  }
}

/**
 * This node's view of one other member: how to reach it, when we last
 * heard from it, its clock skew, and the periodic anti-entropy pull.
 *
 * Pulls ask for every entry newer than what we hold complete (`seen`), from
 * every owner, so a node cut off from some owner still gets that owner's
 * writes through anyone else (partition healing). After a failure the next
 * pull backs off exponentially up to `retryMaxMs`.
 */
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { Random } from "../platform/random.js";
import type { PeerClient, PeerCredentials } from "../peer/client.js";
import { errorMessage } from "../util/errors.js";
import { PeerProtocolError } from "../peer/error-codes.js";
import type { StampUs } from "../log/lamport-clock.js";
import type { StateEntry, StateStore } from "./state-store.js";

/**
 * A pull is either full (our whole completeness map) or short: a digest of
 * our map without us and the peer, plus how far we hold the peer's own
 * writes. When nothing changed, the short form is all that travels; on a
 * digest mismatch the peer answers `mismatch` and we send the full form.
 */
export type PullRequest =
  { since: Record<string, StampUs> } | { digest: string; horizonUs: StampUs; sincePeerUs: StampUs };

/** Writes younger than this are left to pushes when comparing digests. */
export const DIGEST_HORIZON_US = 5_000_000;

export type PullResponse =
  | {
      entries: StateEntry[];
      /** For each owner, the stamp up to which the answer is complete. */
      complete: Record<string, StampUs>;
    }
  | { mismatch: true };

export interface PushRequest {
  basisUs: StampUs;
  upToUs: StampUs;
  entries: StateEntry[];
}

export interface LinkTiming {
  syncIntervalMs: number;
  retryMaxMs: number;
}

export class PeerLink {
  /** Wall time of the last answer or request from the peer (for the metric). */
  lastContactMs: number | undefined;
  /** The same moment on the monotonic clock (for ages: immune to wall-clock steps). */
  private lastContactMonotonicMs: number | undefined;
  rttMs: number | undefined;
  clockSkewMs: number | undefined;
  peerStampUs: number | undefined;
  lastError: string | undefined;
  private failures = 0;
  private timer: TimerHandle | undefined;
  private pulling: Promise<void> | undefined;
  private stopped = false;
  /** The first pull after start also asks for our own entries (they may be newer on peers after a crash). */
  private firstPull = true;
  /** A pull answered since this process started: we have seen the peer's state (start-up confirmation). */
  exchangedSinceStart = false;

  constructor(
    readonly host: string,
    public address: string,
    private readonly self: string,
    private readonly client: PeerClient,
    private readonly credentials: () => PeerCredentials | undefined,
    private readonly store: StateStore,
    private readonly timing: LinkTiming,
    private readonly time: Clock,
    /** Spreads the pulls of the links in time (jitter), so they do not beat in step. */
    private readonly random: Random,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly refuse: (entry: StateEntry) => boolean,
    /** Called after every pull whose answer was merged. */
    private readonly onPulled: (host: string) => void = () => undefined,
  ) {}

  start(): void {
    this.schedule(this.random.float() * Math.min(this.timing.syncIntervalMs, 1000));
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  noteContact(): void {
    this.lastContactMs = this.time.nowMs();
    this.lastContactMonotonicMs = this.time.monotonicMs();
    this.metrics.peerLastContact.labels(this.host).set(this.lastContactMs / 1000);
  }

  /** Milliseconds since we last heard from the peer; undefined if we never did. */
  contactAgeMs(): number | undefined {
    return this.lastContactMonotonicMs === undefined
      ? undefined
      : this.time.monotonicMs() - this.lastContactMonotonicMs;
  }

  /** Pull now (or join the pull in progress). */
  pullNow(): Promise<void> {
    this.pulling ??= this.pull().finally(() => {
      this.pulling = undefined;
    });
    return this.pulling;
  }

  async push(request: PushRequest): Promise<void> {
    const credentials = this.credentials();
    if (!credentials || this.stopped) return;
    try {
      const result = await this.client.call(
        credentials,
        this.address,
        "POST",
        "/peer/v1/state/push",
        request,
        this.host,
      );
      this.succeeded(result);
    } catch (err) {
      this.failed(err, "push");
      throw err;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.time
      .setTimer(delayMs, () => {
        this.timer = undefined;
        void this.pullNow().finally(() => this.schedule(this.nextDelayMs()));
      })
      .unref();
  }

  private nextDelayMs(): number {
    const base =
      this.failures === 0
        ? this.timing.syncIntervalMs
        : Math.min(this.timing.retryMaxMs, 250 * 2 ** Math.min(this.failures, 10));
    return base * (0.8 + this.random.float() * 0.4);
  }

  private async pull(): Promise<void> {
    const credentials = this.credentials();
    if (!credentials || this.stopped) return;
    try {
      const call = (request: PullRequest) =>
        this.client.call<PullResponse>(
          credentials,
          this.address,
          "POST",
          "/peer/v1/state/pull",
          request,
          this.host,
        );
      let result = await call(this.firstPull ? this.fullPullRequest() : this.shortPullRequest());
      if ("mismatch" in result.body) result = await call(this.fullPullRequest());
      if ("mismatch" in result.body) throw new PeerProtocolError("peer refused a full pull");
      const { entries, complete } = result.body;
      if (!Array.isArray(entries) || typeof complete !== "object" || complete === null) {
        throw new PeerProtocolError("malformed pull answer");
      }
      this.store.merge(entries, this.host, this.refuse);
      for (const [owner, stamp] of Object.entries(complete)) {
        if (owner !== this.self && typeof stamp === "number") this.store.noteComplete(owner, stamp);
      }
      this.firstPull = false;
      this.succeeded(result);
      this.exchangedSinceStart = true;
      this.onPulled(this.host);
    } catch (err) {
      this.failed(err, "pull");
    }
  }

  private shortPullRequest(): PullRequest {
    const horizonUs = this.store.clockLatest() - DIGEST_HORIZON_US;
    return {
      digest: this.store.seenDigest([this.self, this.host], horizonUs),
      horizonUs,
      sincePeerUs: this.store.seen()[this.host] ?? 0,
    };
  }

  private fullPullRequest(): PullRequest {
    const since = this.store.seen();
    // After a restart our own newest writes may only exist on peers: ask for them once.
    since[this.self] = this.firstPull ? 0 : this.store.clockLatest();
    return { since };
  }

  private succeeded(result: { peerTimeMs: number; sentAtMs: number; receivedAtMs: number }): void {
    this.failures = 0;
    this.lastError = undefined;
    this.noteContact();
    this.rttMs = result.receivedAtMs - result.sentAtMs;
    if (Number.isFinite(result.peerTimeMs)) {
      // NTP-style: the peer read its clock about half a round trip after we sent.
      this.clockSkewMs = result.peerTimeMs - (result.sentAtMs + result.receivedAtMs) / 2;
      this.metrics.peerClockSkew.labels(this.host).set(this.clockSkewMs / 1000);
    }
  }

  private failed(err: unknown, what: string): void {
    this.failures += 1;
    this.lastError = errorMessage(err);
    this.metrics.peerSyncFailures.labels(this.host, what).inc();
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.logger.warn(
        { peer: this.host, address: this.address, err: this.lastError, what },
        "peer sync failed",
      );
    }
  }
}

/**
 * Publishes a resource's own status (status-model.ts) to the cluster state
 * (`resource/<res>/host/<host>/status`), so that every node can show every
 * member and decide take-overs on it.
 *
 * Contract: a discrete change (`now`) is published at once; otherwise at
 * most once every `intervalMs` (positions move with every write, and each
 * publication is gossiped to every node). A repeating timer publishes what
 * moved quietly. Nothing is published once the resource is closed; a
 * failure to publish is logged, never thrown (the next one retries).
 */
import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../platform/clock.js";
import { errorMessage } from "../util/errors.js";
import type { ResourceCore } from "./resource-core.js";
import { ownStatus } from "./status-model.js";

export class StatusPublisher {
  private timer: TimerHandle | undefined;
  private lastPublishedMs: number | undefined;

  constructor(
    private readonly core: ResourceCore,
    private readonly time: Clock,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= this.time.setRepeating(this.intervalMs, () => this.publish(false)).unref();
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** Publishes our status: at once for discrete changes (`now`), else at most every intervalMs. */
  publish(now: boolean): void {
    if (this.core.state === "closed") return;
    const nowMs = this.time.monotonicMs();
    if (!now && this.lastPublishedMs !== undefined && nowMs - this.lastPublishedMs < this.intervalMs) return;
    this.lastPublishedMs = nowMs;
    try {
      this.core.view.publishStatus(ownStatus(this.core), now);
    } catch (err) {
      this.logger.warn({ resource: this.core.name, err: errorMessage(err) }, "cannot publish status");
    }
  }
}

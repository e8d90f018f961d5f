/**
 * The node's transfer bounds from its configuration: bandwidth buckets
 * (node-wide and per resource) and sync slots, with their gauges. Runtime
 * changes (node.setBandwidth) go through `setBandwidth`, which keeps the
 * gauges right; they last until the next restart (the configuration file
 * is the lasting place).
 */
import type { Metrics } from "../metrics/metrics.js";
import type { Clock } from "../platform/clock.js";
import { BandwidthLimits, type BandwidthKind } from "../replication/bandwidth.js";
import { SyncSlots } from "../replication/sync-slots.js";
import type { Transfers } from "../resource/resource-core.js";
import type { DaemonConfig } from "./config.js";

export class NodeTransfers implements Transfers {
  readonly limits: BandwidthLimits;
  readonly syncSlots: SyncSlots;
  readonly syncInFlightBytes: number;

  constructor(
    config: Pick<DaemonConfig, "bandwidth" | "sync">,
    time: Clock,
    private readonly metrics: Metrics,
  ) {
    const m = metrics.transfer;
    this.limits = new BandwidthLimits(
      time,
      { sync: config.bandwidth.syncBytesPerSec, fetch: config.bandwidth.fetchBytesPerSec },
      {
        throttled: (kind, resource, waitedMs) =>
          m.bandwidthThrottled.labels(kind, resource ?? "").inc(waitedMs / 1000),
      },
    );
    this.syncSlots = new SyncSlots(config.sync.maxConcurrent, {
      changed: (copying, queued, limit) => {
        m.syncSlots.labels("copying").set(copying);
        m.syncSlots.labels("queued").set(queued);
        m.syncSlots.labels("limit").set(limit);
      },
    });
    this.syncInFlightBytes = config.sync.maxInFlightBytes;
    for (const kind of ["sync", "fetch"] as const) this.publish(kind, undefined);
    for (const [name, limits] of Object.entries(config.bandwidth.resources ?? {})) {
      if (limits.syncBytesPerSec !== undefined) this.setBandwidth("sync", name, limits.syncBytesPerSec);
      if (limits.fetchBytesPerSec !== undefined) this.setBandwidth("fetch", name, limits.fetchBytesPerSec);
    }
  }

  /** Sets a limit (resource undefined: the node's); returns whether it changed. */
  setBandwidth(kind: BandwidthKind, resource: string | undefined, bytesPerSec: number): boolean {
    const changed = this.limits.limitOf(kind, resource) !== bytesPerSec;
    this.limits.set(kind, resource, bytesPerSec);
    this.publish(kind, resource);
    return changed;
  }

  /** The limits now: the node's and each resource's that has one. */
  bandwidth(): {
    node: Record<BandwidthKind, number>;
    resources: Record<string, Record<BandwidthKind, number>>;
  } {
    const resources: Record<string, Record<BandwidthKind, number>> = {};
    for (const name of this.limits.resources()) {
      resources[name] = {
        sync: this.limits.limitOf("sync", name),
        fetch: this.limits.limitOf("fetch", name),
      };
    }
    return {
      node: { sync: this.limits.limitOf("sync"), fetch: this.limits.limitOf("fetch") },
      resources,
    };
  }

  private publish(kind: BandwidthKind, resource: string | undefined): void {
    this.metrics.transfer.bandwidthLimit
      .labels(kind, resource ?? "node")
      .set(this.limits.limitOf(kind, resource));
  }
}

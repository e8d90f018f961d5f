import { BandwidthLimits } from "../replication/bandwidth.js";
import { SyncSlots } from "../replication/sync-slots.js";
export class NodeTransfers {
    metrics;
    limits;
    syncSlots;
    syncInFlightBytes;
    constructor(config, time, metrics) {
        this.metrics = metrics;
        const m = metrics.transfer;
        this.limits = new BandwidthLimits(time, { sync: config.bandwidth.syncBytesPerSec, fetch: config.bandwidth.fetchBytesPerSec }, {
            throttled: (kind, resource, waitedMs) => m.bandwidthThrottled.labels(kind, resource ?? "").inc(waitedMs / 1000),
        });
        this.syncSlots = new SyncSlots(config.sync.maxConcurrent, {
            changed: (copying, queued, limit) => {
                m.syncSlots.labels("copying").set(copying);
                m.syncSlots.labels("queued").set(queued);
                m.syncSlots.labels("limit").set(limit);
            },
        });
        this.syncInFlightBytes = config.sync.maxInFlightBytes;
        for (const kind of ["sync", "fetch"])
            this.publish(kind, undefined);
        for (const [name, limits] of Object.entries(config.bandwidth.resources ?? {})) {
            if (limits.syncBytesPerSec !== undefined)
                this.setBandwidth("sync", name, limits.syncBytesPerSec);
            if (limits.fetchBytesPerSec !== undefined)
                this.setBandwidth("fetch", name, limits.fetchBytesPerSec);
        }
    }
    /** Sets a limit (resource undefined: the node's); returns whether it changed. */
    setBandwidth(kind, resource, bytesPerSec) {
        const changed = this.limits.limitOf(kind, resource) !== bytesPerSec;
        this.limits.set(kind, resource, bytesPerSec);
        this.publish(kind, resource);
        return changed;
    }
    /** The limits now: the node's and each resource's that has one. */
    bandwidth() {
        const resources = {};
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
    publish(kind, resource) {
        this.metrics.transfer.bandwidthLimit
            .labels(kind, resource ?? "node")
            .set(this.limits.limitOf(kind, resource));
    }
}
//# sourceMappingURL=transfers.js.map
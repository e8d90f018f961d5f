const BURST_SECONDS = 0.25;
const MAX_WAIT_STEP_MS = 100;
export class TokenBucket {
    time;
    rate;
    balanceBytes = 0;
    lastMs;
    constructor(time, rate) {
        this.time = time;
        this.rate = rate;
        this.lastMs = time.monotonicMs();
        this.balanceBytes = this.burstBytes;
    }
    get rateBytesPerSec() {
        return this.rate;
    }
    setRate(rateBytesPerSec) {
        this.refill();
        this.rate = rateBytesPerSec;
        this.balanceBytes = Math.min(this.balanceBytes, this.burstBytes);
    }
    get burstBytes() {
        return this.rate * BURST_SECONDS;
    }
    refill() {
        const now = this.time.monotonicMs();
        if (this.rate > 0) {
            this.balanceBytes = Math.min(this.burstBytes, this.balanceBytes + ((now - this.lastMs) * this.rate) / 1000);
        }
        this.lastMs = now;
    }
    /** Waits while the bucket is in debt, then takes `bytes`. Returns the time waited. */
    async take(bytes, signal) {
        const startMs = this.time.monotonicMs();
        let slept = false;
        for (;;) {
            this.refill();
            if (this.rate <= 0 || this.balanceBytes >= 0)
                break;
            const waitMs = Math.min(MAX_WAIT_STEP_MS, Math.ceil((-this.balanceBytes * 1000) / this.rate));
            await this.time.sleep(Math.max(1, waitMs), signal);
            slept = true;
            signal?.throwIfAborted();
        }
        if (this.rate > 0)
            this.balanceBytes -= bytes;
        // Only time spent asleep counts as throttled (not this call's own microseconds).
        return slept ? this.time.monotonicMs() - startMs : 0;
    }
}
/** The node's buckets and each resource's, for both kinds. */
export class BandwidthLimits {
    time;
    observer;
    node;
    perResource = new Map();
    constructor(time, nodeLimits, observer) {
        this.time = time;
        this.observer = observer;
        this.node = {
            sync: new TokenBucket(time, nodeLimits.sync),
            fetch: new TokenBucket(time, nodeLimits.fetch),
        };
    }
    /** Sets the node's (resource undefined) or one resource's limit; 0 lifts it. */
    set(kind, resource, bytesPerSec) {
        if (resource === undefined)
            this.node[kind].setRate(bytesPerSec);
        else
            this.bucketsOf(resource)[kind].setRate(bytesPerSec);
    }
    limitOf(kind, resource) {
        return (resource === undefined ? this.node : this.perResource.get(resource))?.[kind].rateBytesPerSec ?? 0;
    }
    /** The rate a resource's transfers of `kind` get at most: the lower of its limit and the node's (0: none). */
    effectiveRate(kind, resource) {
        const rates = [this.limitOf(kind), this.limitOf(kind, resource)].filter((r) => r > 0);
        return rates.length > 0 ? Math.min(...rates) : 0;
    }
    /** The resources with a limit of their own. */
    resources() {
        return [...this.perResource.entries()]
            .filter(([, b]) => b.sync.rateBytesPerSec > 0 || b.fetch.rateBytesPerSec > 0)
            .map(([name]) => name);
    }
    /** Forgets a resource's buckets (it was deleted or left). */
    forget(resource) {
        this.perResource.delete(resource);
    }
    /** Waits until the resource's and then the node's bucket let `bytes` of `kind` pass. */
    async take(kind, resource, bytes, signal) {
        const waited = (await this.bucketsOf(resource)[kind].take(bytes, signal)) +
            (await this.node[kind].take(bytes, signal));
        // Also 0: the series exists from the first transfer on (a dashboard shows 0, not "no data").
        this.observer.throttled(kind, resource, waited);
    }
    bucketsOf(resource) {
        let b = this.perResource.get(resource);
        if (!b) {
            b = { sync: new TokenBucket(this.time, 0), fetch: new TokenBucket(this.time, 0) };
            this.perResource.set(resource, b);
        }
        return b;
    }
}
//# sourceMappingURL=bandwidth.js.map
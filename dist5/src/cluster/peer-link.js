import { errorMessage } from "../util/errors.js";
import { PeerProtocolError } from "../peer/error-codes.js";
/** Writes younger than this are left to pushes when comparing digests. */
export const DIGEST_HORIZON_US = 5_000_000;
export class PeerLink {
    host;
    address;
    self;
    client;
    credentials;
    store;
    timing;
    time;
    random;
    metrics;
    logger;
    refuse;
    onPulled;
    /** Wall time of the last answer or request from the peer (for the metric). */
    lastContactMs;
    /** The same moment on the monotonic clock (for ages: immune to wall-clock steps). */
    lastContactMonotonicMs;
    rttMs;
    clockSkewMs;
    peerStampUs;
    lastError;
    failures = 0;
    timer;
    pulling;
    stopped = false;
    /** The first pull after start also asks for our own entries (they may be newer on peers after a crash). */
    firstPull = true;
    /** A pull answered since this process started: we have seen the peer's state (start-up confirmation). */
    exchangedSinceStart = false;
    constructor(host, address, self, client, credentials, store, timing, time, 
    /** Spreads the pulls of the links in time (jitter), so they do not beat in step. */
    random, metrics, logger, refuse, 
    /** Called after every pull whose answer was merged. */
    onPulled = () => undefined) {
        this.host = host;
        this.address = address;
        this.self = self;
        this.client = client;
        this.credentials = credentials;
        this.store = store;
        this.timing = timing;
        this.time = time;
        this.random = random;
        this.metrics = metrics;
        this.logger = logger;
        this.refuse = refuse;
        this.onPulled = onPulled;
    }
    start() {
        this.schedule(this.random.float() * Math.min(this.timing.syncIntervalMs, 1000));
    }
    stop() {
        this.stopped = true;
        this.timer?.cancel();
        this.timer = undefined;
    }
    noteContact() {
        this.lastContactMs = this.time.nowMs();
        this.lastContactMonotonicMs = this.time.monotonicMs();
        this.metrics.peerLastContact.labels(this.host).set(this.lastContactMs / 1000);
    }
    /** Milliseconds since we last heard from the peer; undefined if we never did. */
    contactAgeMs() {
        return this.lastContactMonotonicMs === undefined
            ? undefined
            : this.time.monotonicMs() - this.lastContactMonotonicMs;
    }
    /** Pull now (or join the pull in progress). */
    pullNow() {
        this.pulling ??= this.pull().finally(() => {
            this.pulling = undefined;
        });
        return this.pulling;
    }
    async push(request) {
        const credentials = this.credentials();
        if (!credentials || this.stopped)
            return;
        try {
            const result = await this.client.call(credentials, this.address, "POST", "/peer/v1/state/push", request, this.host);
            this.succeeded(result);
        }
        catch (err) {
            this.failed(err, "push");
            throw err;
        }
    }
    schedule(delayMs) {
        if (this.stopped)
            return;
        this.timer?.cancel();
        this.timer = this.time
            .setTimer(delayMs, () => {
            this.timer = undefined;
            void this.pullNow().finally(() => this.schedule(this.nextDelayMs()));
        })
            .unref();
    }
    nextDelayMs() {
        const base = this.failures === 0
            ? this.timing.syncIntervalMs
            : Math.min(this.timing.retryMaxMs, 250 * 2 ** Math.min(this.failures, 10));
        return base * (0.8 + this.random.float() * 0.4);
    }
    async pull() {
        const credentials = this.credentials();
        if (!credentials || this.stopped)
            return;
        try {
            const call = (request) => this.client.call(credentials, this.address, "POST", "/peer/v1/state/pull", request, this.host);
            let result = await call(this.firstPull ? this.fullPullRequest() : this.shortPullRequest());
            if ("mismatch" in result.body)
                result = await call(this.fullPullRequest());
            if ("mismatch" in result.body)
                throw new PeerProtocolError("peer refused a full pull");
            const { entries, complete } = result.body;
            if (!Array.isArray(entries) || typeof complete !== "object" || complete === null) {
                throw new PeerProtocolError("malformed pull answer");
            }
            this.store.merge(entries, this.host, this.refuse);
            for (const [owner, stamp] of Object.entries(complete)) {
                if (owner !== this.self && typeof stamp === "number")
                    this.store.noteComplete(owner, stamp);
            }
            this.firstPull = false;
            this.succeeded(result);
            this.exchangedSinceStart = true;
            this.onPulled(this.host);
        }
        catch (err) {
            this.failed(err, "pull");
        }
    }
    shortPullRequest() {
        const horizonUs = this.store.clockLatest() - DIGEST_HORIZON_US;
        return {
            digest: this.store.seenDigest([this.self, this.host], horizonUs),
            horizonUs,
            sincePeerUs: this.store.seen()[this.host] ?? 0,
        };
    }
    fullPullRequest() {
        const since = this.store.seen();
        // After a restart our own newest writes may only exist on peers: ask for them once.
        since[this.self] = this.firstPull ? 0 : this.store.clockLatest();
        return { since };
    }
    succeeded(result) {
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
    failed(err, what) {
        this.failures += 1;
        this.lastError = errorMessage(err);
        this.metrics.peerSyncFailures.labels(this.host, what).inc();
        if (this.failures === 1 || this.failures % 20 === 0) {
            this.logger.warn({ peer: this.host, address: this.address, err: this.lastError, what }, "peer sync failed");
        }
    }
}
//# sourceMappingURL=peer-link.js.map
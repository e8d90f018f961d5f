/**
 * Authentication of peer traffic.
 *
 * MARS had none: anyone who reached its ports could become root. Here every
 * request carries an HMAC-SHA256 over what it does (method, path, body
 * hash), who sends it (cluster id, host, the sender's key fingerprint),
 * when (wall time, Lamport stamp) and a random nonce. The HMAC key is the
 * pair key of sender and receiver (node-key.ts), so only the host named in
 * the request can have made it; a join (and a host without a registered
 * key) signs with the cluster secret instead, see request-auth.ts. The receiver refuses a bad signature, another
 * cluster, a request outside the time window and a nonce it has already
 * seen inside that window (replay). Responses are signed too (over the
 * request's nonce and the response body), so a man in the middle cannot
 * feed a node forged state either.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
export const HEADER = {
    cluster: "x-mars-cluster",
    host: "x-mars-host",
    timeMs: "x-mars-time",
    stamp: "x-mars-stamp",
    nonce: "x-mars-nonce",
    signature: "x-mars-signature",
    /** The sender's key fingerprint; absent when the request is signed with the cluster secret. */
    key: "x-mars-key",
};
export function sha256Hex(data) {
    return createHash("sha256").update(data).digest("hex");
}
function canonical(f) {
    return [
        f.method.toUpperCase(),
        f.path,
        f.clusterId,
        f.host,
        f.timeMs,
        f.stampUs,
        f.nonce,
        f.bodySha256,
        // Only when present: a request signed with the cluster secret keeps its old form.
        ...(f.keyFingerprint === undefined ? [] : [`key=${f.keyFingerprint}`]),
    ].join("\n");
}
export function signRequest(secret, fields) {
    return createHmac("sha256", secret).update(canonical(fields)).digest("hex");
}
export function signResponse(secret, requestNonce, status, bodySha256) {
    return createHmac("sha256", secret)
        .update(`response\n${requestNonce}\n${status}\n${bodySha256}`)
        .digest("hex");
}
export function signaturesEqual(a, b) {
    const x = Buffer.from(a, "utf8");
    const y = Buffer.from(b, "utf8");
    return x.length === y.length && timingSafeEqual(x, y);
}
/** `random` must be crypto-grade (systemRandom) outside tests: a predictable nonce invites replays. */
export function newNonce(random) {
    return random.bytes(16).toString("hex");
}
/**
 * Nonces seen within the time window. Bounded: entries expire with the
 * window, and past `maxEntries` the oldest are dropped (a request older
 * than the oldest kept nonce is then refused as stale, see NonceCache.accept).
 */
export class NonceCache {
    windowMs;
    maxEntries;
    seenNonces = new Map();
    floorMs = 0;
    constructor(windowMs, maxEntries = 100_000) {
        this.windowMs = windowMs;
        this.maxEntries = maxEntries;
    }
    /** True if accept() would refuse: the nonce was seen, or is too old to judge. Records nothing. */
    seen(nonce, timeMs) {
        return timeMs < this.floorMs || this.seenNonces.has(nonce);
    }
    /** Records the nonce; false if it was already seen (a replay) or cannot be judged. */
    accept(nonce, timeMs, nowMs) {
        this.expire(nowMs);
        if (timeMs < this.floorMs)
            return false;
        if (this.seenNonces.has(nonce))
            return false;
        this.seenNonces.set(nonce, timeMs);
        if (this.seenNonces.size > this.maxEntries) {
            const [oldestNonce, oldestTime] = this.seenNonces.entries().next().value;
            this.seenNonces.delete(oldestNonce);
            this.floorMs = Math.max(this.floorMs, oldestTime);
        }
        return true;
    }
    expire(nowMs) {
        const limit = nowMs - 2 * this.windowMs;
        for (const [nonce, time] of this.seenNonces) {
            if (time >= limit)
                break;
            this.seenNonces.delete(nonce);
        }
    }
}
//# sourceMappingURL=auth.js.map
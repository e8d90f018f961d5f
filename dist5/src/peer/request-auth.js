import { HEADER, NonceCache, sha256Hex, signRequest, signaturesEqual } from "./auth.js";
/** Paths that a node may call before it knows the cluster id (it proves the secret instead). */
export const PRE_MEMBERSHIP_PATHS = new Set(["/peer/v1/join"]);
export class RequestAuthenticator {
    options;
    nonces;
    /** The persisted replay floors, once loaded (undefined: in memory only). */
    floors;
    constructor(options) {
        this.options = options;
        this.nonces = new NonceCache(options.timeWindowMs);
    }
    /** The checks that need only the request head, cheapest first; `capBytes` bounds the body. */
    checkHeaders(req, url, capBytes) {
        const h = (name) => req.headers[name];
        const clusterId = h(HEADER.cluster);
        const host = h(HEADER.host);
        const timeMs = Number(h(HEADER.timeMs));
        const stampUs = Number(h(HEADER.stamp));
        const nonce = h(HEADER.nonce);
        const signature = h(HEADER.signature);
        if (clusterId === undefined ||
            !host ||
            !nonce ||
            !signature ||
            !Number.isFinite(timeMs) ||
            !Number.isSafeInteger(stampUs)) {
            return { status: 401, reason: "missing-headers", message: "request is not signed" };
        }
        const ours = this.options.auth.clusterId();
        const preMembership = PRE_MEMBERSHIP_PATHS.has(url.pathname) && clusterId === "";
        if (!ours || !this.options.auth.secret() || (clusterId !== ours && !preMembership)) {
            return { status: 401, reason: "cluster", message: "request is for another cluster" };
        }
        const nowMs = this.options.time.nowMs();
        if (Math.abs(nowMs - timeMs) > this.options.timeWindowMs) {
            return {
                status: 401,
                reason: "stale",
                message: `request time is ${Math.round((nowMs - timeMs) / 1000)} s off`,
            };
        }
        if (this.floors?.signedBeforeStart(host, timeMs) || this.nonces.seen(nonce, timeMs)) {
            return {
                status: 401,
                reason: "replay",
                message: "request already seen (or signed before this node restarted)",
            };
        }
        if (req.peerNames !== undefined && !req.peerNames.includes(host)) {
            return {
                status: 403,
                reason: "certificate-name",
                message: `the client certificate names ${req.peerNames.join(", ") || "nobody"}, not ${host}`,
            };
        }
        const keyFingerprint = h(HEADER.key) || undefined;
        const key = this.keyFor(url, host, keyFingerprint);
        if (typeof key !== "string")
            return key;
        // Every peer client sends Content-Length; a chunked body could not be capped before it is read.
        const length = req.headers["content-length"];
        if (length === undefined || req.headers["transfer-encoding"] !== undefined) {
            return { status: 411, reason: "length-required", message: "Content-Length is required" };
        }
        const bodyBytes = Number(length);
        const cap = capBytes;
        if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0 || bodyBytes > cap) {
            return { status: 413, reason: "too-large", message: `body exceeds ${cap} bytes` };
        }
        return { clusterId, host, timeMs, stampUs, nonce, signature, bodyBytes, keyFingerprint, key };
    }
    /** The key that must have signed a request from `host` naming `fingerprint`, or why there is none. */
    keyFor(url, host, fingerprint) {
        const { auth } = this.options;
        const secret = auth.secret();
        if (PRE_MEMBERSHIP_PATHS.has(url.pathname))
            return secret;
        const registered = auth.requestKey?.(host);
        if (fingerprint === undefined) {
            if (registered === undefined)
                return secret;
            return {
                status: 401,
                reason: "wrong-host-key",
                message: `${host} has a node key; a request in its name must be signed with it`,
            };
        }
        if (registered === undefined) {
            return auth.isRemoved(host)
                ? { status: 403, reason: "removed", message: `${host} was removed from the cluster` }
                : { status: 401, reason: "unknown-host", message: `no node key of ${host} is known here` };
        }
        if (!signaturesEqual(fingerprint, registered.fingerprint)) {
            return {
                status: 401,
                reason: "wrong-host-key",
                message: `the request names key ${fingerprint.slice(0, 12)}, ${host} is registered with another`,
            };
        }
        return registered.key;
    }
    /** Checks the signature over the body and accepts the request, or refuses it. */
    verify(req, url, headers, body) {
        const { clusterId, host, timeMs, stampUs, nonce, signature, keyFingerprint, key } = headers;
        const secret = this.options.auth.secret();
        if (!secret)
            return { status: 401, reason: "cluster", message: "request is for another cluster" };
        const expected = signRequest(key, {
            method: req.method,
            path: url.pathname + url.search,
            clusterId,
            host,
            timeMs,
            stampUs,
            nonce,
            bodySha256: sha256Hex(body),
            keyFingerprint,
        });
        if (!signaturesEqual(expected, signature))
            return { status: 401, reason: "signature", message: "bad signature" };
        if (!this.nonces.accept(nonce, timeMs, this.options.time.nowMs()))
            return { status: 401, reason: "replay", message: "nonce already used" };
        if (!this.options.clock.observe(stampUs))
            return { status: 401, reason: "future-stamp", message: "Lamport stamp too far ahead" };
        if (!PRE_MEMBERSHIP_PATHS.has(url.pathname) && this.options.auth.isRemoved(host))
            return { status: 403, reason: "removed", message: `${host} was removed from the cluster` };
        return {
            request: {
                method: req.method,
                path: url.pathname,
                query: url.searchParams,
                host,
                clusterId,
                stampUs,
                nonce,
                body,
            },
            secret,
            requestKey: key,
        };
    }
}
//# sourceMappingURL=request-auth.js.map
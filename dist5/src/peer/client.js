import { MarsError } from "../util/errors.js";
import { toPeerErrorCode } from "./error-codes.js";
import { HEADER, newNonce, sha256Hex, signRequest, signResponse, signaturesEqual } from "./auth.js";
/** A peer refused or failed our request; `code` is what it answered (or what was wrong with the answer). */
export class PeerCallError extends MarsError {
    status;
    constructor(status, code, message) {
        super("PEER_CALL_FAILED", message, { code });
        this.status = status;
    }
}
export class PeerClient {
    options;
    keys;
    constructor(options) {
        this.options = options;
    }
    /** From now on, sign member requests with the pair key of the peer they go to. */
    useKeys(keys) {
        this.keys = keys;
    }
    /**
     * The key a request to `peer` is signed with (and its answer and frames
     * verified with). `peer` is the peer's host name; a join's is its address.
     */
    signingKey(credentials, pathWithQuery, peer) {
        if (credentials.clusterId === "" || !this.keys)
            return { key: credentials.secret };
        const key = this.keys(peer);
        if (!key) {
            throw new PeerCallError(0, "unknown-host", `no node key of ${peer} is known here yet (${pathWithQuery})`);
        }
        return key;
    }
    /** Builds the signed headers of a request (signed with the cluster secret when `key` is undefined). */
    signedHeaders(credentials, method, pathWithQuery, body, key = { key: credentials.secret }) {
        const timeMs = this.options.time.nowMs();
        const stampUs = this.options.clock.now();
        const nonce = newNonce(this.options.random);
        const signature = signRequest(key.key, {
            method,
            path: pathWithQuery,
            clusterId: credentials.clusterId,
            host: this.options.host,
            timeMs,
            stampUs,
            nonce,
            bodySha256: sha256Hex(body),
            keyFingerprint: key.fingerprint,
        });
        return {
            nonce,
            headers: {
                [HEADER.cluster]: credentials.clusterId,
                [HEADER.host]: this.options.host,
                [HEADER.timeMs]: String(timeMs),
                [HEADER.stamp]: String(stampUs),
                [HEADER.nonce]: nonce,
                [HEADER.signature]: signature,
                ...(key.fingerprint === undefined ? {} : { [HEADER.key]: key.fingerprint }),
            },
        };
    }
    /**
     * Opens a signed request and returns the raw response (for streamed
     * bodies). `signal` aborts it in every phase: before it is sent, while
     * waiting for the answer's head, and while its body streams (the
     * response then ends with an error). A caller that stops a stream must
     * use it: an abort that arrives while the head is awaited has no
     * response to destroy yet.
     *
     * `peer` is the peer's host name: it labels the metrics, selects the pair
     * key and, over TLS, is the name the peer's certificate must have. The
     * answer's `frameKey` is what a streamed body's frames are MAC'd with.
     */
    async open(credentials, address, method, pathWithQuery, body = Buffer.alloc(0), peer = address, signal) {
        const key = this.signingKey(credentials, pathWithQuery, peer);
        const { headers, nonce } = this.signedHeaders(credentials, method, pathWithQuery, body, key);
        this.options.metrics.peerSentBytes.labels(peer).inc(body.length);
        const response = await this.options.transport.request({
            address,
            method,
            target: pathWithQuery,
            headers: { ...headers, "content-type": "application/json" },
            body,
            timeoutMs: this.options.timeoutMs,
            ...(signal ? { signal } : {}),
            ...(peer !== address ? { peerName: peer } : {}),
        });
        return { response, nonce, frameKey: key.key };
    }
    /** A JSON request/response exchange with a verified, signed answer. */
    async call(credentials, address, method, pathWithQuery, payload, peer = address) {
        const body = Buffer.from(payload === undefined ? "" : JSON.stringify(payload), "utf8");
        const sentAtMs = this.options.time.nowMs();
        const { response, nonce, frameKey } = await this.open(credentials, address, method, pathWithQuery, body, peer);
        const text = await response.body.readAll(this.options.maxResponseBytes);
        const receivedAtMs = this.options.time.nowMs();
        this.options.metrics.peerReceivedBytes.labels(peer).inc(text.length);
        const status = response.status;
        const signature = response.headers[HEADER.signature];
        if (typeof signature !== "string") {
            // Unsigned answers are refusals from the peer's authentication layer (or not from a peer at all).
            const err = parseError(text);
            throw new PeerCallError(status, err?.code ?? "unsigned", err?.message ?? `unsigned answer, HTTP ${status}`);
        }
        if (!signaturesEqual(signature, signResponse(frameKey, nonce, status, sha256Hex(text)))) {
            throw new PeerCallError(status, "bad-response-signature", `answer from ${address} has a bad signature`);
        }
        const stamp = Number(response.headers[HEADER.stamp]);
        if (Number.isSafeInteger(stamp))
            this.options.clock.observe(stamp);
        let parsed;
        try {
            parsed = JSON.parse(text.toString("utf8"));
        }
        catch {
            throw new PeerCallError(status, "bad-json", `answer from ${address} is not JSON`);
        }
        if (status < 200 || status >= 300) {
            const err = parseError(text);
            throw new PeerCallError(status, err?.code ?? "error", err?.message ?? `HTTP ${status}`);
        }
        return { body: parsed, peerTimeMs: Number(response.headers[HEADER.timeMs]), sentAtMs, receivedAtMs };
    }
    /** Ends every connection to peers (shutdown, tests). */
    close() {
        this.options.transport.closeOutgoing();
    }
}
function parseError(text) {
    try {
        const parsed = JSON.parse(text.toString("utf8"));
        const e = parsed.error;
        if (e && typeof e.code === "string" && typeof e.message === "string")
            return { code: toPeerErrorCode(e.code), message: e.message };
    }
    catch {
        // not JSON
    }
    return undefined;
}
//# sourceMappingURL=client.js.map
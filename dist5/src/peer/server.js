import { MarsError } from "../util/errors.js";
import { ReplayFloors } from "./replay-floor.js";
import { HEADER, sha256Hex, signResponse } from "./auth.js";
import { RequestAuthenticator } from "./request-auth.js";
/** An error answered to the peer with an HTTP status and a machine-readable code. */
export class PeerError extends MarsError {
    status;
    constructor(status, code, message) {
        super("PEER_REQUEST_REFUSED", message, { code });
        this.status = status;
    }
}
export class PeerServer {
    options;
    listener;
    routes = new Map();
    /** The checks before a request is acted on (signature, replay, time window, removed senders). */
    authenticator;
    boundPort = 0;
    unauthenticatedRequests = 0;
    unauthenticatedBytes = 0;
    constructor(options) {
        this.options = options;
        this.authenticator = new RequestAuthenticator(options);
        const limit = options.metrics.peerUnauthenticatedLimit;
        limit.labels("requests").set(options.maxUnauthenticatedRequests);
        limit.labels("bytes").set(options.maxUnauthenticatedBytes);
        this.publishUnauthenticated();
    }
    get port() {
        return this.boundPort;
    }
    /** Registers a JSON route: "POST /peer/v1/state/pull". */
    route(methodAndPath, handler, body = "control") {
        this.routes.set(methodAndPath, { json: handler, body });
    }
    routeStream(methodAndPath, handler, body = "control") {
        this.routes.set(methodAndPath, { stream: handler, body });
    }
    async start() {
        const { listen, metrics, logger } = this.options;
        if (this.options.replayFloorFile) {
            const written = metrics.peerReplayFloorWrites;
            this.authenticator.floors = await ReplayFloors.load(this.options.storage, this.options.replayFloorFile, this.options.replayLeaseMs, { written: () => written.inc() });
        }
        if (this.options.maxConnections !== undefined)
            metrics.peerUnauthenticatedLimit.labels("connections").set(this.options.maxConnections);
        const gauge = metrics.peerConnections;
        this.listener = await this.options.transport.listen({
            host: listen.host,
            port: listen.port,
            ...(this.options.maxConnections !== undefined ? { maxConnections: this.options.maxConnections } : {}),
            onRequest: (req, res) => {
                this.handle(req, res).catch((err) => {
                    logger.error({ err }, "peer request failed");
                    if (!res.headSent)
                        this.refuse(res, { status: 500, reason: "internal", message: "internal error" });
                    else
                        res.abort();
                });
            },
            // What the transport cannot parse (a body ending before its Content-Length, a bad head) is
            // the sender's problem: a JSON 400 and a warning, as for every other refusal.
            onMalformed: (problem) => {
                metrics.peerRejectedRequests.labels("malformed").inc();
                logger.warn({ reason: problem.message, code: problem.code }, "peer request could not be parsed");
                return {
                    status: 400,
                    headers: { "content-type": "application/json" },
                    body: Buffer.from(JSON.stringify({
                        error: { code: "malformed", message: problem.message },
                    })),
                };
            },
            onConnectionsChanged: (open) => gauge.set(open),
        });
        this.boundPort = this.listener.port;
    }
    async close() {
        await this.listener?.close();
    }
    async handle(req, res) {
        let url;
        try {
            url = new URL(req.target, "http://peer");
        }
        catch {
            this.refuse(res, {
                status: 400,
                reason: "malformed",
                message: "the request target is not a path",
            });
            return;
        }
        const key = `${req.method} ${url.pathname}`;
        const route = this.routes.get(key);
        if (!route) {
            this.refuse(res, { status: 404, reason: "not-found", message: `no route ${key}` });
            return;
        }
        // Everything that needs no body first: a refusal here never reads a body byte.
        const cap = route.body === "state" ? this.options.maxRequestBodyBytes : this.options.maxControlBodyBytes;
        const headers = this.authenticator.checkHeaders(req, url, cap);
        if ("reason" in headers) {
            this.refuseCounted(req, res, url, headers);
            return;
        }
        const body = await this.readBodyBounded(req, headers.bodyBytes);
        if ("reason" in body) {
            this.refuseCounted(req, res, url, body);
            return;
        }
        const verified = this.authenticator.verify(req, url, headers, body.bytes);
        // Labelled only with a verified sender: a claimed one would let anybody create series.
        this.options.metrics.peerReceivedBytes
            .labels("reason" in verified ? "unverified" : verified.request.host)
            .inc(body.bytes.length);
        if ("reason" in verified) {
            this.refuseCounted(req, res, url, verified);
            return;
        }
        const { request, secret, requestKey } = verified;
        // Durable before acted on: after a restart this request can then never be accepted again.
        await this.authenticator.floors?.cover(request.host, headers.timeMs);
        if (route.stream) {
            await route.stream(request, res, secret, requestKey);
            return;
        }
        let status = 200;
        let payload;
        try {
            payload = await route.json(request);
        }
        catch (err) {
            if (!(err instanceof PeerError))
                throw err;
            status = err.status;
            payload = { error: { code: err.code, message: err.message } };
        }
        const text = Buffer.from(JSON.stringify(payload ?? null), "utf8");
        this.options.metrics.peerSentBytes.labels(request.host).inc(text.length);
        await res.sendWhole(status, {
            "content-type": "application/json",
            [HEADER.stamp]: String(this.options.clock.now()),
            [HEADER.timeMs]: String(this.options.time.nowMs()),
            [HEADER.signature]: signResponse(requestKey, request.nonce, status, sha256Hex(text)),
        }, text);
    }
    /** Reads a body of known length within the listener's bounds for unauthenticated requests. */
    async readBodyBounded(req, bodyBytes) {
        if (this.unauthenticatedRequests >= this.options.maxUnauthenticatedRequests ||
            this.unauthenticatedBytes + bodyBytes > this.options.maxUnauthenticatedBytes) {
            return { status: 503, reason: "busy", message: "too many unauthenticated requests; retry" };
        }
        this.unauthenticatedRequests++;
        this.unauthenticatedBytes += bodyBytes;
        this.publishUnauthenticated();
        try {
            const bytes = await readExactly(req, bodyBytes);
            return bytes
                ? { bytes }
                : { status: 400, reason: "incomplete-body", message: "body shorter than its Content-Length" };
        }
        finally {
            this.unauthenticatedRequests--;
            this.unauthenticatedBytes -= bodyBytes;
            this.publishUnauthenticated();
        }
    }
    publishUnauthenticated() {
        this.options.metrics.peerUnauthenticatedRequests.set(this.unauthenticatedRequests);
        this.options.metrics.peerUnauthenticatedBytes.set(this.unauthenticatedBytes);
    }
    refuseCounted(req, res, url, refusal) {
        this.options.metrics.peerRejectedRequests.labels(refusal.reason).inc();
        // The caller's problem, never ours: warn at most (a flood of these is visible in the metric).
        this.options.logger.warn({
            reason: refusal.reason,
            path: url.pathname,
            remote: req.remoteAddress,
            host: req.headers[HEADER.host],
        }, "peer request refused");
        this.refuse(res, refusal);
    }
    /**
     * Answers a refusal and closes the connection: an unread body is then
     * dropped with the socket instead of being drained through this process.
     */
    refuse(res, refusal) {
        if (res.headSent || res.signal.aborted) {
            res.abort();
            return;
        }
        const text = JSON.stringify({
            error: { code: refusal.reason, message: refusal.message },
        });
        void res.sendWhole(refusal.status, { "content-type": "application/json" }, Buffer.from(text, "utf8"), {
            closeConnection: true,
        });
    }
}
/** Reads exactly `bytes` body bytes; undefined if the request ends short or fails. */
async function readExactly(req, bytes) {
    try {
        const body = await req.body.readAll(bytes);
        return body.length === bytes ? body : undefined;
    }
    catch {
        return undefined;
    }
}
//# sourceMappingURL=server.js.map
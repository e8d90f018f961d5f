/**
 * The peer listener (default port 7777, all addresses): cluster state
 * exchange now, log shipping and sync data later. Separate from the admin
 * listener, and every request must be signed, by its sender's pair key
 * with this node or, to join, with the cluster secret (auth.ts,
 * request-auth.ts); rejected requests are counted by reason.
 *
 * Memory is bounded before anybody is authenticated: everything that needs
 * only headers (route, signature headers, cluster, time window, replay
 * floor, seen nonce, Content-Length against the route's cap) is checked
 * before one body byte is read, and a refused request's connection is
 * closed instead of drained. The signature covers the body's hash, so the
 * body is then read, within two listener-wide bounds (requests and bytes
 * not yet authenticated), and the signature checked at its end.
 *
 * The connections themselves (HTTP, TLS, connection limits, unparseable
 * requests) are the injected Transport's; everything that decides whether
 * a request is acted on is here, above it: the routes, the bounds on bodies
 * not yet authenticated and the refusals, with the authentication checks
 * themselves in request-auth.ts.
 *
 * Routes are registered by the layers that use them. A JSON route answers
 * with a signed JSON body; a stream route writes a body whose integrity the
 * route itself protects (frames with their own MACs, keyed with the key
 * that verified the request), because a streamed body cannot be hashed
 * before it is sent.
 */
import type { Logger } from "pino";
import type { LamportClock } from "../log/lamport-clock.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock } from "../platform/clock.js";
import type { Storage } from "../platform/storage/types.js";
import type { InboundRequest, Listener, ResponseWriter, Transport } from "../platform/transport.js";
import { MarsError } from "../util/errors.js";
import type { PeerErrorBody, PeerErrorCode } from "./error-codes.js";
import { ReplayFloors } from "./replay-floor.js";
import { HEADER, sha256Hex, signResponse } from "./auth.js";
import { RequestAuthenticator, type Refusal } from "./request-auth.js";
import type { PeerKey } from "./node-key.js";

export interface PeerAuthSource {
  /** The cluster this node belongs to, or undefined when it has none. */
  clusterId(): string | undefined;
  secret(): string | undefined;
  /** True for a host removed from the cluster (its requests are refused). */
  isRemoved(host: string): boolean;
  /**
   * The key that verifies requests from `host` (our pair key with it) and
   * the fingerprint of the key registered for it; undefined when it has
   * none. Absent (tools, benchmarks): every request is verified with the
   * cluster secret, as before per-node keys.
   */
  requestKey?(host: string): PeerKey | undefined;
}

export interface PeerRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The authenticated sender. */
  host: string;
  clusterId: string;
  stampUs: number;
  nonce: string;
  body: Buffer;
}

/** An error answered to the peer with an HTTP status and a machine-readable code. */
export class PeerError extends MarsError {
  declare readonly code: PeerErrorCode;
  constructor(
    readonly status: number,
    code: PeerErrorCode,
    message: string,
  ) {
    super("PEER_REQUEST_REFUSED", message, { code });
  }
}

export type JsonRoute = (req: PeerRequest) => unknown;
/**
 * Writes the response itself (status, headers, body); used for long streams.
 * `requestKey` is the key that verified the request (the pair key with the
 * sender): what its frames should be MAC'd with, so that only the sender can
 * check them and no other member can forge them. `secret` is the cluster
 * secret, for routes whose clients still key frames with it.
 */
export type StreamRoute = (
  req: PeerRequest,
  res: ResponseWriter,
  secret: string,
  requestKey: string,
) => Promise<void>;

export interface PeerServerOptions {
  listen: { host: string; port: number };
  /** Carries the requests (and owns TLS). */
  transport: Transport;
  auth: PeerAuthSource;
  clock: LamportClock;
  /** Wall time of the replay window and of answers' time stamps. */
  time: Clock;
  /** Where the replay floors live. */
  storage: Storage;
  metrics: Metrics;
  logger: Logger;
  /** Requests whose wall time is further than this from ours are refused (replay window). */
  timeWindowMs: number;
  /** Body cap of "state" routes (they carry cluster state entries). */
  maxRequestBodyBytes: number;
  /** Body cap of "control" routes (small JSON: pulls, log lists, stream and window requests). */
  maxControlBodyBytes: number;
  /** Open connections; node closes further ones at once (undefined: unbounded, for tools). */
  maxConnections?: number;
  /** Requests being read before their signature can be checked, at once. */
  maxUnauthenticatedRequests: number;
  /** Body bytes (by Content-Length) of those requests together. */
  maxUnauthenticatedBytes: number;
  /** Where the replay floors persist (replay-floor.ts); undefined: in memory only (tools, benchmarks). */
  replayFloorFile?: string;
  replayLeaseMs: number;
}

/** Which body cap a route has: "state" for join and push, "control" for everything small. */
export type BodyClass = "state" | "control";

interface Route {
  json?: JsonRoute;
  stream?: StreamRoute;
  body: BodyClass;
}

export class PeerServer {
  private listener: Listener | undefined;
  private readonly routes = new Map<string, Route>();
  /** The checks before a request is acted on (signature, replay, time window, removed senders). */
  private readonly authenticator: RequestAuthenticator;
  private boundPort = 0;
  private unauthenticatedRequests = 0;
  private unauthenticatedBytes = 0;

  constructor(private readonly options: PeerServerOptions) {
    this.authenticator = new RequestAuthenticator(options);
    const limit = options.metrics.peerUnauthenticatedLimit;
    limit.labels("requests").set(options.maxUnauthenticatedRequests);
    limit.labels("bytes").set(options.maxUnauthenticatedBytes);
    this.publishUnauthenticated();
  }

  get port(): number {
    return this.boundPort;
  }

  /** Registers a JSON route: "POST /peer/v1/state/pull". */
  route(methodAndPath: string, handler: JsonRoute, body: BodyClass = "control"): void {
    this.routes.set(methodAndPath, { json: handler, body });
  }

  routeStream(methodAndPath: string, handler: StreamRoute, body: BodyClass = "control"): void {
    this.routes.set(methodAndPath, { stream: handler, body });
  }

  async start(): Promise<void> {
    const { listen, metrics, logger } = this.options;
    if (this.options.replayFloorFile) {
      const written = metrics.peerReplayFloorWrites;
      this.authenticator.floors = await ReplayFloors.load(
        this.options.storage,
        this.options.replayFloorFile,
        this.options.replayLeaseMs,
        { written: () => written.inc() },
      );
    }
    if (this.options.maxConnections !== undefined)
      metrics.peerUnauthenticatedLimit.labels("connections").set(this.options.maxConnections);
    const gauge = metrics.peerConnections;
    this.listener = await this.options.transport.listen({
      host: listen.host,
      port: listen.port,
      ...(this.options.maxConnections !== undefined ? { maxConnections: this.options.maxConnections } : {}),
      onRequest: (req, res) => {
        this.handle(req, res).catch((err: unknown) => {
          logger.error({ err }, "peer request failed");
          if (!res.headSent) this.refuse(res, { status: 500, reason: "internal", message: "internal error" });
          else res.abort();
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
          body: Buffer.from(
            JSON.stringify({
              error: { code: "malformed", message: problem.message } satisfies PeerErrorBody,
            }),
          ),
        };
      },
      onConnectionsChanged: (open) => gauge.set(open),
    });
    this.boundPort = this.listener.port;
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }

  private async handle(req: InboundRequest, res: ResponseWriter): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.target, "http://peer");
    } catch {
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
    let payload: unknown;
    try {
      payload = await (route.json as JsonRoute)(request);
    } catch (err) {
      if (!(err instanceof PeerError)) throw err;
      status = err.status;
      payload = { error: { code: err.code, message: err.message } satisfies PeerErrorBody };
    }
    const text = Buffer.from(JSON.stringify(payload ?? null), "utf8");
    this.options.metrics.peerSentBytes.labels(request.host).inc(text.length);
    await res.sendWhole(
      status,
      {
        "content-type": "application/json",
        [HEADER.stamp]: String(this.options.clock.now()),
        [HEADER.timeMs]: String(this.options.time.nowMs()),
        [HEADER.signature]: signResponse(requestKey, request.nonce, status, sha256Hex(text)),
      },
      text,
    );
  }

  /** Reads a body of known length within the listener's bounds for unauthenticated requests. */
  private async readBodyBounded(
    req: InboundRequest,
    bodyBytes: number,
  ): Promise<{ bytes: Buffer } | Refusal> {
    if (
      this.unauthenticatedRequests >= this.options.maxUnauthenticatedRequests ||
      this.unauthenticatedBytes + bodyBytes > this.options.maxUnauthenticatedBytes
    ) {
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
    } finally {
      this.unauthenticatedRequests--;
      this.unauthenticatedBytes -= bodyBytes;
      this.publishUnauthenticated();
    }
  }

  private publishUnauthenticated(): void {
    this.options.metrics.peerUnauthenticatedRequests.set(this.unauthenticatedRequests);
    this.options.metrics.peerUnauthenticatedBytes.set(this.unauthenticatedBytes);
  }

  private refuseCounted(req: InboundRequest, res: ResponseWriter, url: URL, refusal: Refusal): void {
    this.options.metrics.peerRejectedRequests.labels(refusal.reason).inc();
    // The caller's problem, never ours: warn at most (a flood of these is visible in the metric).
    this.options.logger.warn(
      {
        reason: refusal.reason,
        path: url.pathname,
        remote: req.remoteAddress,
        host: req.headers[HEADER.host],
      },
      "peer request refused",
    );
    this.refuse(res, refusal);
  }

  /**
   * Answers a refusal and closes the connection: an unread body is then
   * dropped with the socket instead of being drained through this process.
   */
  private refuse(res: ResponseWriter, refusal: Refusal): void {
    if (res.headSent || res.signal.aborted) {
      res.abort();
      return;
    }
    const text = JSON.stringify({
      error: { code: refusal.reason, message: refusal.message } satisfies PeerErrorBody,
    });
    void res.sendWhole(refusal.status, { "content-type": "application/json" }, Buffer.from(text, "utf8"), {
      closeConnection: true,
    });
  }
}

/** Reads exactly `bytes` body bytes; undefined if the request ends short or fails. */
async function readExactly(req: InboundRequest, bytes: number): Promise<Buffer | undefined> {
  try {
    const body = await req.body.readAll(bytes);
    return body.length === bytes ? body : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The peer listener (default port 7777, all addresses): cluster state
 * exchange now, log shipping and sync data later. Separate from the admin
 * listener, and every request must be signed with the cluster secret
 * (auth.ts); rejected requests are counted by reason.
 *
 * Routes are registered by the layers that use them. A JSON route answers
 * with a signed JSON body; a stream route writes a body whose integrity the
 * route itself protects (frames with their own MACs), because a streamed
 * body cannot be hashed before it is sent.
 */
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { LamportClock } from "../cluster/clock.js";
import type { Metrics } from "../metrics/metrics.js";
import {
  HEADER,
  NonceCache,
  sha256Hex,
  signRequest,
  signResponse,
  signaturesEqual,
  type RejectReason,
} from "./auth.js";

export interface PeerAuthSource {
  /** The cluster this node belongs to, or undefined when it has none. */
  clusterId(): string | undefined;
  secret(): string | undefined;
  /** True for a host removed from the cluster (its requests are refused). */
  isRemoved(host: string): boolean;
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
export class PeerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type JsonRoute = (req: PeerRequest) => unknown;
/** Writes the response itself (status, headers, body); used for long streams. */
export type StreamRoute = (req: PeerRequest, res: http.ServerResponse, secret: string) => Promise<void>;

export interface PeerTlsOptions {
  certFile: string;
  keyFile: string;
  /** CA that signs every peer's certificate; also verifies the peers we connect to. */
  caFile: string;
}

export interface PeerServerOptions {
  listen: { host: string; port: number };
  tls?: PeerTlsOptions;
  auth: PeerAuthSource;
  clock: LamportClock;
  metrics: Metrics;
  logger: Logger;
  /** Requests whose wall time is further than this from ours are refused (replay window). */
  timeWindowMs: number;
  maxBodyBytes: number;
}

/** Paths that a node may call before it knows the cluster id (it proves the secret instead). */
const PRE_MEMBERSHIP_PATHS = new Set(["/peer/v1/join"]);

export class PeerServer {
  private server: http.Server | https.Server | undefined;
  private readonly jsonRoutes = new Map<string, JsonRoute>();
  private readonly streamRoutes = new Map<string, StreamRoute>();
  private readonly nonces: NonceCache;
  private boundPort = 0;

  constructor(private readonly options: PeerServerOptions) {
    this.nonces = new NonceCache(options.timeWindowMs);
  }

  get port(): number {
    return this.boundPort;
  }

  /** Registers a JSON route: "POST /peer/v1/state/pull". */
  route(methodAndPath: string, handler: JsonRoute): void {
    this.jsonRoutes.set(methodAndPath, handler);
  }

  routeStream(methodAndPath: string, handler: StreamRoute): void {
    this.streamRoutes.set(methodAndPath, handler);
  }

  async start(): Promise<void> {
    const { tls, listen } = this.options;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger.error({ err }, "peer request failed");
        if (!res.headersSent) this.reject(res, 500, "internal", "internal error");
        else res.destroy();
      });
    };
    this.server = tls
      ? https.createServer(
          {
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
            ca: readFileSync(tls.caFile),
            requestCert: true,
            rejectUnauthorized: true,
          },
          handler,
        )
      : http.createServer(handler);
    this.server.keepAliveTimeout = 30_000;
    this.server.headersTimeout = 20_000;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1_000).unref();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://peer");
    const key = `${req.method ?? "GET"} ${url.pathname}`;
    const jsonRoute = this.jsonRoutes.get(key);
    const streamRoute = this.streamRoutes.get(key);
    if (!jsonRoute && !streamRoute) {
      req.resume();
      this.reject(res, 404, "not-found", `no route ${key}`);
      return;
    }
    const body = await this.readBody(req, res);
    if (!body) return;
    const verified = this.verify(req, url, body);
    // Labelled only with a verified sender: a claimed one would let anybody create series.
    this.options.metrics.peerReceivedBytes
      .labels("reason" in verified ? "unverified" : verified.request.host)
      .inc(body.length);
    if ("reason" in verified) {
      this.options.metrics.peerRejectedRequests.labels(verified.reason).inc();
      this.options.logger.warn(
        {
          reason: verified.reason,
          path: url.pathname,
          remote: req.socket.remoteAddress,
          host: req.headers[HEADER.host],
        },
        "peer request refused",
      );
      this.reject(res, verified.reason === "removed" ? 403 : 401, verified.reason, verified.message);
      return;
    }
    const { request, secret } = verified;
    if (streamRoute) {
      await streamRoute(request, res, secret);
      return;
    }
    let status = 200;
    let payload: unknown;
    try {
      payload = await (jsonRoute as JsonRoute)(request);
    } catch (err) {
      if (!(err instanceof PeerError)) throw err;
      status = err.status;
      payload = { error: { code: err.code, message: err.message } };
    }
    const text = Buffer.from(JSON.stringify(payload ?? null), "utf8");
    this.options.metrics.peerSentBytes.labels(request.host).inc(text.length);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": text.length,
      [HEADER.stamp]: String(this.options.clock.now()),
      [HEADER.timeMs]: String(Date.now()),
      [HEADER.signature]: signResponse(secret, request.nonce, status, sha256Hex(text)),
    });
    res.end(text);
  }

  private readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.options.maxBodyBytes) {
          this.reject(res, 413, "too-large", `body exceeds ${this.options.maxBodyBytes} bytes`);
          req.destroy();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", () => resolve(undefined));
    });
  }

  private verify(
    req: http.IncomingMessage,
    url: URL,
    body: Buffer,
  ): { request: PeerRequest; secret: string } | { reason: RejectReason; message: string } {
    const h = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === "string" ? v : undefined;
    };
    const clusterId = h(HEADER.cluster);
    const host = h(HEADER.host);
    const timeMs = Number(h(HEADER.timeMs));
    const stampUs = Number(h(HEADER.stamp));
    const nonce = h(HEADER.nonce);
    const signature = h(HEADER.signature);
    if (
      clusterId === undefined ||
      !host ||
      !nonce ||
      !signature ||
      !Number.isFinite(timeMs) ||
      !Number.isSafeInteger(stampUs)
    ) {
      return { reason: "missing-headers", message: "request is not signed" };
    }
    const ours = this.options.auth.clusterId();
    const secret = this.options.auth.secret();
    const preMembership = PRE_MEMBERSHIP_PATHS.has(url.pathname) && clusterId === "";
    if (!ours || !secret || (clusterId !== ours && !preMembership)) {
      return { reason: "cluster", message: "request is for another cluster" };
    }
    const expected = signRequest(secret, {
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      clusterId,
      host,
      timeMs,
      stampUs,
      nonce,
      bodySha256: sha256Hex(body),
    });
    if (!signaturesEqual(expected, signature)) return { reason: "signature", message: "bad signature" };
    const nowMs = Date.now();
    if (Math.abs(nowMs - timeMs) > this.options.timeWindowMs) {
      return { reason: "stale", message: `request time is ${Math.round((nowMs - timeMs) / 1000)} s off` };
    }
    if (!this.nonces.accept(nonce, timeMs, nowMs)) return { reason: "replay", message: "nonce already used" };
    if (!this.options.clock.observe(stampUs))
      return { reason: "future-stamp", message: "Lamport stamp too far ahead" };
    if (!PRE_MEMBERSHIP_PATHS.has(url.pathname) && this.options.auth.isRemoved(host))
      return { reason: "removed", message: `${host} was removed from the cluster` };
    return {
      request: {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        host,
        clusterId,
        stampUs,
        nonce,
        body,
      },
      secret,
    };
  }

  private reject(res: http.ServerResponse, status: number, code: string, message: string): void {
    const text = JSON.stringify({ error: { code, message } });
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }
}

/**
 * Decides whether a peer request is authentic, before it is acted on.
 *
 * In two steps, so that memory stays bounded before anybody is
 * authenticated: `checkHeaders` needs only the request head (signature
 * headers present, our cluster, within the time window, not a replay of a
 * request seen or signed before this node restarted, a Content-Length
 * within the route's cap), cheapest check first; `verify` checks the
 * signature over the body's hash once the body is read, then accepts the
 * nonce, observes the Lamport stamp and refuses removed hosts. Each failure
 * is a Refusal with the HTTP status and the reason counted and answered.
 */
import type { LamportClock } from "../log/lamport-clock.js";
import type { Clock } from "../platform/clock.js";
import type { InboundRequest } from "../platform/transport.js";
import type { PeerErrorCode } from "./error-codes.js";
import type { ReplayFloors } from "./replay-floor.js";
import { HEADER, NonceCache, sha256Hex, signRequest, signaturesEqual, type RejectReason } from "./auth.js";
import type { PeerAuthSource, PeerRequest } from "./server.js";

/** Paths that a node may call before it knows the cluster id (it proves the secret instead). */
export const PRE_MEMBERSHIP_PATHS = new Set(["/peer/v1/join"]);

export type Refusal = { status: number; reason: RejectReason | RefusalCode; message: string };
type RefusalCode = Extract<
  PeerErrorCode,
  "not-found" | "length-required" | "too-large" | "busy" | "incomplete-body" | "malformed" | "internal"
>;

export interface SignedHeaders {
  clusterId: string;
  host: string;
  timeMs: number;
  stampUs: number;
  nonce: string;
  signature: string;
  bodyBytes: number;
}

export interface RequestAuthOptions {
  auth: PeerAuthSource;
  clock: LamportClock;
  /** Wall time of the replay window. */
  time: Clock;
  /** Requests whose wall time is further than this from ours are refused (replay window). */
  timeWindowMs: number;
}

export class RequestAuthenticator {
  private readonly nonces: NonceCache;
  /** The persisted replay floors, once loaded (undefined: in memory only). */
  floors: ReplayFloors | undefined;

  constructor(private readonly options: RequestAuthOptions) {
    this.nonces = new NonceCache(options.timeWindowMs);
  }

  /** The checks that need only the request head, cheapest first; `capBytes` bounds the body. */
  checkHeaders(req: InboundRequest, url: URL, capBytes: number): SignedHeaders | Refusal {
    const h = (name: string): string | undefined => req.headers[name];
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
    return { clusterId, host, timeMs, stampUs, nonce, signature, bodyBytes };
  }

  /** Checks the signature over the body and accepts the request, or refuses it. */
  verify(
    req: InboundRequest,
    url: URL,
    headers: SignedHeaders,
    body: Buffer,
  ): { request: PeerRequest; secret: string } | Refusal {
    const { clusterId, host, timeMs, stampUs, nonce, signature } = headers;
    const secret = this.options.auth.secret();
    if (!secret) return { status: 401, reason: "cluster", message: "request is for another cluster" };
    const expected = signRequest(secret, {
      method: req.method,
      path: url.pathname + url.search,
      clusterId,
      host,
      timeMs,
      stampUs,
      nonce,
      bodySha256: sha256Hex(body),
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
    };
  }
}

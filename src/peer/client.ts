/**
 * Signed requests to other nodes' peer listeners, over the injected
 * Transport (which owns connections: keep-alive, sockets per peer, TLS).
 * Every response's signature is checked before its body is used, and its
 * Lamport stamp observed.
 */
import type { LamportClock } from "../log/lamport-clock.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock } from "../platform/clock.js";
import type { Random } from "../platform/random.js";
import type { InboundResponse, Transport } from "../platform/transport.js";
import { MarsError } from "../util/errors.js";
import { toPeerErrorCode, type PeerErrorCode } from "./error-codes.js";
import { HEADER, newNonce, sha256Hex, signRequest, signResponse, signaturesEqual } from "./auth.js";

/** A peer refused or failed our request; `code` is what it answered (or what was wrong with the answer). */
export class PeerCallError extends MarsError {
  declare readonly code: PeerErrorCode;
  constructor(
    readonly status: number,
    code: PeerErrorCode,
    message: string,
  ) {
    super("PEER_CALL_FAILED", message, { code });
  }
}

export interface PeerCallResult<T> {
  body: T;
  /** The peer's wall clock when it answered. */
  peerTimeMs: number;
  /** Wall time when we sent and when we got the answer: for skew estimates. */
  sentAtMs: number;
  receivedAtMs: number;
}

export interface PeerCredentials {
  clusterId: string;
  secret: string;
}

export interface PeerClientOptions {
  host: string;
  clock: LamportClock;
  /** Wall time of the signatures and of the skew estimates. */
  time: Clock;
  /** Draws the request nonces (crypto-grade in production). */
  random: Random;
  metrics: Metrics;
  /** Carries the requests; this client is the only user of its outgoing side (close() ends it). */
  transport: Transport;
  timeoutMs: number;
  maxResponseBytes: number;
}

export class PeerClient {
  constructor(private readonly options: PeerClientOptions) {}

  /** Builds the signed headers of a request. */
  signedHeaders(credentials: PeerCredentials, method: string, pathWithQuery: string, body: Buffer) {
    const timeMs = this.options.time.nowMs();
    const stampUs = this.options.clock.now();
    const nonce = newNonce(this.options.random);
    const signature = signRequest(credentials.secret, {
      method,
      path: pathWithQuery,
      clusterId: credentials.clusterId,
      host: this.options.host,
      timeMs,
      stampUs,
      nonce,
      bodySha256: sha256Hex(body),
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
   */
  async open(
    credentials: PeerCredentials,
    address: string,
    method: string,
    pathWithQuery: string,
    body: Buffer = Buffer.alloc(0),
    peerLabel = address,
    signal?: AbortSignal,
  ): Promise<{ response: InboundResponse; nonce: string }> {
    const { headers, nonce } = this.signedHeaders(credentials, method, pathWithQuery, body);
    this.options.metrics.peerSentBytes.labels(peerLabel).inc(body.length);
    const response = await this.options.transport.request({
      address,
      method,
      target: pathWithQuery,
      headers: { ...headers, "content-type": "application/json" },
      body,
      timeoutMs: this.options.timeoutMs,
      ...(signal ? { signal } : {}),
    });
    return { response, nonce };
  }

  /** A JSON request/response exchange with a verified, signed answer. */
  async call<T>(
    credentials: PeerCredentials,
    address: string,
    method: string,
    pathWithQuery: string,
    payload?: unknown,
    peerLabel = address,
  ): Promise<PeerCallResult<T>> {
    const body = Buffer.from(payload === undefined ? "" : JSON.stringify(payload), "utf8");
    const sentAtMs = this.options.time.nowMs();
    const { response, nonce } = await this.open(credentials, address, method, pathWithQuery, body, peerLabel);
    const text = await response.body.readAll(this.options.maxResponseBytes);
    const receivedAtMs = this.options.time.nowMs();
    this.options.metrics.peerReceivedBytes.labels(peerLabel).inc(text.length);
    const status = response.status;
    const signature = response.headers[HEADER.signature];
    if (typeof signature !== "string") {
      // Unsigned answers are refusals from the peer's authentication layer (or not from a peer at all).
      const err = parseError(text);
      throw new PeerCallError(
        status,
        err?.code ?? "unsigned",
        err?.message ?? `unsigned answer, HTTP ${status}`,
      );
    }
    if (!signaturesEqual(signature, signResponse(credentials.secret, nonce, status, sha256Hex(text)))) {
      throw new PeerCallError(status, "bad-response-signature", `answer from ${address} has a bad signature`);
    }
    const stamp = Number(response.headers[HEADER.stamp]);
    if (Number.isSafeInteger(stamp)) this.options.clock.observe(stamp);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.toString("utf8"));
    } catch {
      throw new PeerCallError(status, "bad-json", `answer from ${address} is not JSON`);
    }
    if (status < 200 || status >= 300) {
      const err = parseError(text);
      throw new PeerCallError(status, err?.code ?? "error", err?.message ?? `HTTP ${status}`);
    }
    return { body: parsed as T, peerTimeMs: Number(response.headers[HEADER.timeMs]), sentAtMs, receivedAtMs };
  }

  /** Ends every connection to peers (shutdown, tests). */
  close(): void {
    this.options.transport.closeOutgoing();
  }
}

function parseError(text: Buffer): { code: PeerErrorCode; message: string } | undefined {
  try {
    const parsed = JSON.parse(text.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    const e = parsed.error;
    if (e && typeof e.code === "string" && typeof e.message === "string")
      return { code: toPeerErrorCode(e.code), message: e.message };
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Signed requests to other nodes' peer listeners, over the injected
 * Transport (which owns connections: keep-alive, sockets per peer, TLS).
 * Every response's signature is checked before its body is used, and its
 * Lamport stamp observed.
 *
 * Which key signs (see request-auth.ts for the receiving side): a join, the
 * cluster secret; once this node has a key (`useKeys`), every other request
 * the pair key with the peer named by `peer` (its host name), or none at
 * all: a request to a peer whose key is not known yet fails here with
 * "unknown-host" rather than go out signed with the secret every member
 * knows. Without keys (tools, tests acting as outsiders) the cluster secret
 * signs everything, as before per-node keys.
 */
import type { LamportClock } from "../log/lamport-clock.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock } from "../platform/clock.js";
import type { Random } from "../platform/random.js";
import type { InboundResponse, Transport } from "../platform/transport.js";
import { MarsError } from "../util/errors.js";
import { toPeerErrorCode, type PeerErrorCode } from "./error-codes.js";
import { HEADER, newNonce, sha256Hex, signRequest, signResponse, signaturesEqual } from "./auth.js";
import type { PeerKey } from "./node-key.js";

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

/** Our key with a peer (by host name), or undefined if its key is not known (yet). */
export type PeerKeySource = (peer: string) => PeerKey | undefined;

export class PeerClient {
  private keys: PeerKeySource | undefined;

  constructor(private readonly options: PeerClientOptions) {}

  /** From now on, sign member requests with the pair key of the peer they go to. */
  useKeys(keys: PeerKeySource): void {
    this.keys = keys;
  }

  /**
   * The key a request to `peer` is signed with (and its answer and frames
   * verified with). `peer` is the peer's host name; a join's is its address.
   */
  private signingKey(
    credentials: PeerCredentials,
    pathWithQuery: string,
    peer: string,
  ): Partial<PeerKey> & { key: string } {
    if (credentials.clusterId === "" || !this.keys) return { key: credentials.secret };
    const key = this.keys(peer);
    if (!key) {
      throw new PeerCallError(
        0,
        "unknown-host",
        `no node key of ${peer} is known here yet (${pathWithQuery})`,
      );
    }
    return key;
  }

  /** Builds the signed headers of a request (signed with the cluster secret when `key` is undefined). */
  signedHeaders(
    credentials: PeerCredentials,
    method: string,
    pathWithQuery: string,
    body: Buffer,
    key: Partial<PeerKey> & { key: string } = { key: credentials.secret },
  ) {
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
  async open(
    credentials: PeerCredentials,
    address: string,
    method: string,
    pathWithQuery: string,
    body: Buffer = Buffer.alloc(0),
    peer = address,
    signal?: AbortSignal,
  ): Promise<{ response: InboundResponse; nonce: string; frameKey: string }> {
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
  async call<T>(
    credentials: PeerCredentials,
    address: string,
    method: string,
    pathWithQuery: string,
    payload?: unknown,
    peer = address,
  ): Promise<PeerCallResult<T>> {
    const body = Buffer.from(payload === undefined ? "" : JSON.stringify(payload), "utf8");
    const sentAtMs = this.options.time.nowMs();
    const { response, nonce, frameKey } = await this.open(
      credentials,
      address,
      method,
      pathWithQuery,
      body,
      peer,
    );
    const text = await response.body.readAll(this.options.maxResponseBytes);
    const receivedAtMs = this.options.time.nowMs();
    this.options.metrics.peerReceivedBytes.labels(peer).inc(text.length);
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
    if (!signaturesEqual(signature, signResponse(frameKey, nonce, status, sha256Hex(text)))) {
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

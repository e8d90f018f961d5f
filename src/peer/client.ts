/**
 * Signed requests to other nodes' peer listeners. One keep-alive agent per
 * address with a bounded number of sockets; every response's signature is
 * checked before its body is used, and its Lamport stamp observed.
 */
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import type { LamportClock } from "../cluster/clock.js";
import type { Metrics } from "../metrics/metrics.js";
import { HEADER, newNonce, sha256Hex, signRequest, signResponse, signaturesEqual } from "./auth.js";
import type { PeerTlsOptions } from "./server.js";

export class PeerCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "PeerCallError";
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
  metrics: Metrics;
  tls?: PeerTlsOptions;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Sockets per peer address. */
  maxSocketsPerPeer: number;
  /** Keep connections open between requests (default true; off lets one process simulate many nodes). */
  keepAlive?: boolean;
}

export class PeerClient {
  private readonly agents = new Map<string, http.Agent>();
  private readonly tlsMaterial: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;

  constructor(private readonly options: PeerClientOptions) {
    const tls = options.tls;
    this.tlsMaterial = tls && {
      ca: readFileSync(tls.caFile),
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
    };
  }

  private agent(address: string): http.Agent {
    let agent = this.agents.get(address);
    if (!agent) {
      const common = {
        keepAlive: this.options.keepAlive ?? true,
        maxSockets: this.options.maxSocketsPerPeer,
        timeout: this.options.timeoutMs,
      };
      agent = this.tlsMaterial ? new https.Agent({ ...common, ...this.tlsMaterial }) : new http.Agent(common);
      this.agents.set(address, agent);
    }
    return agent;
  }

  /** Builds the signed headers of a request. */
  signedHeaders(credentials: PeerCredentials, method: string, pathWithQuery: string, body: Buffer) {
    const timeMs = Date.now();
    const stampUs = this.options.clock.now();
    const nonce = newNonce();
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
  open(
    credentials: PeerCredentials,
    address: string,
    method: string,
    pathWithQuery: string,
    body: Buffer = Buffer.alloc(0),
    peerLabel = address,
    signal?: AbortSignal,
  ): Promise<{ response: http.IncomingMessage; nonce: string; request: http.ClientRequest }> {
    const { headers, nonce } = this.signedHeaders(credentials, method, pathWithQuery, body);
    const [hostname, port] = splitAddress(address);
    const lib = this.tlsMaterial ? https : http;
    return new Promise((resolve, reject) => {
      const request = lib.request(
        {
          method,
          hostname,
          port,
          path: pathWithQuery,
          agent: this.agent(address),
          headers: { ...headers, "content-type": "application/json", "content-length": body.length },
          timeout: this.options.timeoutMs,
          signal,
        },
        (response) => resolve({ response, nonce, request }),
      );
      request.on("timeout", () =>
        request.destroy(new Error(`peer ${address} did not answer within ${this.options.timeoutMs} ms`)),
      );
      request.on("error", reject);
      this.options.metrics.peerSentBytes.labels(peerLabel).inc(body.length);
      request.end(body);
    });
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
    const sentAtMs = Date.now();
    const { response, nonce } = await this.open(credentials, address, method, pathWithQuery, body, peerLabel);
    const text = await readLimited(response, this.options.maxResponseBytes);
    const receivedAtMs = Date.now();
    this.options.metrics.peerReceivedBytes.labels(peerLabel).inc(text.length);
    const status = response.statusCode ?? 0;
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

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

function parseError(text: Buffer): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(text.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    const e = parsed.error;
    if (e && typeof e.code === "string" && typeof e.message === "string")
      return { code: e.code, message: e.message };
  } catch {
    // not JSON
  }
  return undefined;
}

export function splitAddress(address: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  if (!m) throw new Error(`peer address "${address}" is not host:port`);
  return [(m[1] ?? m[2]) as string, Number(m[3])];
}

export function readLimited(stream: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy(new Error(`answer exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
    stream.on("aborted", () => reject(new Error("answer aborted")));
  });
}

/**
 * The network seam. The peer layer (src/peer: signatures, caps, replay
 * floors, routes) and everything above it talk to other nodes only through
 * a Transport, so the simulator can run a whole cluster in one process on a
 * network it controls (delays, bandwidth, resets, one-way partitions, slow
 * readers) and replay a failure from its seed. Production wires
 * `NodeTransport` (node-transport.ts: HTTP/1.1, or HTTPS with mutual TLS).
 *
 * What crosses it is one exchange at a time: a request (method, target,
 * headers, a whole body) and its response (status, headers, a body that is
 * either whole or streamed). The transport authenticates nothing and
 * interprets no header except the body's length; that is the peer layer's
 * job, above it.
 *
 * Contract, for every implementation (the simulated one included):
 * - Header names are lower case. A whole body's length is in
 *   `content-length` (the sender sets it; the peer listener refuses a
 *   request without it). A streamed response has none.
 * - Bodies arrive as chunks of any size and split (a frame may straddle
 *   chunks). A reader that stops pulling stops the sender: a stream's
 *   `write` resolves only once its bytes were handed to the connection, and
 *   while the reader does not read, the connection's buffer fills and the
 *   next `write` waits. Memory is bounded by that buffer, not by the stream.
 * - A connection can fail in every phase. The failure reaches whoever waits
 *   on it as a rejection: `request` rejects, a body's iteration or
 *   `readAll` throws, a `write` rejects, and `ResponseWriter.signal`
 *   aborts. Nothing hangs on a connection that is gone.
 * - `OutboundRequest.signal` aborts the exchange in every phase: before it
 *   is sent, while the answer's head is awaited (`request` rejects with an
 *   AbortError), and while its body streams (iteration throws).
 *   `timeoutMs` bounds every wait on the connection (no head, or no bytes
 *   for that long): the exchange then fails with a TransportError "timeout".
 * - Callbacks (`onRequest`, `onMalformed`, `onConnectionsChanged`) run on
 *   the event loop, never synchronously inside the call that caused them.
 */
import { AddressError, MarsError } from "../util/errors.js";

/** Headers as received or to send: lower-case names, one string each. */
export type TransportHeaders = Readonly<Record<string, string>>;

/** Failures of the connection itself (as opposed to an answer the peer gave). */
export type TransportErrorCode = "timeout" | "too-large" | "aborted" | "reset";

export class TransportError extends MarsError {
  declare readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string) {
    super("TRANSPORT_FAILED", message, { code });
  }
}

/** A body as it arrives: iterate it (streams), or read it whole within a cap. */
export interface IncomingBody extends AsyncIterable<Buffer> {
  /**
   * The whole body. Rejects (TransportError "too-large") and drops the
   * connection's rest of it as soon as more than `maxBytes` arrived; rejects
   * when the body ends abnormally (reset, abort). Call once, instead of
   * iterating.
   */
  readAll(maxBytes: number): Promise<Buffer>;
  /** Bytes received and not yet consumed: 0 means the reader has caught up with the sender. */
  readonly bufferedBytes: number;
}

/** A request as the listener received it. */
export interface InboundRequest {
  method: string;
  /** Path and query, as sent ("/peer/v1/log/list?x=1"). */
  target: string;
  headers: TransportHeaders;
  /** Who connected, for logs only (never for trust decisions). */
  remoteAddress: string | undefined;
  /**
   * Over TLS: the names (subject CN, SAN DNS names) of the client
   * certificate, which the cluster CA verified. Undefined without TLS.
   */
  peerNames?: string[];
  body: IncomingBody;
}

/** The answer to one InboundRequest: whole (sendWhole) or streamed (startStream, write..., end). */
export interface ResponseWriter {
  /** True once the status and headers went out (a second answer is then impossible; abort instead). */
  readonly headSent: boolean;
  /**
   * Aborts when the exchange is over: completed, aborted here, or the
   * connection lost (the peer went away). A stream writer stops at it.
   */
  readonly signal: AbortSignal;
  /**
   * Sends status, headers and a whole body (content-length is set from it).
   * With `closeConnection` the connection is closed after it: a request
   * body that was not read is then dropped with the connection instead of
   * being drained through this process.
   */
  sendWhole(
    status: number,
    headers: TransportHeaders,
    body: Buffer,
    options?: { closeConnection?: boolean },
  ): Promise<void>;
  /** Sends status and headers of a streamed body; `write` and `end` follow. */
  startStream(status: number, headers: TransportHeaders): void;
  /**
   * Hands the chunks to the connection, in order. Resolves once the
   * connection accepted them (at once while its buffer has room, else when
   * the reader has made room: backpressure); rejects once the exchange is
   * over (`signal` aborted).
   */
  write(chunks: readonly Buffer[]): Promise<void>;
  /** Ends the streamed body normally; idempotent, and harmless after an abort. */
  end(): Promise<void>;
  /** Cuts the exchange (and its connection): the reader sees its body fail, not end. */
  abort(): void;
}

/** What a request that could not be parsed (bad head, body shorter than its length) is answered with. */
export interface MalformedAnswer {
  status: number;
  headers: TransportHeaders;
  body: Buffer;
}

export interface ListenOptions {
  host: string;
  /** 0: any free port (see Listener.port). */
  port: number;
  /** Open connections at once; further ones are closed on arrival (undefined: unbounded). */
  maxConnections?: number;
  onRequest(request: InboundRequest, response: ResponseWriter): void;
  /**
   * A request the transport could not parse. Return the answer to send
   * before the connection is closed. Not called when the connection is
   * already gone (nothing could be answered).
   */
  onMalformed(problem: { message: string; code: string | undefined }): MalformedAnswer;
  /** The number of open connections changed. */
  onConnectionsChanged?(open: number): void;
}

export interface Listener {
  /** The bound port (the real one when ListenOptions.port was 0). */
  readonly port: number;
  /**
   * Stops accepting, closes idle connections at once and, after a short
   * grace for exchanges in flight, every connection. Resolves once closed.
   */
  close(): Promise<void>;
}

export interface OutboundRequest {
  /** "host:port" or "[v6]:port" of the peer's listener. */
  address: string;
  method: string;
  /** Path and query. */
  target: string;
  headers: TransportHeaders;
  body: Buffer;
  /** Bound of every wait on the connection, in every phase. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * The host name the answering node must have: over TLS its certificate
   * must name it (CN or SAN DNS). Undefined: the address's host name is checked.
   */
  peerName?: string;
}

export interface InboundResponse {
  status: number;
  headers: TransportHeaders;
  body: IncomingBody;
}

export interface Transport {
  listen(options: ListenOptions): Promise<Listener>;
  /** Sends a request; resolves with the answer's head once it arrived (its body follows). */
  request(request: OutboundRequest): Promise<InboundResponse>;
  /** Ends every outgoing connection (kept-alive ones included); later requests open new ones. */
  closeOutgoing(): void;
}

/** Splits "host:port" / "[v6]:port"; throws on anything else. */
export function splitAddress(address: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  if (!m) throw new AddressError(`peer address "${address}" is not host:port`);
  return [(m[1] ?? m[2]) as string, Number(m[3])];
}

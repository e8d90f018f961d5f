/**
 * The NBD transmission phase for one connection: parse pipelined requests,
 * run them concurrently against the volume, answer each with a simple
 * reply as soon as it completes (replies carry the client's cookie, so
 * their order does not matter).
 *
 * Bounds: at most `maxInFlight` requests per connection are being served;
 * beyond that (or while the client does not read our replies) we stop
 * reading the socket, so a fast client cannot make us buffer without limit.
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Counter, Histogram } from "prom-client";
import { ReadOnlyError, VolumeFailedError, type BlockVolume } from "../../resource/block-volume.js";
import type { Metrics } from "../../metrics/metrics.js";
import { ClosedError, OutOfRangeError } from "../../util/errors.js";
import type { ByteQueue } from "./byte-queue.js";
import {
  CMD_NAMES,
  Cmd,
  CmdFlag,
  ERRNO_NAMES,
  Errno,
  MAX_PAYLOAD_BYTES,
  REQUEST_HEADER_BYTES,
  REQUEST_MAGIC,
  SIMPLE_REPLY_BYTES,
  SIMPLE_REPLY_MAGIC,
} from "./protocol.js";

/**
 * Flags each command accepts; anything else is answered with EINVAL. FUA is
 * valid on every command once SEND_FUA is advertised (proto.md: the server
 * MUST accept it, clients are known to set it on reads and flushes).
 */
const ALLOWED_FLAGS: Record<number, number> = {
  [Cmd.READ]: CmdFlag.FUA,
  [Cmd.WRITE]: CmdFlag.FUA,
  [Cmd.FLUSH]: CmdFlag.FUA,
  [Cmd.TRIM]: CmdFlag.FUA,
  [Cmd.WRITE_ZEROES]: CmdFlag.FUA | CmdFlag.NO_HOLE,
  [Cmd.DISC]: CmdFlag.FUA,
};

interface Request {
  flags: number;
  type: number;
  cookie: Buffer;
  offset: number;
  length: number;
  startedMs: number;
}

interface CommandMetrics {
  requests: Counter.Internal;
  bytes: Counter.Internal;
  duration: Histogram.Internal<string>;
}

export interface SessionOptions {
  maxInFlight: number;
  onClose: () => void;
  logError: (err: unknown, context: Record<string, unknown>) => void;
}

type ParseState =
  | { kind: "header" }
  | { kind: "payload"; request: Request }
  | { kind: "discard"; request: Request; left: number };

export class TransmissionSession {
  private state: ParseState = { kind: "header" };
  private inFlight = 0;
  private readingPaused = false;
  private disconnecting = false;
  private closed = false;
  private corked = false;
  private parsing = false;
  private readonly commandMetrics = new Map<number, CommandMetrics>();
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    readonly exportName: string,
    private readonly volume: BlockVolume,
    private readonly queue: ByteQueue,
    private readonly metrics: Metrics,
    private readonly options: SessionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.queue.push(chunk);
      this.parse();
    });
    socket.on("drain", () => this.updateFlowControl());
    socket.on("close", () => this.onSocketClosed());
    socket.on("error", () => undefined);
    metrics.nbdConnections.labels(exportName).inc();
    this.parse();
  }

  /** Stop taking requests, answer those in flight, then close. */
  async shutdown(): Promise<void> {
    this.disconnecting = true;
    this.pauseReading();
    await this.idle();
    this.socket.end();
  }

  /** Drop the connection immediately. */
  destroy(): void {
    this.socket.destroy();
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.metrics.nbdConnections.labels(this.exportName).dec();
    this.metrics.nbdInflightRequests.dec(this.inFlight);
    this.options.onClose();
  }

  private parse(): void {
    // Replies can complete synchronously inside this loop; they must not re-enter it.
    if (this.parsing) return;
    this.parsing = true;
    try {
      this.parseLoop();
    } finally {
      this.parsing = false;
    }
    this.updateFlowControl();
  }

  private parseLoop(): void {
    while (!this.disconnecting && !this.closed) {
      if (this.state.kind === "header") {
        if (this.inFlight >= this.options.maxInFlight) break;
        if (this.queue.length < REQUEST_HEADER_BYTES) break;
        const h = this.queue.take(REQUEST_HEADER_BYTES);
        if (h.readUInt32BE(0) !== REQUEST_MAGIC) {
          this.protocolViolation("bad request magic");
          return;
        }
        const offset = h.readUInt32BE(16) * 2 ** 32 + h.readUInt32BE(20);
        const request: Request = {
          flags: h.readUInt16BE(4),
          type: h.readUInt16BE(6),
          cookie: Buffer.from(h.subarray(8, 16)),
          offset,
          length: h.readUInt32BE(24),
          startedMs: performance.now(),
        };
        if (request.type === Cmd.WRITE) {
          this.state =
            request.length > MAX_PAYLOAD_BYTES
              ? { kind: "discard", request, left: request.length }
              : { kind: "payload", request };
          continue;
        }
        if (request.type === Cmd.DISC) {
          // Soft disconnect: finish what is in flight, then close.
          void this.shutdown();
          return;
        }
        this.dispatch(request, undefined);
      } else if (this.state.kind === "payload") {
        const { request } = this.state;
        if (this.queue.length < request.length) break;
        const data = this.queue.take(request.length);
        this.state = { kind: "header" };
        this.dispatch(request, data);
      } else {
        // A WRITE longer than we accept: its data must still be consumed to stay in sync.
        this.state.left -= this.queue.skip(this.state.left);
        if (this.state.left > 0) break;
        const { request } = this.state;
        this.state = { kind: "header" };
        this.beginRequest();
        this.reply(request, Errno.EINVAL);
      }
    }
  }

  private dispatch(request: Request, data: Buffer | undefined): void {
    this.beginRequest();
    const errno = this.validate(request);
    if (errno !== Errno.OK) {
      this.reply(request, errno);
      return;
    }
    this.execute(request, data).catch((err: unknown) => {
      const code = this.errnoFor(err, request.type);
      // A failed volume was reported once, when it failed; refusals are not news.
      if (code === Errno.EIO && !(err instanceof VolumeFailedError)) {
        this.options.logError(err, { export: this.exportName, command: CMD_NAMES[request.type] });
      }
      this.reply(request, code);
    });
  }

  private validate(request: Request): number {
    const allowed = ALLOWED_FLAGS[request.type];
    if (allowed === undefined) return Errno.EINVAL;
    if ((request.flags & ~allowed) !== 0) return Errno.EINVAL;
    if (!Number.isSafeInteger(request.offset)) return request.type === Cmd.READ ? Errno.EINVAL : Errno.ENOSPC;
    if (request.type === Cmd.READ && request.length > MAX_PAYLOAD_BYTES) return Errno.EINVAL;
    return Errno.OK;
  }

  private async execute(request: Request, data: Buffer | undefined): Promise<void> {
    const { volume } = this;
    switch (request.type) {
      case Cmd.READ: {
        // Read straight into the reply buffer behind the reply header: one write, no copy.
        const reply = Buffer.allocUnsafe(SIMPLE_REPLY_BYTES + request.length);
        await volume.read(request.offset, reply.subarray(SIMPLE_REPLY_BYTES));
        this.reply(request, Errno.OK, reply);
        return;
      }
      case Cmd.WRITE:
        await volume.write(request.offset, data as Buffer);
        break;
      case Cmd.WRITE_ZEROES:
        await volume.writeZeroes(request.offset, request.length);
        break;
      case Cmd.TRIM:
        await volume.trim(request.offset, request.length);
        break;
      case Cmd.FLUSH:
        await volume.flush();
        break;
    }
    // FUA needs nothing extra: the volume acknowledges only durable writes.
    this.reply(request, Errno.OK);
  }

  private errnoFor(err: unknown, type: number): number {
    if (err instanceof OutOfRangeError) {
      return type === Cmd.WRITE || type === Cmd.WRITE_ZEROES ? Errno.ENOSPC : Errno.EINVAL;
    }
    if (err instanceof ReadOnlyError) return Errno.EPERM;
    if (err instanceof ClosedError) return Errno.ESHUTDOWN;
    return Errno.EIO;
  }

  private beginRequest(): void {
    this.inFlight += 1;
    this.metrics.nbdInflightRequests.inc();
  }

  /** Sends a simple reply; `withData` is a READ reply buffer with room for the header. */
  private reply(request: Request, errno: number, withData?: Buffer): void {
    this.inFlight -= 1;
    this.metrics.nbdInflightRequests.dec();
    this.account(request, errno);
    if (!this.closed) {
      const out = errno === Errno.OK && withData ? withData : Buffer.allocUnsafe(SIMPLE_REPLY_BYTES);
      out.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
      out.writeUInt32BE(errno, 4);
      request.cookie.copy(out, 8);
      // Replies completing in the same event-loop turn leave in one writev:
      // every IO completion is its own callback (and its own tick), so
      // uncorking on nextTick would still cost one syscall per reply.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        setImmediate(this.uncork);
      }
      this.socket.write(out);
    }
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    // A slot freed up: requests may be waiting in the buffer.
    if (!this.disconnecting && !this.closed) this.parse();
  }

  private account(request: Request, errno: number): void {
    let m = this.commandMetrics.get(request.type);
    if (!m) {
      const command = CMD_NAMES[request.type] ?? "unknown";
      m = {
        requests: this.metrics.nbdRequests.labels(this.exportName, command),
        bytes: this.metrics.nbdRequestBytes.labels(this.exportName, command),
        duration: this.metrics.nbdRequestDuration.labels(command),
      };
      this.commandMetrics.set(request.type, m);
    }
    m.requests.inc();
    m.duration.observe((performance.now() - request.startedMs) / 1000);
    if (errno === Errno.OK) {
      if (request.type === Cmd.READ || request.type === Cmd.WRITE) m.bytes.inc(request.length);
    } else {
      this.metrics.nbdRequestErrors
        .labels(this.exportName, CMD_NAMES[request.type] ?? "unknown", ERRNO_NAMES[errno] ?? String(errno))
        .inc();
    }
  }

  private updateFlowControl(): void {
    const shouldPause =
      this.disconnecting || this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain;
    if (shouldPause) this.pauseReading();
    else if (this.readingPaused) {
      this.readingPaused = false;
      this.socket.resume();
    }
  }

  private pauseReading(): void {
    if (!this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  private protocolViolation(reason: string): void {
    this.options.logError(new Error(reason), { export: this.exportName, event: "protocol violation" });
    this.socket.destroy();
  }
}

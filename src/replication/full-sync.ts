/**
 * Sync: a secondary copies the primary's disk, all of it (a joining
 * member: full sync) or a list of regions (a region resync: the regions
 * a gap in the log skipped, see LogFileHeader.gap), through the same code.
 *
 * The secondary walks its disk in chunks and sends, for a window of chunks,
 * the SHA-256 of what it already holds; the primary reads the same chunks
 * through its volume (so it sees every acknowledged write), and answers
 * each with SAME (nothing to send) or DATA. A disk that is mostly equal
 * (a re-join after a short absence, a pre-seeded copy) therefore costs
 * little bandwidth.
 *
 * Progress is persisted after every window (after an fdatasync of the
 * local disk), so an interrupted sync resumes where it stopped, after a
 * network fault or a restart. When the last window is done, the primary's
 * durable log position at that moment is kept as `syncEnd`: the replica is
 * consistent only once its replay has passed that point (MARS's syncpos).
 * While a sync runs, replay waits (see resource/replicated-resource.ts):
 * replaying into regions the copy has not reached yet would be overwritten
 * with older data.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { LogPosition } from "../log/log-stream.js";
import type { Metrics } from "../metrics/metrics.js";
import { PeerCallError, type PeerClient, type PeerCredentials } from "../peer/client.js";
import { PeerError, type PeerRequest, type PeerServer } from "../peer/server.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { RandomAccessFile } from "../platform/storage/types.js";
import type { ResponseWriter } from "../platform/transport.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { PeerProtocolError, readPeerErrorBody, type PeerErrorBody } from "../peer/error-codes.js";
import { FrameDecoder, FrameEncoder, FrameType } from "./frames.js";
import {
  MAX_SYNC_REGIONS,
  SYNC_CHUNK_BYTES,
  syncedBytesBelow,
  type DirtyRegionsAnswer,
  type SyncRegions,
} from "./sync-regions.js";

/** Chunks per request: the unit of progress and of a resumed sync. */
export const SYNC_WINDOW_CHUNKS = 16;

export interface SyncProgress {
  doneBytes: number;
  totalBytes: number;
}

export interface SyncSource {
  /**
   * The disk to copy, read through its ordered apply: a primary's volume,
   * or a consistent secondary's disk (every write visible is before
   * durablePosition).
   */
  volume: { readonly sizeBytes: number; read(offsetBytes: number, target: Uint8Array): Promise<void> };
  /** The log position every write visible in the copy is before (the primary's durable end). */
  durablePosition: () => LogPosition;
}

function hashChunk(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/** The primary's side: answers sync windows. */
export class SyncServer {
  constructor(
    server: PeerServer,
    private readonly lookup: (resource: string) => SyncSource | undefined,
    private readonly metrics: Metrics,
    /** The regions this node's dirty map holds for a resource (it wrote a gap), if any. */
    dirtyRegionsOf: (resource: string, member: string | undefined) => Promise<DirtyRegionsAnswer | undefined>,
  ) {
    server.routeStream("POST /peer/v1/sync/window", (req, res, secret) => this.window(req, res, secret));
    server.route("POST /peer/v1/sync/regions", async (req) => {
      let body: { resource?: unknown; member?: unknown };
      try {
        body = JSON.parse(req.body.toString("utf8")) as typeof body;
      } catch {
        throw new PeerError(400, "bad-request", "body must be JSON");
      }
      const member = typeof body.member === "string" ? body.member : undefined;
      const answer =
        typeof body.resource === "string" ? await dirtyRegionsOf(body.resource, member) : undefined;
      if (!answer) throw new PeerError(404, "no-resource", "no dirty map of that resource here");
      if (answer.regions.length > MAX_SYNC_REGIONS) {
        throw new PeerError(409, "too-many-regions", `${answer.regions.length} regions: sync the whole disk`);
      }
      return answer;
    });
  }

  private async window(req: PeerRequest, res: ResponseWriter, secret: string): Promise<void> {
    const encoder = new FrameEncoder(secret, req.nonce);
    res.startStream(200, { "content-type": "application/octet-stream" });
    const send = async (buffers: Buffer[]): Promise<void> => {
      this.metrics.peerSentBytes.labels(req.host).inc(buffers.reduce((n, b) => n + b.length, 0));
      // Waits while the peer reads slowly; once the exchange is over the loop below sees res.signal.
      await res.write(buffers).catch(() => undefined);
    };
    try {
      let body: { resource?: unknown; offsetBytes?: unknown; hashes?: unknown };
      try {
        body = JSON.parse(req.body.toString("utf8")) as typeof body;
      } catch {
        throw new PeerError(400, "bad-request", "body must be JSON");
      }
      const source = typeof body.resource === "string" ? this.lookup(body.resource) : undefined;
      if (!source)
        throw new PeerError(404, "no-resource", "this node serves no consistent copy of that resource");
      const offset = body.offsetBytes;
      const hashes = body.hashes;
      if (
        typeof offset !== "number" ||
        !Number.isSafeInteger(offset) ||
        offset < 0 ||
        offset % SYNC_CHUNK_BYTES !== 0 ||
        !Array.isArray(hashes) ||
        hashes.length > SYNC_WINDOW_CHUNKS ||
        !hashes.every((h) => typeof h === "string")
      ) {
        throw new PeerError(400, "bad-request", "malformed sync window");
      }
      let at = offset;
      for (const hash of hashes) {
        if (at >= source.volume.sizeBytes || res.signal.aborted) break;
        const length = Math.min(SYNC_CHUNK_BYTES, source.volume.sizeBytes - at);
        const chunk = Buffer.allocUnsafe(length);
        await source.volume.read(at, chunk);
        if (hashChunk(chunk).toString("hex") === hash) await send(encoder.encode(FrameType.Same, at, length));
        else await send(encoder.encode(FrameType.Data, at, length, chunk));
        at += length;
      }
      // Where the primary's log stands now: every write that may be half in the copy is before it.
      await send(encoder.json(FrameType.End, source.durablePosition(), at, 0));
    } catch (err) {
      const e: PeerErrorBody =
        err instanceof PeerError
          ? { code: err.code, message: err.message }
          : { code: "failed", message: errorMessage(err) };
      await send(encoder.json(FrameType.Error, e)).catch(() => undefined);
    } finally {
      void res.end();
    }
  }
}

export interface SyncClientDeps {
  resource: string;
  disk: RandomAccessFile;
  sizeBytes: number;
  /** Retry back-off and the transfer rate's clock. */
  time: Clock;
  client: PeerClient;
  credentials: () => PeerCredentials | undefined;
  /** The primary to copy from and its address, if reachable. */
  source: () => { host: string; address: string } | undefined;
  /** Persists progress after each window (the disk is synced first). */
  saveProgress: (doneBytes: number, syncEnd: LogPosition | undefined) => Promise<void>;
  /** Copy only these (a region resync); undefined: the whole disk. doneBytes is then a cursor over the disk. */
  regions?: SyncRegions;
  metrics: Metrics;
  logger: Logger;
  retryMaxMs: number;
}

export type SyncClientState = "syncing" | "paused" | "retrying" | "done" | "stopped";

/** The secondary's side: runs the copy to the end, resumable. */
export class SyncClient {
  private stopped = false;
  private paused = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Aborts the window in progress (its request in every phase, see PeerClient.open). */
  private windowAbort = new AbortController();
  state: SyncClientState = "syncing";
  lastError: string | undefined;
  syncEnd: LogPosition | undefined;
  /** Bytes that were equal already (not transferred). */
  sameBytes = 0;
  private rateWindow: Array<{ atMs: number; doneBytes: number }> = [];

  constructor(
    private readonly deps: SyncClientDeps,
    public doneBytes: number,
    private readonly onDone: (syncEnd: LogPosition) => void,
  ) {}

  /** Bytes per second over the last minute of progress. */
  get rateBytesPerSec(): number {
    const w = this.rateWindow;
    if (w.length < 2) return 0;
    const first = w[0] as { atMs: number; doneBytes: number };
    const last = w[w.length - 1] as { atMs: number; doneBytes: number };
    return last.atMs > first.atMs
      ? ((last.doneBytes - first.doneBytes) * 1000) / (last.atMs - first.atMs)
      : 0;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Where the copy ends: the disk's end, or the last region's. */
  private get endBytes(): number {
    const last = this.deps.regions?.[this.deps.regions.length - 1];
    return this.deps.regions ? (last ? last[0] + last[1] : 0) : this.deps.sizeBytes;
  }

  /** The next window: from the cursor (or the next region's start) to at most the end of that region. */
  private nextWindow(): { startBytes: number; endBytes: number } {
    const { regions, sizeBytes } = this.deps;
    if (!regions) return { startBytes: this.doneBytes, endBytes: sizeBytes };
    for (const [offset, length] of regions) {
      if (offset + length > this.doneBytes) {
        return { startBytes: Math.max(offset, this.doneBytes), endBytes: offset + length };
      }
    }
    return { startBytes: this.doneBytes, endBytes: this.doneBytes };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.windowAbort.abort();
    this.wake?.();
    await this.running;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.windowAbort.abort();
    else this.wake?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    // Until the primary has said where its log stood at the end (syncEnd):
    // an empty region list still takes one (empty) window for it.
    while (!this.stopped && (this.doneBytes < this.endBytes || !this.syncEnd)) {
      if (this.paused) {
        this.state = "paused";
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        this.state = "syncing";
        this.windowAbort = new AbortController();
        await this.window(this.windowAbort.signal);
        failures = 0;
      } catch (err) {
        if (this.stopped || this.paused) continue;
        failures += 1;
        this.lastError = errorMessage(err);
        this.state = "retrying";
        if (failures === 1 || failures % 20 === 0) {
          this.deps.logger.warn(
            { resource: this.deps.resource, err: this.lastError, doneBytes: this.doneBytes },
            "sync interrupted, retrying",
          );
        }
        const delayMs = Math.min(this.deps.retryMaxMs, 100 * 2 ** Math.min(failures, 10));
        await new Promise<void>((resolve) => {
          const timer: TimerHandle = this.deps.time.setTimer(delayMs, resolve);
          this.wake = () => {
            timer.cancel();
            resolve();
          };
        });
      }
    }
    if (!this.stopped && this.doneBytes >= this.endBytes && this.syncEnd) {
      this.state = "done";
      this.onDone(this.syncEnd);
    }
  }

  private async window(signal: AbortSignal): Promise<void> {
    const { deps } = this;
    const source = deps.source();
    if (!source) throw new OperatorError("PRIMARY_UNREACHABLE", "the primary is not reachable");
    const credentials = deps.credentials();
    if (!credentials) throw new OperatorError("NOT_IN_CLUSTER", "this node is not in a cluster");
    const { startBytes: start, endBytes: windowEnd } = this.nextWindow();
    const hashes: string[] = [];
    for (let at = start; at < windowEnd && hashes.length < SYNC_WINDOW_CHUNKS; at += SYNC_CHUNK_BYTES) {
      const chunk = Buffer.alloc(Math.min(SYNC_CHUNK_BYTES, deps.sizeBytes - at));
      const n = await deps.disk.read(chunk, at);
      if (n < chunk.length) chunk.fill(0, n);
      hashes.push(hashChunk(chunk).toString("hex"));
    }
    const { response, nonce } = await deps.client.open(
      credentials,
      source.address,
      "POST",
      "/peer/v1/sync/window",
      Buffer.from(JSON.stringify({ resource: deps.resource, offsetBytes: start, hashes })),
      source.host,
      signal,
    );
    if (response.status !== 200) {
      const text = await response.body.readAll(65536).catch(() => Buffer.alloc(0));
      throw new PeerCallError(
        response.status,
        "refused",
        `HTTP ${response.status}: ${text.toString().slice(0, 200)}`,
      );
    }
    const decoder = new FrameDecoder(credentials.secret, nonce);
    let at = start;
    for await (const data of response.body) {
      deps.metrics.peerReceivedBytes.labels(source.host).inc(data.length);
      for (const frame of decoder.push(data)) {
        if (frame.type === FrameType.Data || frame.type === FrameType.Same) {
          if (frame.offsetBytes !== at)
            throw new PeerProtocolError(`sync chunk for ${frame.offsetBytes}, expected ${at}`);
          const length = frame.type === FrameType.Data ? frame.payload.length : frame.valueBytes;
          if (length <= 0 || at + length > deps.sizeBytes)
            throw new PeerProtocolError("sync chunk out of range");
          if (frame.type === FrameType.Data) {
            await deps.disk.writev([frame.payload], at);
            deps.metrics.replicationSyncTransferredBytes.labels(deps.resource).inc(length);
          } else {
            this.sameBytes += length;
          }
          at += length;
        } else if (frame.type === FrameType.End) {
          if (frame.offsetBytes !== at) throw new PeerProtocolError("sync window ended early");
          const syncEnd = JSON.parse(frame.payload.toString("utf8")) as LogPosition;
          await deps.disk.datasync();
          this.doneBytes = at;
          if (at >= this.endBytes) this.syncEnd = syncEnd;
          await deps.saveProgress(this.doneBytes, this.syncEnd);
          const nowMs = deps.time.monotonicMs();
          this.rateWindow.push({ atMs: nowMs, doneBytes: at });
          while (this.rateWindow.length > 2 && nowMs - (this.rateWindow[0]?.atMs ?? 0) > 60_000)
            this.rateWindow.shift();
          deps.metrics.replicationSyncDoneBytes
            .labels(deps.resource)
            .set(syncedBytesBelow(deps.regions, deps.sizeBytes, at));
          return;
        } else if (frame.type === FrameType.Error) {
          const e = readPeerErrorBody(JSON.parse(frame.payload.toString("utf8")), "sync refused");
          throw new PeerCallError(200, e.code, e.message);
        }
      }
    }
    throw new PeerProtocolError("sync window stream ended early");
  }
}

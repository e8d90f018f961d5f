/**
 * The source's side of a sync (the primary, or a consistent secondary):
 * answers a member's digest and window requests about one resource's disk.
 *
 * Routes (each request signed, each answer a stream of MAC'd frames, see
 * frames.ts; several may run at once for the same member: the client
 * pipelines them):
 * - POST /peer/v1/sync/digest {resource, ranges: [{offsetBytes,
 *   lengthBytes, digest}]}: per range, SAME when the source's range digest
 *   (sync-digest.ts) equals the member's, else DIGESTS with the source's
 *   leaves, so the member knows which chunks to ask for (an empty digest:
 *   the member hashes at the same time and compares the leaves itself);
 * - POST /peer/v1/sync/window {resource, offsetBytes, hashes}: per chunk
 *   from offsetBytes, SAME when its leaf equals the given hash, else DATA
 *   (an empty hash: the member knows it differs, send it unhashed); with
 *   `compression: [codecs]`, DATA may come compressed (compression.ts);
 * - POST /peer/v1/sync/regions: the regions this node's dirty map holds;
 * - POST /peer/v1/sync/history-regions: the regions its log files write
 *   from a file number on (a split brain's winner, for a loser's rollback).
 *
 * Every answer ends with END carrying the source's log position after its
 * last read: every write that may be in what was read is before it.
 * Bounds: a request names at most SYNC_WINDOW_CHUNKS chunks or
 * SYNC_DIGEST_RANGES ranges, so one request reads at most one GiB.
 */
import type { Metrics } from "../metrics/metrics.js";
import { PeerError, type PeerRequest, type PeerServer } from "../peer/server.js";
import type { LogPosition } from "../log/log-stream.js";
import type { ResponseWriter } from "../platform/transport.js";
import { errorMessage } from "../util/errors.js";
import type { PeerErrorBody } from "../peer/error-codes.js";
import type { Clock } from "../platform/clock.js";
import { negotiate, type Compress, type CompressionPolicy } from "./compression.js";
import { StreamCompressor } from "./compression-stream.js";
import { FrameEncoder, FrameType } from "./frames.js";
import { hashChunk, hashLeaves, rangeDigest, SYNC_RANGE_BYTES } from "./sync-digest.js";
import {
  MAX_SYNC_REGIONS,
  SYNC_CHUNK_BYTES,
  type DirtyRegionsAnswer,
  type HistoryRegionsAnswer,
} from "./sync-regions.js";

/** Chunks per window request at most. */
export const SYNC_WINDOW_CHUNKS = 16;
/** Ranges per digest request at most. */
export const SYNC_DIGEST_RANGES = 16;

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

type Send = (buffers: Buffer[]) => Promise<void>;

function isOffset(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v % SYNC_CHUNK_BYTES === 0;
}

export class SyncServer {
  constructor(
    server: PeerServer,
    private readonly lookup: (resource: string) => SyncSource | undefined,
    private readonly metrics: Metrics,
    /** The regions this node's dirty map holds for a resource (it wrote a gap), if any. */
    dirtyRegionsOf: (resource: string, member: string | undefined) => Promise<DirtyRegionsAnswer | undefined>,
    /** The regions this node's log files of a resource write from a file number on (split brain). */
    historyRegionsOf: (
      resource: string,
      fromFileNumber: number,
    ) => Promise<HistoryRegionsAnswer | "logs-gone" | undefined>,
    /** How this node compresses a resource's sync data (none: it does not), and the clock timing it. */
    private readonly compression?: {
      policy: (resource: string) => CompressionPolicy | undefined;
      compress: Compress;
      time: Clock;
    },
  ) {
    // Frames are MAC'd with this request's key (the pair's key, see peer/node-key.ts).
    server.routeStream("POST /peer/v1/sync/window", (req, res, _secret, requestKey) =>
      this.answer(req, res, requestKey, (body, source, send, encoder) =>
        this.window(body, source, send, encoder, res),
      ),
    );
    server.routeStream("POST /peer/v1/sync/digest", (req, res, _secret, requestKey) =>
      this.answer(req, res, requestKey, (body, source, send, encoder) =>
        this.digest(body, source, send, encoder, res),
      ),
    );
    server.route("POST /peer/v1/sync/history-regions", async (req) => {
      const { resource, fromFileNumber } = parseBody(req);
      if (
        typeof resource !== "string" ||
        !Number.isSafeInteger(fromFileNumber) ||
        (fromFileNumber as number) < 1
      )
        throw new PeerError(400, "bad-request", "malformed history regions request");
      const answer = await historyRegionsOf(resource, fromFileNumber as number);
      if (!answer) throw new PeerError(404, "no-resource", "no such resource here");
      if (answer === "logs-gone")
        throw new PeerError(409, "logs-gone", "the log files from that number on are not all here any more");
      return answer;
    });
    server.route("POST /peer/v1/sync/regions", async (req) => {
      const body = parseBody(req);
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

  /** Opens the frame stream, runs `body` for the resource, then END (or ERROR). */
  private async answer(
    req: PeerRequest,
    res: ResponseWriter,
    frameKey: string,
    run: (
      body: Record<string, unknown>,
      source: SyncSource,
      send: Send,
      encoder: FrameEncoder,
    ) => Promise<number>,
  ): Promise<void> {
    const encoder = new FrameEncoder(frameKey, req.nonce);
    res.startStream(200, { "content-type": "application/octet-stream" });
    const send: Send = async (buffers) => {
      this.metrics.peerSentBytes.labels(req.host).inc(buffers.reduce((n, b) => n + b.length, 0));
      // Waits while the peer reads slowly; once the exchange is over the loops see res.signal.
      await res.write(buffers).catch(() => undefined);
    };
    try {
      const body = parseBody(req);
      const source = typeof body.resource === "string" ? this.lookup(body.resource) : undefined;
      if (!source)
        throw new PeerError(404, "no-resource", "this node serves no consistent copy of that resource");
      const at = await run(body, source, send, encoder);
      // Where the log stands now: every write that may be half in what was read is before it.
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

  private async window(
    body: Record<string, unknown>,
    source: SyncSource,
    send: Send,
    encoder: FrameEncoder,
    res: ResponseWriter,
  ): Promise<number> {
    const { offsetBytes: offset, hashes } = body;
    if (
      !isOffset(offset) ||
      !Array.isArray(hashes) ||
      hashes.length > SYNC_WINDOW_CHUNKS ||
      !hashes.every((h) => typeof h === "string")
    ) {
      throw new PeerError(400, "bad-request", "malformed sync window");
    }
    const resource = body.resource as string;
    const policy = negotiate(body.compression, this.compression?.policy(resource));
    const use = policy && this.compression ? { policy, compress: this.compression.compress } : undefined;
    const compressor =
      this.compression &&
      new StreamCompressor(encoder, use, this.compression.time, this.metrics, resource, "sync");
    let at = offset;
    for (const hash of hashes) {
      if (at >= source.volume.sizeBytes || res.signal.aborted) break;
      const length = Math.min(SYNC_CHUNK_BYTES, source.volume.sizeBytes - at);
      const chunk = Buffer.allocUnsafe(length);
      await source.volume.read(at, chunk);
      if (hash !== "" && hashChunk(chunk).toString("hex") === hash)
        await send(encoder.encode(FrameType.Same, at, length));
      else if (compressor) await send(await compressor.data(at, length, chunk));
      else await send(encoder.encode(FrameType.Data, at, length, chunk));
      at += length;
    }
    return at;
  }

  private async digest(
    body: Record<string, unknown>,
    source: SyncSource,
    send: Send,
    encoder: FrameEncoder,
    res: ResponseWriter,
  ): Promise<number> {
    const ranges = body.ranges;
    const size = source.volume.sizeBytes;
    if (!Array.isArray(ranges) || ranges.length > SYNC_DIGEST_RANGES) {
      throw new PeerError(400, "bad-request", "malformed digest request");
    }
    let at = 0;
    for (const r of ranges as Array<Record<string, unknown>>) {
      const { offsetBytes: start, lengthBytes: length, digest } = r ?? {};
      if (
        !isOffset(start) ||
        typeof length !== "number" ||
        !Number.isSafeInteger(length) ||
        length <= 0 ||
        length > SYNC_RANGE_BYTES ||
        start + length > size ||
        typeof digest !== "string"
      ) {
        throw new PeerError(400, "bad-request", "malformed digest range");
      }
      const range = { startBytes: start, endBytes: start + length };
      const leaves = await hashLeaves((o, t) => source.volume.read(o, t), range, res.signal);
      if (!leaves) break;
      if (rangeDigest(leaves).toString("hex") === digest)
        await send(encoder.encode(FrameType.Same, start, length));
      else await send(encoder.encode(FrameType.Digests, start, length, leaves));
      at = start + length;
    }
    return at;
  }
}

function parseBody(req: PeerRequest): Record<string, unknown> {
  try {
    const body = JSON.parse(req.body.toString("utf8")) as unknown;
    if (body && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new PeerError(400, "bad-request", "body must be a JSON object");
}

/**
 * The sender's side of wire compression for one answer stream (a log
 * stream, a sync window): turns data into a DATA_COMPRESSED frame when that
 * saves, else a plain DATA frame.
 *
 * Contract:
 * - Without a policy (not negotiated, or disabled here) every frame is
 *   plain DATA, exactly as before compression existed.
 * - A frame goes compressed only when the result (prefix included) is
 *   below SAVING_RATIO of the raw size: a few percent saved is not worth
 *   the receiver's decompression.
 * - Incompressible data (log records of random writes, encrypted or
 *   compressed files) costs one attempt per frame; after MISSES_BEFORE_PAUSE
 *   misses in a row, the next PAUSE_FRAMES frames go plain without an
 *   attempt, then it tries again (the data may have changed kind).
 * - Frames are encoded in call order: callers await each call before the
 *   next (the frame index is part of the MAC).
 * - Counts raw and wire bytes and compression time per resource and kind
 *   (metrics/compression-metrics.ts).
 */
import type { Metrics } from "../metrics/metrics.js";
import type { Clock } from "../platform/clock.js";
import { CODEC_IDS, type Compress, type CompressionPolicy } from "./compression.js";
import { COMPRESSED_PREFIX_BYTES, FrameType, type FrameEncoder } from "./frames.js";

/** Compressed only below this fraction of the raw size. */
export const SAVING_RATIO = 0.9;
/** Smaller payloads go plain: the saving would not pay for the attempt. */
export const MIN_COMPRESS_BYTES = 512;
export const MISSES_BEFORE_PAUSE = 4;
export const PAUSE_FRAMES = 32;

export type CompressionKind = "fetch" | "sync";

export class StreamCompressor {
  private missesInRow = 0;
  private plainLeft = 0;
  /** Compressions tried in this stream (each one costs CPU, whether it saved or not). */
  attempts = 0;

  constructor(
    private readonly encoder: FrameEncoder,
    /** The negotiated policy and how to compress (undefined: plain frames only). */
    private readonly use: { policy: CompressionPolicy; compress: Compress } | undefined,
    private readonly time: Clock,
    private readonly metrics: Metrics,
    private readonly resource: string,
    private readonly kind: CompressionKind,
  ) {}

  /** The frame(s) carrying `payload` at offsetBytes, ready for writev. */
  async data(offsetBytes: number, valueBytes: number, payload: Buffer): Promise<Buffer[]> {
    const { use } = this;
    const m = this.metrics.compression;
    m.rawBytes.labels(this.resource, this.kind).inc(payload.length);
    if (use && payload.length >= MIN_COMPRESS_BYTES) {
      if (this.plainLeft > 0) {
        this.plainLeft -= 1;
      } else {
        this.attempts += 1;
        const startMs = this.time.monotonicMs();
        const packed = await use.compress(use.policy, payload);
        m.seconds.labels(this.resource, this.kind).inc((this.time.monotonicMs() - startMs) / 1000);
        const wireBytes = packed.length + COMPRESSED_PREFIX_BYTES;
        if (wireBytes < payload.length * SAVING_RATIO) {
          this.missesInRow = 0;
          m.wireBytes.labels(this.resource, this.kind).inc(wireBytes);
          return this.encoder.compressed(
            CODEC_IDS[use.policy.codec],
            offsetBytes,
            valueBytes,
            payload.length,
            packed,
          );
        }
        this.missesInRow += 1;
        if (this.missesInRow >= MISSES_BEFORE_PAUSE) {
          this.missesInRow = 0;
          this.plainLeft = PAUSE_FRAMES;
        }
      }
    }
    m.wireBytes.labels(this.resource, this.kind).inc(payload.length);
    return this.encoder.encode(FrameType.Data, offsetBytes, valueBytes, payload);
  }
}

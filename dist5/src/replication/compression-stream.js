import { CODEC_IDS } from "./compression.js";
import { COMPRESSED_PREFIX_BYTES, FrameType } from "./frames.js";
/** Compressed only below this fraction of the raw size. */
export const SAVING_RATIO = 0.9;
/** Smaller payloads go plain: the saving would not pay for the attempt. */
export const MIN_COMPRESS_BYTES = 512;
export const MISSES_BEFORE_PAUSE = 4;
export const PAUSE_FRAMES = 32;
export class StreamCompressor {
    encoder;
    use;
    time;
    metrics;
    resource;
    kind;
    missesInRow = 0;
    plainLeft = 0;
    /** Compressions tried in this stream (each one costs CPU, whether it saved or not). */
    attempts = 0;
    constructor(encoder, 
    /** The negotiated policy and how to compress (undefined: plain frames only). */
    use, time, metrics, resource, kind) {
        this.encoder = encoder;
        this.use = use;
        this.time = time;
        this.metrics = metrics;
        this.resource = resource;
        this.kind = kind;
    }
    /** The frame(s) carrying `payload` at offsetBytes, ready for writev. */
    async data(offsetBytes, valueBytes, payload) {
        const { use } = this;
        const m = this.metrics.compression;
        m.rawBytes.labels(this.resource, this.kind).inc(payload.length);
        if (use && payload.length >= MIN_COMPRESS_BYTES) {
            if (this.plainLeft > 0) {
                this.plainLeft -= 1;
            }
            else {
                this.attempts += 1;
                const startMs = this.time.monotonicMs();
                const packed = await use.compress(use.policy, payload);
                m.seconds.labels(this.resource, this.kind).inc((this.time.monotonicMs() - startMs) / 1000);
                const wireBytes = packed.length + COMPRESSED_PREFIX_BYTES;
                if (wireBytes < payload.length * SAVING_RATIO) {
                    this.missesInRow = 0;
                    m.wireBytes.labels(this.resource, this.kind).inc(wireBytes);
                    return this.encoder.compressed(CODEC_IDS[use.policy.codec], offsetBytes, valueBytes, payload.length, packed);
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
//# sourceMappingURL=compression-stream.js.map
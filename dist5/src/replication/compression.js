/**
 * Wire compression of streamed data frames (log shipping and sync DATA):
 * the codecs, the bounded decompression, and the negotiation.
 *
 * Contract:
 * - Codecs are Node's zlib only (no extra package). "brotli" at quality 1
 *   is the default: in bench/compression.ts it compressed better than
 *   deflate at every level and, unlike deflate, gives up cheaply on
 *   incompressible data (~1.1 ms per MiB against deflate's ~17 ms), the
 *   common case of log streams of random writes. lz4-napi was measured too:
 *   cheaper on compressible data (~0.15 ms/MiB) but worse ratio and 3.9
 *   ms/MiB on random data, not worth a native dependency. Numbers in
 *   docs/performance.md.
 * - The daemon compresses on libuv's thread pool (threadPoolCompressor), so
 *   a sender's event loop is not blocked, at most MAX_COMPRESSIONS_IN_FLIGHT
 *   at once node-wide (the pool also runs every file IO: log writes must
 *   not queue behind a sync's compressions; the others wait for a slot); the simulator compresses inline
 *   (inlineCompress: thread-pool work completes outside virtual time and a
 *   seed would not replay). Decompression is synchronous and bounded: it never
 *   produces more than the length the (MAC'd) frame announces, at most
 *   MAX_FRAME_PAYLOAD_BYTES, and a frame whose output differs from it is
 *   refused (a decompression bomb costs at most that much memory).
 * - Negotiation: the requester lists the codecs it accepts in its request
 *   body (`compression: ["brotli", "deflate"]`); the server compresses only
 *   with its configured codec, only if the requester listed it and the
 *   server's config enables it for the resource. A requester that sends no
 *   list (an older peer) gets plain frames.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import { MarsError } from "../util/errors.js";
export const COMPRESSION_CODECS = ["brotli", "deflate"];
/** On the wire, in a compressed frame's payload prefix (frames.ts). */
export const CODEC_IDS = { deflate: 1, brotli: 2 };
export const DEFAULT_COMPRESSION_LEVEL = { brotli: 1, deflate: 1 };
/** A compressed frame that does not decompress to its announced length (code FRAME_INVALID, as frames.ts). */
export class DecompressionError extends MarsError {
    constructor(message) {
        super("FRAME_INVALID", message);
    }
}
const brotliCompress = promisify(zlib.brotliCompress);
const deflateRaw = promisify(zlib.deflateRaw);
function brotliOptions(policy, raw) {
    return {
        params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: policy.level,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
    };
}
/** Compressions running on the thread pool at once, node-wide (of its 4-16 threads). */
export const MAX_COMPRESSIONS_IN_FLIGHT = 2;
const poolCompress = (policy, raw) => policy.codec === "deflate"
    ? deflateRaw(raw, { level: policy.level })
    : brotliCompress(raw, brotliOptions(policy, raw));
/**
 * Compresses on libuv's thread pool (the daemon), at most `maxInFlight` at
 * once; the others wait in order. `changed` sees the counts (metrics).
 */
export function threadPoolCompressor(maxInFlight, changed) {
    let running = 0;
    const waiting = [];
    const report = () => changed?.(running, waiting.length, maxInFlight);
    report();
    return async (policy, raw) => {
        if (running < maxInFlight)
            running += 1;
        // The slot is handed over by the compression that ends (running stays the same).
        else
            await new Promise((resolve) => {
                waiting.push(resolve);
                report();
            });
        report();
        try {
            return await poolCompress(policy, raw);
        }
        finally {
            const next = waiting.shift();
            if (next)
                next();
            else
                running -= 1;
            report();
        }
    };
}
/** Compresses on the calling thread, settled in a microtask (the simulator, benchmarks of CPU time). */
export const inlineCompress = (policy, raw) => Promise.resolve(policy.codec === "deflate"
    ? zlib.deflateRawSync(raw, { level: policy.level })
    : zlib.brotliCompressSync(raw, brotliOptions(policy, raw)));
/**
 * Decompresses one frame's bytes to exactly `rawBytes` (the caller bounds
 * that): more output stops at the bound and is refused, as is less.
 */
export function decompressBounded(codecId, compressed, rawBytes) {
    let out;
    try {
        if (codecId === CODEC_IDS.deflate)
            out = zlib.inflateRawSync(compressed, { maxOutputLength: rawBytes });
        else if (codecId === CODEC_IDS.brotli)
            out = zlib.brotliDecompressSync(compressed, { maxOutputLength: rawBytes });
        else
            throw new DecompressionError(`unknown codec ${codecId}`);
    }
    catch (err) {
        if (err instanceof DecompressionError)
            throw err;
        // RangeError (ERR_BUFFER_TOO_LARGE) past the bound, or a zlib error on corrupt input.
        throw new DecompressionError(`cannot decompress: ${err.message}`);
    }
    if (out.length !== rawBytes)
        throw new DecompressionError(`decompressed to ${out.length} bytes, the frame says ${rawBytes}`);
    return out;
}
/** What a requester puts in its request body: the codecs it can decode, or none when it wants plain frames. */
export function acceptedCodecs(enabled) {
    return enabled ? [...COMPRESSION_CODECS] : undefined;
}
/** The policy a server answers with: its own, if enabled and the requester accepts its codec. */
export function negotiate(offered, own) {
    if (!own || !Array.isArray(offered))
        return undefined;
    return offered.includes(own.codec) ? own : undefined;
}
//# sourceMappingURL=compression.js.map
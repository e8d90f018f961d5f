/**
 * Framing of streamed peer answers (log shipping, sync data). A stream
 * cannot be hashed before it is sent, so instead of one response signature
 * every frame carries its own HMAC-SHA256 (keyed with the key that signed
 * the request: the pair key of the two nodes, src/peer/node-key.ts) over the
 * request's nonce, the frame's index in the stream, its header and its
 * payload: frames cannot be forged, altered, reordered, replayed from
 * another stream or cut out of the middle without the receiver noticing.
 *
 *   off size
 *     0   1  type        DATA=1, END=2, HEARTBEAT=3, ERROR=4, SAME=5 (sync: chunk or range
 *                        unchanged), DIGESTS=6 (sync: the source's leaves of a range),
 *                        DATA_COMPRESSED=7 (DATA whose payload is compressed, below)
 *     1   3  reserved    0
 *     4   4  payloadBytes
 *     8   8  offsetBytes  (DATA: where the payload starts in the file)
 *    16   8  valueBytes   (DATA/HEARTBEAT: the sender's durable end of the file)
 *    24   n  payload
 *  24+n  32  mac
 *
 * A DATA_COMPRESSED payload starts with its own 8 bytes (MAC'd like the
 * rest: the MAC covers what is on the wire, the compressed bytes):
 *     0   1  codec       compression.ts CODEC_IDS
 *     1   3  reserved    0
 *     4   4  rawBytes    length after decompression, 1..MAX_FRAME_PAYLOAD_BYTES
 *     8   m  compressed bytes
 * offsetBytes and valueBytes mean what they mean in DATA. The decoder
 * decompresses to exactly rawBytes (never more: see compression.ts) and
 * hands the frame on as DATA, so consumers see one kind of data frame;
 * it is sent only to a requester that asked for the codec.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { InternalError, MarsError } from "../util/errors.js";
import { decompressBounded } from "./compression.js";
export const FrameType = {
    Data: 1,
    End: 2,
    Heartbeat: 3,
    Error: 4,
    Same: 5,
    Digests: 6,
    DataCompressed: 7,
};
export const FRAME_HEADER_BYTES = 24;
export const FRAME_MAC_BYTES = 32;
/** Upper bound of one frame's payload; the decoder refuses anything larger. */
export const MAX_FRAME_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** The codec and raw length in front of a DATA_COMPRESSED payload. */
export const COMPRESSED_PREFIX_BYTES = 8;
const TWO_32 = 2 ** 32;
function macOf(secret, nonce, index, header, payload) {
    const idx = Buffer.alloc(8);
    idx.writeUInt32LE(index % TWO_32, 0);
    idx.writeUInt32LE(Math.floor(index / TWO_32), 4);
    return createHmac("sha256", secret).update(nonce).update(idx).update(header).update(payload).digest();
}
export class FrameEncoder {
    secret;
    nonce;
    index = 0;
    constructor(secret, nonce) {
        this.secret = secret;
        this.nonce = nonce;
    }
    /** Returns the buffers of one frame (header, payload, mac), ready for writev. */
    encode(type, offsetBytes, valueBytes, payload = EMPTY) {
        if (payload.length > MAX_FRAME_PAYLOAD_BYTES)
            throw new InternalError("frame payload too large");
        const header = Buffer.alloc(FRAME_HEADER_BYTES);
        header.writeUInt8(type, 0);
        header.writeUInt32LE(payload.length, 4);
        header.writeUInt32LE(offsetBytes % TWO_32, 8);
        header.writeUInt32LE(Math.floor(offsetBytes / TWO_32), 12);
        header.writeUInt32LE(valueBytes % TWO_32, 16);
        header.writeUInt32LE(Math.floor(valueBytes / TWO_32), 20);
        const mac = macOf(this.secret, this.nonce, this.index++, header, payload);
        return [header, payload, mac];
    }
    /** A DATA_COMPRESSED frame: `compressed` holds `rawBytes` bytes of data at offsetBytes, compressed with `codecId`. */
    compressed(codecId, offsetBytes, valueBytes, rawBytes, compressed) {
        if (rawBytes > MAX_FRAME_PAYLOAD_BYTES)
            throw new InternalError("frame payload too large");
        const prefix = Buffer.alloc(COMPRESSED_PREFIX_BYTES);
        prefix.writeUInt8(codecId, 0);
        prefix.writeUInt32LE(rawBytes, 4);
        return this.encode(FrameType.DataCompressed, offsetBytes, valueBytes, Buffer.concat([prefix, compressed]));
    }
    json(type, value, offsetBytes = 0, valueBytes = 0) {
        return this.encode(type, offsetBytes, valueBytes, Buffer.from(JSON.stringify(value), "utf8"));
    }
}
export class FrameError extends MarsError {
    constructor(message) {
        super("FRAME_INVALID", message);
    }
}
/**
 * Incremental decoder: feed it chunks as they arrive, get verified frames
 * out. Memory is bounded by one frame.
 */
export class FrameDecoder {
    secret;
    nonce;
    index = 0;
    chunks = [];
    buffered = 0;
    constructor(secret, nonce) {
        this.secret = secret;
        this.nonce = nonce;
    }
    push(chunk) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        const frames = [];
        for (;;) {
            if (this.buffered < FRAME_HEADER_BYTES)
                break;
            const head = this.peek(FRAME_HEADER_BYTES);
            const type = head.readUInt8(0);
            const payloadBytes = head.readUInt32LE(4);
            if (type < 1 || type > FrameType.DataCompressed || head.readUIntLE(1, 3) !== 0)
                throw new FrameError(`bad frame type ${type}`);
            if (payloadBytes > MAX_FRAME_PAYLOAD_BYTES)
                throw new FrameError(`frame of ${payloadBytes} bytes`);
            const total = FRAME_HEADER_BYTES + payloadBytes + FRAME_MAC_BYTES;
            if (this.buffered < total)
                break;
            const whole = this.take(total);
            const header = whole.subarray(0, FRAME_HEADER_BYTES);
            const payload = whole.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + payloadBytes);
            const mac = whole.subarray(FRAME_HEADER_BYTES + payloadBytes);
            const expected = macOf(this.secret, this.nonce, this.index++, header, payload);
            if (!timingSafeEqual(mac, expected))
                throw new FrameError("frame authentication failed");
            const offsetBytes = header.readUInt32LE(8) + header.readUInt32LE(12) * TWO_32;
            const valueBytes = header.readUInt32LE(16) + header.readUInt32LE(20) * TWO_32;
            if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(valueBytes))
                throw new FrameError("frame field out of range");
            if (type === FrameType.DataCompressed)
                frames.push(decompressed(offsetBytes, valueBytes, payload));
            else
                frames.push({ type: type, offsetBytes, valueBytes, payload });
        }
        return frames;
    }
    peek(n) {
        const first = this.chunks[0];
        if (first.length >= n)
            return first.subarray(0, n);
        return Buffer.concat(this.chunks).subarray(0, n);
    }
    take(n) {
        const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
        const out = all.subarray(0, n);
        const rest = all.subarray(n);
        this.chunks = rest.length > 0 ? [rest] : [];
        this.buffered = rest.length;
        return out;
    }
}
/** A verified DATA_COMPRESSED frame as the DATA frame it carries. */
function decompressed(offsetBytes, valueBytes, wire) {
    if (wire.length < COMPRESSED_PREFIX_BYTES || wire.readUIntLE(1, 3) !== 0)
        throw new FrameError("malformed compressed frame");
    const rawBytes = wire.readUInt32LE(4);
    if (rawBytes === 0 || rawBytes > MAX_FRAME_PAYLOAD_BYTES)
        throw new FrameError(`compressed frame of ${rawBytes} raw bytes`);
    try {
        const payload = decompressBounded(wire.readUInt8(0), wire.subarray(COMPRESSED_PREFIX_BYTES), rawBytes);
        return { type: FrameType.Data, offsetBytes, valueBytes, payload, compressedBytes: wire.length };
    }
    catch (err) {
        throw new FrameError(err.message);
    }
}
const EMPTY = Buffer.alloc(0);
//# sourceMappingURL=frames.js.map
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { compressionEnabled, defaultConfig } from "../../../src/daemon/config.js";
import { ConfigError, loadConfig } from "../../../src/daemon/config-loader.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { systemClock } from "../../../src/platform/clock.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { CODEC_IDS, acceptedCodecs, negotiate, threadPoolCompressor, } from "../../../src/replication/compression.js";
import { MISSES_BEFORE_PAUSE, PAUSE_FRAMES, StreamCompressor, } from "../../../src/replication/compression-stream.js";
import { FRAME_HEADER_BYTES, FrameDecoder, FrameEncoder, FrameType, MAX_FRAME_PAYLOAD_BYTES, } from "../../../src/replication/frames.js";
import { prng } from "../../helpers/prng.js";
const SEED = Number(process.env.MARSD_TEST_SEED ?? 14014);
console.log(`compression tests: seed ${SEED} (MARSD_TEST_SEED=${SEED} replays)`);
const KEY = "k".repeat(64);
const NONCE = "nonce-1";
const BROTLI = { codec: "brotli", level: 1 };
const DEFLATE = { codec: "deflate", level: 1 };
/** Mostly zero 4 KiB blocks with a few seeded fields: filesystem metadata-like, compresses well. */
function metadataLike(bytes, rnd) {
    const b = Buffer.alloc(bytes);
    for (let off = 0; off + 64 <= bytes; off += 4096)
        for (let i = 0; i < 64; i += 4)
            b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), off + i);
    return b;
}
/** Seeded incompressible bytes. */
function noise(bytes, rnd) {
    const b = Buffer.alloc(bytes);
    for (let i = 0; i + 4 <= bytes; i += 4)
        b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i);
    return b;
}
function compressor(policy, encoder = new FrameEncoder(KEY, NONCE)) {
    const use = policy && { policy, compress: threadPoolCompressor(2) };
    return new StreamCompressor(encoder, use, systemClock, new Metrics(), "r1", "sync");
}
/** Feeds the wire bytes to a decoder in seeded random pieces. */
function decodeInPieces(wire, rnd) {
    const decoder = new FrameDecoder(KEY, NONCE);
    const frames = [];
    for (let at = 0; at < wire.length;) {
        const n = 1 + Math.floor(rnd() * 300_000);
        frames.push(...decoder.push(wire.subarray(at, at + n)));
        at += n;
    }
    return frames;
}
describe("compressed frames", () => {
    for (const policy of [BROTLI, DEFLATE]) {
        it(`round trip (${policy.codec}): compressible data compressed, random data plain, all equal after decoding`, async () => {
            const rnd = prng(SEED);
            const c = compressor(policy);
            const payloads = [metadataLike(1 << 20, rnd), noise(256 * 1024, rnd), metadataLike(300_000, rnd)];
            const wire = [];
            for (const [i, p] of payloads.entries())
                wire.push(...(await c.data(i * (1 << 20), 7 + i, p)));
            const frames = decodeInPieces(Buffer.concat(wire), rnd);
            assert.equal(frames.length, 3);
            for (const [i, f] of frames.entries()) {
                assert.equal(f.type, FrameType.Data);
                assert.equal(f.offsetBytes, i * (1 << 20));
                assert.equal(f.valueBytes, 7 + i);
                assert.ok(f.payload.equals(payloads[i]), `payload ${i} differs`);
            }
            assert.ok((frames[0]?.compressedBytes ?? Infinity) < (1 << 20) / 10, "metadata-like compresses 10x");
            assert.equal(frames[1]?.compressedBytes, undefined, "random data goes plain");
            assert.ok(frames[2]?.compressedBytes !== undefined);
        });
    }
    it("without a negotiated policy every frame is plain DATA, byte for byte what FrameEncoder.encode sends", async () => {
        const data = metadataLike(1 << 20, prng(SEED));
        const plain = new FrameEncoder(KEY, NONCE).encode(FrameType.Data, 0, 1, data);
        const c = compressor(undefined);
        assert.ok(Buffer.concat(await c.data(0, 1, data)).equals(Buffer.concat(plain)));
        assert.equal(c.attempts, 0);
    });
    it("incompressible data: after a few misses in a row it stops trying for a while, then tries again", async () => {
        const rnd = prng(SEED + 1);
        const c = compressor(BROTLI);
        for (let i = 0; i < MISSES_BEFORE_PAUSE + PAUSE_FRAMES; i++)
            await c.data(i * 4096, 0, noise(4096, rnd));
        assert.equal(c.attempts, MISSES_BEFORE_PAUSE);
        await c.data(0, 0, noise(4096, rnd));
        assert.equal(c.attempts, MISSES_BEFORE_PAUSE + 1);
    });
    it("a tampered compressed frame is refused (the MAC covers the compressed bytes)", async () => {
        const wire = Buffer.concat(await compressor(BROTLI).data(0, 0, metadataLike(1 << 20, prng(SEED))));
        assert.equal(wire.readUInt8(0), FrameType.DataCompressed);
        for (const at of [FRAME_HEADER_BYTES + 4, FRAME_HEADER_BYTES + 20, wire.length - 40]) {
            const bad = Buffer.from(wire);
            bad[at] = bad[at] ^ 1;
            assert.throws(() => new FrameDecoder(KEY, NONCE).push(bad), /frame authentication failed/);
        }
    });
    it("a frame lying about its decompressed size is refused, either way", () => {
        const raw = metadataLike(1 << 20, prng(SEED));
        const packed = zlib.brotliCompressSync(raw);
        for (const claimed of [raw.length - 1, raw.length + 1, 4096]) {
            const frame = new FrameEncoder(KEY, NONCE).compressed(CODEC_IDS.brotli, 0, 0, claimed, packed);
            assert.throws(() => new FrameDecoder(KEY, NONCE).push(Buffer.concat(frame)), (err) => {
                assert.equal(err.code, "FRAME_INVALID");
                return true;
            });
        }
    });
    it("a decompression bomb is bounded by the announced size, itself bounded by MAX_FRAME_PAYLOAD_BYTES", () => {
        // 64 MiB of zeros in ~64 KiB: the decoder stops at the claimed 1 MiB.
        const bomb = zlib.deflateRawSync(Buffer.alloc(64 << 20), { level: 1 });
        assert.ok(bomb.length < 300_000);
        const frame = new FrameEncoder(KEY, NONCE).compressed(CODEC_IDS.deflate, 0, 0, 1 << 20, bomb);
        const heapBefore = process.memoryUsage().arrayBuffers;
        assert.throws(() => new FrameDecoder(KEY, NONCE).push(Buffer.concat(frame)), /decompress/);
        assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 32 << 20, "no 64 MiB buffer was made");
        // Claiming more than a frame may carry is refused before any decompression.
        assert.throws(() => new FrameEncoder(KEY, NONCE).compressed(CODEC_IDS.deflate, 0, 0, MAX_FRAME_PAYLOAD_BYTES + 1, bomb), /too large/);
        const header = Buffer.alloc(8);
        header.writeUInt8(CODEC_IDS.deflate, 0);
        header.writeUInt32LE(MAX_FRAME_PAYLOAD_BYTES + 1, 4);
        const forged = new FrameEncoder(KEY, NONCE).encode(FrameType.DataCompressed, 0, 0, Buffer.concat([header, bomb]));
        assert.throws(() => new FrameDecoder(KEY, NONCE).push(Buffer.concat(forged)), /raw bytes/);
    });
    it("an unknown codec or a malformed prefix is refused", () => {
        const enc = new FrameEncoder(KEY, NONCE);
        const unknown = enc.compressed(99, 0, 0, 10, Buffer.alloc(10));
        assert.throws(() => new FrameDecoder(KEY, NONCE).push(Buffer.concat(unknown)), /unknown codec/);
        const short = new FrameEncoder(KEY, NONCE).encode(FrameType.DataCompressed, 0, 0, Buffer.alloc(5));
        assert.throws(() => new FrameDecoder(KEY, NONCE).push(Buffer.concat(short)), /malformed/);
    });
});
describe("the thread-pool compressor", () => {
    it("runs at most its limit at once, the others wait in order, and every result is right", async () => {
        const rnd = prng(SEED + 2);
        const seen = [];
        const compress = threadPoolCompressor(2, (running, waiting) => seen.push([running, waiting]));
        const inputs = Array.from({ length: 7 }, () => metadataLike(256 * 1024, rnd));
        const outputs = await Promise.all(inputs.map((raw) => compress(BROTLI, raw)));
        for (const [i, out] of outputs.entries())
            assert.ok(zlib.brotliDecompressSync(out).equals(inputs[i]));
        assert.ok(seen.every(([running]) => running <= 2), JSON.stringify(seen));
        assert.ok(seen.some(([, waiting]) => waiting === 5), "five waited while two ran");
        assert.deepEqual(seen.at(-1), [0, 0]);
    });
});
describe("compression negotiation and configuration", () => {
    it("compresses only with the server's codec, only when the requester lists it; older peers get plain frames", () => {
        assert.equal(negotiate(undefined, BROTLI), undefined);
        assert.equal(negotiate(["deflate"], BROTLI), undefined);
        assert.equal(negotiate(["brotli"], undefined), undefined);
        assert.equal(negotiate("brotli", BROTLI), undefined);
        assert.deepEqual(negotiate(acceptedCodecs(true), BROTLI), BROTLI);
        assert.deepEqual(negotiate(acceptedCodecs(true), DEFLATE), DEFLATE);
        assert.equal(acceptedCodecs(false), undefined);
    });
    it("is on by default (brotli, quality 1), per resource overridable; bad codecs and levels are refused", async () => {
        const config = defaultConfig();
        assert.deepEqual({
            enabled: config.compression.enabled,
            codec: config.compression.codec,
            level: config.compression.level,
        }, { enabled: true, codec: "brotli", level: 1 });
        const settings = { ...config.compression, resources: { cold: { enabled: false } } };
        assert.equal(compressionEnabled(settings, "cold"), false);
        assert.equal(compressionEnabled(settings, "other"), true);
        assert.equal(compressionEnabled({ ...settings, enabled: false, resources: { hot: { enabled: true } } }, "hot"), true);
        for (const bad of [
            { codec: "zstd" },
            { level: 12 },
            { codec: "deflate", level: 0 },
            { resources: { r: { enabled: "yes" } } },
        ]) {
            await assert.rejects(loadConfig(nodeStorage, undefined, { compression: bad }), (err) => err instanceof ConfigError && /compression/.test(err.message));
        }
    });
});
//# sourceMappingURL=compression.test.js.map
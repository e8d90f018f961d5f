/**
 * Wire compression benchmark (a benchmark, not a test; `npm run
 * bench:compression`): for a few kinds of data, the compression ratio and
 * the CPU time per MiB of each codec and level Node's zlib offers for
 * DATA frames (src/replication/compression.ts), against no compression.
 *
 * Data kinds (1 MiB frames, seeded, BENCH_SEED replays):
 * - log of 4 KiB random writes: real log records (56-byte headers, random
 *   payloads), what a database's random writes ship: incompressible;
 * - fs metadata: 4 KiB blocks, 64 random bytes each, the rest zero;
 * - zero-heavy: one 4 KiB block in eight random, the others zero;
 * - text: log lines from a varied vocabulary with numbers;
 * - half random: alternating random and zero 4 KiB blocks.
 *
 * "none" is the frame's cost without compression (its HMAC-SHA256), the
 * baseline. CPU is process CPU (user+system) around synchronous calls,
 * per MiB of raw data, median of REPEATS. The last table runs a stream
 * of 64 frames through StreamCompressor (async, on the thread pool, with
 * the pause after repeated misses) to show what incompressible streams
 * really cost.
 *
 * Usage: node dist/bench/compression.js
 */
import { createHmac } from "node:crypto";
import zlib from "node:zlib";
import { encodeRecordHeader, RecordKind } from "../src/log/record.js";
import { Metrics } from "../src/metrics/metrics.js";
import { systemClock } from "../src/platform/clock.js";
import { decompressBounded, threadPoolCompressor, CODEC_IDS, } from "../src/replication/compression.js";
import { StreamCompressor } from "../src/replication/compression-stream.js";
import { FrameEncoder } from "../src/replication/frames.js";
import { prng } from "../test/helpers/prng.js";
const MIB = 1024 * 1024;
const SEED = Number(process.env.BENCH_SEED ?? 14);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const rnd = prng(SEED);
function random(bytes) {
    const b = Buffer.alloc(bytes);
    for (let i = 0; i + 4 <= bytes; i += 4)
        b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i);
    return b;
}
function logOfRandomWrites() {
    const parts = [];
    let total = 0;
    for (let seq = 1; total < MIB; seq++) {
        const payload = random(4096);
        const header = encodeRecordHeader({
            kind: RecordKind.Write,
            seq,
            durableSeq: seq - 1,
            stampUs: 1_765_000_000_000_000 + seq * 37,
            offsetBytes: Math.floor(rnd() * 2 ** 20) * 4096,
            lengthBytes: 4096,
        }, payload);
        parts.push(header, payload);
        total += header.length + payload.length;
    }
    return Buffer.concat(parts).subarray(0, MIB);
}
function blocks(pick) {
    const b = Buffer.alloc(MIB);
    for (let i = 0; i < MIB / 4096; i++)
        pick(i)?.copy(b, i * 4096);
    return b;
}
function text() {
    const words = "the a disk write read error warning info request response user session node primary secondary sync fetch replay log file offset bytes latency timeout retry connection peer cluster".split(" ");
    let s = "";
    while (s.length < MIB) {
        const line = [new Date(1_765_000_000_000 + Math.floor(rnd() * 1e9)).toISOString()];
        for (let w = 0; w < 6 + Math.floor(rnd() * 8); w++) {
            line.push(rnd() < 0.3 ? String(Math.floor(rnd() * 1e6)) : words[Math.floor(rnd() * words.length)]);
        }
        s += line.join(" ") + "\n";
    }
    return Buffer.from(s).subarray(0, MIB);
}
const KINDS = [
    ["log of 4 KiB random writes", logOfRandomWrites()],
    ["fs metadata", blocks(() => random(64))],
    ["zero-heavy", blocks((i) => (i % 8 === 0 ? random(4096) : undefined))],
    ["text", text()],
    ["half random", blocks((i) => (i % 2 === 0 ? random(4096) : undefined))],
];
const POLICIES = [
    { codec: "brotli", level: 1 },
    { codec: "brotli", level: 3 },
    { codec: "deflate", level: 1 },
    { codec: "deflate", level: 6 },
];
function cpuUs(fn) {
    const samples = [];
    for (let r = 0; r < REPEATS; r++) {
        const start = process.cpuUsage();
        fn();
        const used = process.cpuUsage(start);
        samples.push(used.user + used.system);
    }
    samples.sort((x, y) => x - y);
    return samples[Math.floor(samples.length / 2)];
}
function compressSync(policy, raw) {
    if (policy.codec === "deflate")
        return zlib.deflateRawSync(raw, { level: policy.level });
    return zlib.brotliCompressSync(raw, {
        params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: policy.level,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
    });
}
function pad(s, n) {
    return s.padEnd(n);
}
console.log(`compression bench: seed ${SEED} (BENCH_SEED replays), ${REPEATS} repeats, node ${process.version}`);
console.log(`${pad("data", 28)}${pad("codec", 12)}${pad("ratio", 8)}${pad("compress µs/MiB", 17)}decompress µs/MiB`);
for (const [kind, raw] of KINDS) {
    const macUs = cpuUs(() => createHmac("sha256", "k".repeat(64)).update(raw).digest());
    console.log(`${pad(kind, 28)}${pad("none", 12)}${pad("1.000", 8)}${pad(`${macUs} (MAC)`, 17)}-`);
    for (const policy of POLICIES) {
        const packed = compressSync(policy, raw);
        const us = cpuUs(() => compressSync(policy, raw));
        const dus = cpuUs(() => decompressBounded(CODEC_IDS[policy.codec], packed, raw.length));
        const ratio = (packed.length / raw.length).toFixed(3);
        console.log(`${pad("", 28)}${pad(`${policy.codec}-${policy.level}`, 12)}${pad(ratio, 8)}${pad(String(us), 17)}${dus}`);
    }
}
console.log("\nStreams of 64 frames through StreamCompressor (thread pool; process CPU per MiB, wire/raw):");
for (const policy of [POLICIES[0], POLICIES[2]]) {
    for (const [kind, raw] of KINDS) {
        const encoder = new FrameEncoder("k".repeat(64), "n");
        const use = { policy, compress: threadPoolCompressor(2) };
        const c = new StreamCompressor(encoder, use, systemClock, new Metrics(), "bench", "fetch");
        let wire = 0;
        const start = process.cpuUsage();
        for (let i = 0; i < 64; i++)
            for (const b of await c.data(i * MIB, 0, raw))
                wire += b.length;
        const used = process.cpuUsage(start);
        const perMiB = Math.round((used.user + used.system) / 64);
        console.log(`  ${pad(`${policy.codec}-${policy.level}`, 11)}${pad(kind, 28)}ratio ${(wire / (64 * MIB)).toFixed(3)}  ${perMiB} µs/MiB (MAC and framing included), ${c.attempts} attempts`);
    }
}
//# sourceMappingURL=compression.js.map
/**
 * Seeded fuzz inputs for the NBD server, and the loop that sends them, shared
 * by the CI test (test/integration/nbd-fuzz.test.ts, a few thousand inputs)
 * and the long run (test/fuzz/nbd-fuzz.ts, `npm run fuzz:nbd`, 1M inputs).
 *
 * An input is the bytes one raw connection sends: random bytes, a valid
 * fixed-newstyle negotiation with random options, or a negotiation that
 * reaches the transmission phase of the fuzz export followed by a request
 * stream (all commands, known and unknown, random flags, offsets inside and
 * beyond the end, small, maximal and huge lengths); then, mostly, mutated
 * (bit flips, truncation, interesting 32-bit values such as wrong magics
 * and huge lengths written over random positions, inserted and duplicated
 * bytes). Everything derives from one xorshift stream, so a seed replays
 * the same inputs in the same order.
 *
 * Fuzzed WRITEs land on the export named `exportName` only; well-behaved
 * clients alongside use other exports, whose data must stay intact.
 */
import net from "node:net";
import { Cmd, FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, IHAVEOPT, Info, MAX_PAYLOAD_BYTES, NBDMAGIC, Opt, REQUEST_MAGIC, } from "../../src/frontend/nbd/protocol.js";
import { RawNbdClient } from "../helpers/nbd-client.js";
import { prng } from "../helpers/prng.js";
const MiB = 1024 * 1024;
/** The daemon's RSS may grow by at most this much while it is fuzzed. */
export const NBD_FUZZ_RSS_GROWTH_BOUND = 300 * MiB;
/** The size of the fuzzed volume. */
export const NBD_FUZZ_VOLUME_BYTES = 64 * MiB;
/** A daemon log line at error or fatal level (pino's numbers or labels). */
export const ERROR_LOG_LINE = /"level":("error"|"fatal"|50|60)/;
const int = (random, n) => Math.floor(random() * n);
const pick = (random, items) => items[int(random, items.length)];
function randomBytes(random, n) {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++)
        b[i] = int(random, 256);
    return b;
}
const INTERESTING_U32 = [
    0,
    1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    REQUEST_MAGIC,
    MAX_PAYLOAD_BYTES,
    MAX_PAYLOAD_BYTES + 1,
    4096,
    65536,
    65537,
    Number(NBDMAGIC >> 32n),
    Number(IHAVEOPT >> 32n),
];
function clientFlags(random) {
    const b = Buffer.alloc(4);
    const flags = random() < 0.9 ? FLAG_C_FIXED_NEWSTYLE | (random() < 0.5 ? FLAG_C_NO_ZEROES : 0) : int(random, 16);
    b.writeUInt32BE(flags);
    return b;
}
function option(option, data) {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(IHAVEOPT, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(data.length, 12);
    return Buffer.concat([head, data]);
}
function infoData(random, name) {
    const requests = Array.from({ length: int(random, 4) }, () => pick(random, [Info.EXPORT, Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE, int(random, 65536)]));
    return RawNbdClient.infoRequest(name, requests);
}
function randomOption(random, exportName) {
    const name = pick(random, [exportName, "", "no-such-export", "x".repeat(int(random, 5000))]);
    switch (int(random, 9)) {
        case 0:
            return option(Opt.LIST, random() < 0.8 ? Buffer.alloc(0) : randomBytes(random, int(random, 16)));
        case 1:
            return option(Opt.INFO, infoData(random, name));
        case 2:
            return option(Opt.GO, infoData(random, name));
        case 3:
            return option(Opt.EXPORT_NAME, Buffer.from(name, "utf8"));
        case 4:
            return option(Opt.STARTTLS, Buffer.alloc(0));
        case 5:
            return option(Opt.STRUCTURED_REPLY, Buffer.alloc(0));
        case 6:
            return option(Opt.ABORT, Buffer.alloc(0));
        case 7:
            return option(pick(random, [Opt.LIST_META_CONTEXT, Opt.SET_META_CONTEXT, 0, 11, 0xffffffff]), randomBytes(random, int(random, 64)));
        default:
            return option(int(random, 2 ** 32), randomBytes(random, int(random, 32)));
    }
}
function request(random, volumeBytes) {
    const type = random() < 0.9
        ? pick(random, [
            Cmd.READ,
            Cmd.READ,
            Cmd.WRITE,
            Cmd.WRITE,
            Cmd.FLUSH,
            Cmd.TRIM,
            Cmd.WRITE_ZEROES,
            Cmd.CACHE,
            Cmd.BLOCK_STATUS,
            Cmd.RESIZE,
        ])
        : int(random, 65536);
    const flags = random() < 0.8 ? (random() < 0.5 ? 0 : 1) : int(random, 65536);
    // Mostly small lengths, so thousands of inputs take seconds; the edges come often enough.
    const roll = random();
    const length = roll < 0.02
        ? MAX_PAYLOAD_BYTES
        : roll < 0.05
            ? MAX_PAYLOAD_BYTES + 1
            : roll < 0.08
                ? 0xffffffff
                : roll < 0.1
                    ? 0
                    : roll < 0.5
                        ? 512 * (1 + int(random, 16))
                        : int(random, 16384);
    const offset = pick(random, [
        BigInt(int(random, volumeBytes)),
        BigInt(volumeBytes - int(random, 4096)),
        BigInt(volumeBytes) + BigInt(int(random, 2 ** 20)),
        2n ** 63n - 1n,
        2n ** 64n - 1n,
        BigInt(int(random, 2 ** 32)) * 2n ** 32n,
    ]);
    const head = Buffer.alloc(28);
    head.writeUInt32BE(REQUEST_MAGIC, 0);
    head.writeUInt16BE(flags, 4);
    head.writeUInt16BE(type, 6);
    head.writeBigUInt64BE(BigInt(int(random, 2 ** 32)), 8);
    head.writeBigUInt64BE(offset, 16);
    head.writeUInt32BE(length, 24);
    if (type !== Cmd.WRITE)
        return head;
    // Send the payload when it is small; for large ones, send a part (the server waits for the rest, then sees EOF).
    const payloadBytes = length <= 65536 ? length : int(random, 65536);
    return Buffer.concat([head, randomBytes(random, payloadBytes)]);
}
function mutate(random, bytes, mutations) {
    let b = Buffer.from(bytes);
    const rounds = 1 + int(random, 4);
    for (let r = 0; r < rounds && b.length > 0; r++) {
        const at = int(random, b.length);
        switch (int(random, 6)) {
            case 0: {
                const bits = 1 + int(random, 8);
                for (let i = 0; i < bits; i++) {
                    const pos = int(random, b.length);
                    b[pos] = b[pos] ^ (1 << int(random, 8));
                }
                mutations.push(`flip ${bits} bits`);
                break;
            }
            case 1:
                b = b.subarray(0, at);
                mutations.push(`truncate at ${at}`);
                break;
            case 2:
                if (at + 4 <= b.length) {
                    const value = pick(random, INTERESTING_U32);
                    b.writeUInt32BE(value >>> 0, at);
                    mutations.push(`u32 0x${value.toString(16)} at ${at}`);
                }
                break;
            case 3: {
                const extra = randomBytes(random, 1 + int(random, 32));
                b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
                mutations.push(`insert ${extra.length} at ${at}`);
                break;
            }
            case 4: {
                const end = Math.min(b.length, at + 1 + int(random, 64));
                b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
                mutations.push(`duplicate ${at}..${end}`);
                break;
            }
            default: {
                const pos = int(random, b.length);
                b[pos] = int(random, 256);
                mutations.push(`byte at ${pos}`);
            }
        }
    }
    return b;
}
/** Splits bytes into 1-4 writes at random points. */
function split(random, bytes) {
    const cuts = [...new Set(Array.from({ length: int(random, 4) }, () => int(random, bytes.length + 1)))].sort((a, b) => a - b);
    const chunks = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
        if (cut > from)
            chunks.push(bytes.subarray(from, cut));
        from = Math.max(from, cut);
    }
    return chunks;
}
/** The next input from the stream `random` (see nbdFuzzStream). */
export function nbdFuzzInput(random, exportName, volumeBytes) {
    const mutations = [];
    const roll = random();
    if (roll < 0.1) {
        return { kind: "random", mutations, chunks: split(random, randomBytes(random, int(random, 256))) };
    }
    if (roll < 0.4) {
        const options = Array.from({ length: 1 + int(random, 4) }, () => randomOption(random, exportName));
        let bytes = Buffer.concat([clientFlags(random), ...options]);
        if (random() < 0.7)
            bytes = mutate(random, bytes, mutations);
        return { kind: "handshake", mutations, chunks: split(random, bytes) };
    }
    const handshake = Buffer.concat([clientFlags(random), option(Opt.GO, infoData(random, exportName))]);
    const requests = Buffer.concat(Array.from({ length: 1 + int(random, 20) }, () => request(random, volumeBytes)));
    const mutateWhole = random() < 0.1;
    let bytes;
    if (random() < 0.25)
        bytes = Buffer.concat([handshake, requests]);
    else if (mutateWhole)
        bytes = mutate(random, Buffer.concat([handshake, requests]), mutations);
    else
        bytes = Buffer.concat([handshake, mutate(random, requests, mutations)]);
    return { kind: "requests", mutations, chunks: split(random, bytes) };
}
/** A deterministic stream of inputs for one seed. */
export function nbdFuzzStream(seed, exportName, volumeBytes) {
    const random = prng(seed);
    return () => nbdFuzzInput(random, exportName, volumeBytes);
}
/**
 * Connects, sends the input's chunks, half-closes, reads and discards
 * whatever the server answers, and resolves when the server closed (or
 * after `timeoutMs`, then the connection is destroyed).
 */
export function sendFuzzInput(socketPath, input, timeoutMs = 5_000) {
    return new Promise((resolve) => {
        const socket = net.createConnection(socketPath);
        let outcome = "closed";
        let connected = false;
        const timer = setTimeout(() => {
            outcome = "timeout";
            socket.destroy();
        }, timeoutMs);
        socket.on("error", () => undefined);
        socket.on("data", () => undefined);
        socket.once("connect", () => {
            connected = true;
            for (const chunk of input.chunks)
                socket.write(chunk);
            socket.end();
        });
        socket.once("close", () => {
            clearTimeout(timer);
            resolve(connected ? outcome : "refused");
        });
    });
}
/** Sends `inputs` inputs of the seed's stream, `concurrency` at a time. */
export async function runNbdFuzz(options) {
    const next = nbdFuzzStream(options.seed, options.exportName, options.volumeBytes);
    const result = {
        inputsRun: 0,
        outcomes: { closed: 0, timeout: 0, refused: 0 },
        byKind: { random: 0, handshake: 0, requests: 0 },
    };
    const checkEvery = options.checkEvery ?? 1000;
    let generated = 0;
    let checking = Promise.resolve();
    let failure;
    const worker = async () => {
        while (generated < options.inputs && failure === undefined) {
            generated += 1;
            const input = next();
            result.byKind[input.kind] += 1;
            result.outcomes[await sendFuzzInput(options.socketPath, input)] += 1;
            result.inputsRun += 1;
            if (options.check && result.inputsRun % checkEvery === 0) {
                const done = result.inputsRun;
                checking = checking
                    .then(() => options.check?.(done))
                    .catch((err) => void (failure ??= err instanceof Error ? err : new Error(String(err))));
                await checking;
            }
        }
    };
    await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
    await checking;
    if (failure !== undefined)
        throw failure;
    await options.check?.(result.inputsRun);
    return result;
}
//# sourceMappingURL=nbd-inputs.js.map
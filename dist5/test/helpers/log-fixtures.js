/**
 * Real log files for the log tests, written by the real LogWriter on real
 * files. Appends are issued in "waves": the appends of one wave are called
 * together (so they group-commit), and a wave starts when the previous one
 * is durable, which makes the batch layout of the file predictable.
 */
import { readFile } from "node:fs/promises";
import { LamportClock } from "../../src/log/lamport-clock.js";
import { systemClock } from "../../src/platform/clock.js";
import { RecordKind } from "../../src/log/record.js";
import { scanLogFile } from "../../src/log/scanner.js";
import { DEFAULT_WRITER_LIMITS, LogWriter, } from "../../src/log/writer.js";
import { nodeStorage } from "../../src/platform/storage/node-file.js";
import { genesisVersion } from "../../src/log/version.js";
export function fileHeader(fileNumber = 1, streamStartBytes = 0) {
    return {
        format: 1,
        resource: "r0",
        host: "alpha",
        fileNumber,
        streamStartBytes,
        createdStampUs: 1_700_000_000_000_000,
        prevVersion: genesisVersion("r0", 1_700_000_000_000_000),
    };
}
/** A deterministic payload: every byte depends on the seed and its index. */
export function pattern(lengthBytes, seed) {
    const buf = Buffer.allocUnsafe(lengthBytes);
    let x = (seed * 2654435761) >>> 0 || 1;
    for (let i = 0; i < lengthBytes; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        buf[i] = x & 0xff;
    }
    return buf;
}
export function writeEntry(offsetBytes, payload) {
    return { kind: RecordKind.Write, offsetBytes, lengthBytes: payload.length, payload };
}
export async function openWriter(file, options = {}) {
    return LogWriter.create(options.storage ?? nodeStorage, file, fileHeader(), new LamportClock({ wall: systemClock }), systemClock, 
    // Preallocation opens a second handle and syncs zeroes; tests that count calls opt in.
    { ...DEFAULT_WRITER_LIMITS, preallocateBytes: 0, ...options.limits }, options.observer);
}
/**
 * Writes `waves` (per wave: the payload sizes of its appends, one record
 * each) and finishes the file. Record i (1-based seq) carries pattern(size, i).
 */
export async function buildLogFile(file, waves, limits = { maxBatchesInFlight: 1 }, options = {}) {
    const writer = await openWriter(file, { limits, ...options });
    let seq = 1;
    for (const wave of waves) {
        await Promise.all(wave.map((size) => {
            const entry = writeEntry(seq * 4096, pattern(size, seq));
            seq += 1;
            return writer.append([entry]);
        }));
    }
    await writer.finish();
}
/** Every record of a complete log file, with the file's bytes. */
export async function readLogRecords(file) {
    const records = [];
    const handle = await nodeStorage.open(file, "read");
    try {
        const outcome = await scanLogFile(handle, {
            onRecord: (r) => {
                records.push({ ...r, payload: Buffer.from(r.payload) });
            },
        });
        if (outcome.status !== "complete")
            throw new Error(`fixture ${file} is not complete: ${outcome.status}`);
    }
    finally {
        await handle.close();
    }
    return { bytes: await readFile(file), records };
}
//# sourceMappingURL=log-fixtures.js.map
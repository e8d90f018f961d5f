/**
 * Reads the records of one log file in order and stops at the first invalid
 * one. How it stopped matters:
 *
 * - `complete`: every byte up to the end of the file is a valid record.
 * - `torn`: the file ends in bytes that are not a valid record, and nothing
 *   behind them proves they were ever durable (see record.ts on
 *   durableSeq). This is the expected result of a crash during a write;
 *   the caller cuts the file at `endOffsetBytes`. Nothing acknowledged is
 *   lost: a write is acknowledged only after its whole batch is durable.
 * - `corrupt`: an invalid record is followed by a valid record of a later
 *   batch, so data that was once durable has been damaged. Never skipped;
 *   the caller must stop and report.
 */
import { invariant } from "../util/assert.js";
import { parseFileHeaderPayload } from "./file-header.js";
import { RECORD_HEADER_BYTES, RECORD_MAGIC, RecordKind, checkRecordHeader, decodeRecord, } from "./record.js";
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32LE(RECORD_MAGIC, 0);
/** A sliding window over the file so records are parsed from large reads. */
class Window {
    file;
    endBytes;
    chunkBytes;
    buf = Buffer.alloc(0);
    start = 0;
    constructor(file, endBytes, chunkBytes) {
        this.file = file;
        this.endBytes = endBytes;
        this.chunkBytes = chunkBytes;
    }
    /** Returns a buffer and the index of `offset` in it, holding at least `length` bytes (or up to end). */
    async view(offset, length) {
        const wantEnd = Math.min(offset + length, this.endBytes);
        if (offset < this.start || wantEnd > this.start + this.buf.length) {
            const readLength = Math.min(Math.max(length, this.chunkBytes), this.endBytes - offset);
            const buf = Buffer.allocUnsafe(Math.max(readLength, 0));
            const n = await this.file.read(buf, offset);
            this.buf = buf.subarray(0, n);
            this.start = offset;
        }
        const at = offset - this.start;
        return { buf: this.buf, at, available: this.buf.length - at };
    }
}
export async function scanLogFile(file, options = {}) {
    const from = options.fromOffsetBytes ?? 0;
    invariant(from === 0 || options.expectedSeq !== undefined, "expectedSeq is required when scanning from an offset");
    const end = options.toOffsetBytes ?? (await file.sizeBytes());
    const window = new Window(file, end, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    let pos = from;
    let expectedSeq = from === 0 ? 0 : options.expectedSeq;
    let header;
    const stop = async (reason) => {
        const corruptBy = await findLaterBatch(window, pos + 1, end, expectedSeq);
        if (corruptBy) {
            return {
                status: "corrupt",
                endOffsetBytes: pos,
                nextSeq: expectedSeq,
                reason: `${reason} at offset ${pos} (seq ${expectedSeq}), but durable record seq ${corruptBy.seq} follows at offset ${corruptBy.offset}`,
                header,
            };
        }
        return { status: "torn", endOffsetBytes: pos, nextSeq: expectedSeq, fileSizeBytes: end, reason, header };
    };
    while (pos < end) {
        if (end - pos < RECORD_HEADER_BYTES)
            return stop("incomplete record header");
        let view = await window.view(pos, RECORD_HEADER_BYTES);
        const check = checkRecordHeader(view.buf, view.at);
        if (!check.ok)
            return stop(check.reason ?? "invalid header");
        const recordBytes = RECORD_HEADER_BYTES + check.payloadBytes;
        if (end - pos < recordBytes)
            return stop("incomplete record");
        view = await window.view(pos, recordBytes);
        const decoded = decodeRecord(view.buf, view.at);
        if (typeof decoded === "string")
            return stop(decoded);
        if (decoded.seq !== expectedSeq)
            return stop(`sequence ${decoded.seq} where ${expectedSeq} was expected`);
        if (decoded.kind === RecordKind.FileHeader) {
            if (pos !== 0)
                return stop("file header inside the file");
            const parsed = parseFileHeaderPayload(decoded.payload);
            if (typeof parsed === "string")
                return stop(parsed);
            header = parsed;
        }
        else if (pos === 0) {
            return stop("file does not start with a file header");
        }
        else if (options.onRecord) {
            await options.onRecord({ ...decoded, fileOffsetBytes: pos });
        }
        options.digest?.add(view.buf.readUInt32LE(view.at + RECORD_HEADER_BYTES - 4));
        pos += recordBytes;
        expectedSeq += 1;
    }
    return { status: "complete", endOffsetBytes: pos, nextSeq: expectedSeq, header };
}
/**
 * Looks behind an invalid record for a valid record written after the
 * invalid one was durable (its durableSeq is above the invalid record's seq). Only called once per scan, at the
 * point where reading stopped, so reading the rest of the file is fine.
 */
async function findLaterBatch(window, from, end, expectedSeq) {
    let pos = from;
    const searchChunk = 1024 * 1024;
    while (pos + RECORD_HEADER_BYTES <= end) {
        const { buf, at, available } = await window.view(pos, searchChunk);
        const hit = buf.subarray(at, at + available).indexOf(MAGIC_BYTES);
        if (hit < 0) {
            // Keep 3 bytes of overlap so a magic split across two reads is found.
            pos += Math.max(1, available - 3);
            continue;
        }
        const candidate = pos + hit;
        const record = await tryDecodeAt(window, candidate, end);
        if (record && record.seq >= expectedSeq && record.durableSeq > expectedSeq) {
            return { seq: record.seq, offset: candidate };
        }
        pos = candidate + 1;
    }
    return undefined;
}
async function tryDecodeAt(window, offset, end) {
    if (end - offset < RECORD_HEADER_BYTES)
        return undefined;
    let view = await window.view(offset, RECORD_HEADER_BYTES);
    const check = checkRecordHeader(view.buf, view.at);
    if (!check.ok || end - offset < RECORD_HEADER_BYTES + check.payloadBytes)
        return undefined;
    view = await window.view(offset, RECORD_HEADER_BYTES + check.payloadBytes);
    const decoded = decodeRecord(view.buf, view.at);
    return typeof decoded === "string" ? undefined : decoded;
}
/** Reads and validates just the file header record of a log file. */
export async function readLogFileHeader(file) {
    const head = Buffer.alloc(RECORD_HEADER_BYTES);
    if ((await file.read(head, 0)) < RECORD_HEADER_BYTES)
        return "file too short for a header";
    const check = checkRecordHeader(head, 0);
    if (!check.ok)
        return check.reason ?? "invalid header";
    const whole = Buffer.alloc(RECORD_HEADER_BYTES + check.payloadBytes);
    if ((await file.read(whole, 0)) < whole.length)
        return "incomplete file header";
    const decoded = decodeRecord(whole, 0);
    if (typeof decoded === "string")
        return decoded;
    if (decoded.kind !== RecordKind.FileHeader || decoded.seq !== 0)
        return "first record is not a file header";
    return parseFileHeaderPayload(decoded.payload);
}
//# sourceMappingURL=scanner.js.map
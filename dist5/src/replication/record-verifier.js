/**
 * Checks log bytes arriving from a peer before any of them touches our
 * disk: cuts the byte stream into records, verifies each record's CRC and
 * sequence number, and hands out only whole, valid records. A partial
 * record at the end of a chunk waits for the next chunk. Anything invalid
 * is an error (the peer only serves its durable, verified prefix, so a bad
 * record means damage in transit or on the peer: we stop and retry, we
 * never write it).
 */
import { parseFileHeaderPayload } from "../log/file-header.js";
import { RECORD_HEADER_BYTES, RecordKind, checkRecordHeader, decodeRecord } from "../log/record.js";
import { MarsError } from "../util/errors.js";
export class RecordVerifyError extends MarsError {
    constructor(message) {
        super("RECORD_INVALID", message);
    }
}
export class RecordVerifier {
    pending = Buffer.alloc(0);
    offset;
    seq;
    constructor(startOffsetBytes, expectedSeq) {
        this.offset = startOffsetBytes;
        this.seq = expectedSeq;
    }
    get offsetBytes() {
        return this.offset;
    }
    get nextSeq() {
        return this.seq;
    }
    /** Bytes received but not yet part of a whole record. */
    get pendingBytes() {
        return this.pending.length;
    }
    push(chunk) {
        const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
        const start = this.offset;
        const crcs = [];
        let header;
        let at = 0;
        while (buf.length - at >= RECORD_HEADER_BYTES) {
            const check = checkRecordHeader(buf, at);
            if (!check.ok)
                throw new RecordVerifyError(`record at offset ${this.offset}: ${check.reason ?? "invalid"}`);
            const total = RECORD_HEADER_BYTES + check.payloadBytes;
            if (buf.length - at < total)
                break;
            const record = decodeRecord(buf, at);
            if (typeof record === "string")
                throw new RecordVerifyError(`record at offset ${this.offset}: ${record}`);
            if (record.seq !== this.seq) {
                throw new RecordVerifyError(`record at offset ${this.offset} has seq ${record.seq}, expected ${this.seq}`);
            }
            if (record.kind === RecordKind.FileHeader) {
                if (this.offset !== 0)
                    throw new RecordVerifyError("file header inside the file");
                const parsed = parseFileHeaderPayload(record.payload);
                if (typeof parsed === "string")
                    throw new RecordVerifyError(parsed);
                header = parsed;
            }
            else if (this.offset === 0) {
                throw new RecordVerifyError("file does not start with a file header");
            }
            crcs.push(buf.readUInt32LE(at + RECORD_HEADER_BYTES - 4));
            at += total;
            this.offset += total;
            this.seq += 1;
        }
        this.pending = Buffer.from(buf.subarray(at));
        return {
            bytes: buf.subarray(0, at),
            offsetBytes: start,
            crcs,
            nextSeq: this.seq,
            ...(header ? { header } : {}),
        };
    }
}
//# sourceMappingURL=record-verifier.js.map
/**
 * The on-disk (and on-wire) log record format.
 *
 * Every record is a 56-byte header followed by its payload. Integers are
 * little-endian. The CRC32C covers header bytes [0, 52) and the payload, so
 * a single flipped bit anywhere in a record is detected.
 *
 *   off size field
 *     0   4  magic            0x4c52534d ("MSRL")
 *     4   1  formatVersion    1
 *     5   1  kind             1 FILE_HEADER, 2 WRITE, 3 ZERO
 *     6   2  flags            0 (reserved, must be 0)
 *     8   4  payloadBytes     bytes of payload following the header
 *    12   4  lengthBytes      bytes of the device affected (WRITE: = payload, ZERO: zeroed range)
 *    16   8  seq              record sequence number within the file (FILE_HEADER = 0)
 *    24   8  durableSeq       every record with a lower seq was durable when this one was written
 *    32   8  stampUs          Lamport timestamp
 *    40   8  offsetBytes      byte offset on the device
 *    48   4  reserved         0
 *    52   4  crc32c           over [0, 52) and the payload
 *
 * durableSeq lets the scanner tell a torn tail from corruption. The writer
 * sets it to the first seq of the oldest group-commit batch whose fdatasync
 * had not returned when this record's batch was formed (with one batch in
 * flight at a time: the first seq of the record's own batch). So a valid
 * record whose durableSeq is above the seq of an invalid record proves the
 * invalid one was durable once (corruption), while garbage followed only by
 * records with durableSeq at or below its seq may be a write that was
 * never acknowledged (torn tail: batches still in flight at the crash can
 * land in any order).
 */
import { crc32c } from "../util/crc32c.js";
export const RECORD_MAGIC = 0x4c52534d;
export const RECORD_FORMAT_VERSION = 1;
export const RECORD_HEADER_BYTES = 56;
const CRC_OFFSET = 52;
/** Hard format limit on one record's payload; writers split far below it. */
export const MAX_RECORD_PAYLOAD_BYTES = 64 * 1024 * 1024;
export const RecordKind = {
    FileHeader: 1,
    Write: 2,
    Zero: 3,
};
const TWO_32 = 2 ** 32;
function writeU64(buf, value, at) {
    buf.writeUInt32LE(value % TWO_32, at);
    buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}
function readU64(buf, at) {
    return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}
/** The CRC32C an encoded record header carries (what version digests chain). */
export function recordHeaderCrc(header) {
    return header.readUInt32LE(CRC_OFFSET);
}
/**
 * Builds the header for a record; the payload is passed separately so it is
 * never copied (header and payload go to one writev).
 */
export function encodeRecordHeader(fields, payload) {
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32LE(RECORD_MAGIC, 0);
    header.writeUInt8(RECORD_FORMAT_VERSION, 4);
    header.writeUInt8(fields.kind, 5);
    header.writeUInt16LE(0, 6);
    header.writeUInt32LE(payload.length, 8);
    header.writeUInt32LE(fields.lengthBytes, 12);
    writeU64(header, fields.seq, 16);
    writeU64(header, fields.durableSeq, 24);
    writeU64(header, fields.stampUs, 32);
    writeU64(header, fields.offsetBytes, 40);
    header.writeUInt32LE(0, 48);
    const crc = crc32c(payload, crc32c(header.subarray(0, CRC_OFFSET)));
    header.writeUInt32LE(crc, CRC_OFFSET);
    return header;
}
export function checkRecordHeader(buf, at) {
    const payloadBytes = buf.readUInt32LE(at + 8);
    const fail = (reason) => ({ ok: false, reason, payloadBytes });
    if (buf.readUInt32LE(at) !== RECORD_MAGIC)
        return fail("bad magic");
    if (buf.readUInt8(at + 4) !== RECORD_FORMAT_VERSION)
        return fail(`unknown format version ${buf.readUInt8(at + 4)}`);
    const kind = buf.readUInt8(at + 5);
    if (kind !== RecordKind.FileHeader && kind !== RecordKind.Write && kind !== RecordKind.Zero) {
        return fail(`unknown record kind ${kind}`);
    }
    if (buf.readUInt16LE(at + 6) !== 0)
        return fail("reserved flags set");
    if (payloadBytes > MAX_RECORD_PAYLOAD_BYTES)
        return fail(`payload of ${payloadBytes} bytes exceeds the format limit`);
    const lengthBytes = buf.readUInt32LE(at + 12);
    if (kind === RecordKind.Write && lengthBytes !== payloadBytes)
        return fail("write length differs from payload");
    if (kind === RecordKind.Zero && payloadBytes !== 0)
        return fail("zero record with payload");
    return { ok: true, payloadBytes };
}
/**
 * Decodes a complete record at `at` (header and payload must be inside buf).
 * Returns a reason string if the record is invalid.
 */
export function decodeRecord(buf, at) {
    const check = checkRecordHeader(buf, at);
    if (!check.ok)
        return check.reason ?? "invalid header";
    const end = at + RECORD_HEADER_BYTES + check.payloadBytes;
    if (end > buf.length)
        return "incomplete record";
    const payload = buf.subarray(at + RECORD_HEADER_BYTES, end);
    const expected = crc32c(payload, crc32c(buf.subarray(at, at + CRC_OFFSET)));
    if (expected !== buf.readUInt32LE(at + CRC_OFFSET))
        return "checksum mismatch";
    const fields = {
        kind: buf.readUInt8(at + 5),
        seq: readU64(buf, at + 16),
        durableSeq: readU64(buf, at + 24),
        stampUs: readU64(buf, at + 32),
        offsetBytes: readU64(buf, at + 40),
        lengthBytes: buf.readUInt32LE(at + 12),
    };
    for (const [name, value] of Object.entries(fields)) {
        if (!Number.isSafeInteger(value))
            return `${name} out of range`;
    }
    if (fields.durableSeq > fields.seq)
        return "durable mark ahead of its own record";
    return { ...fields, payload, recordBytes: end - at };
}
//# sourceMappingURL=record.js.map
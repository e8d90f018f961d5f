import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES, RecordKind, checkRecordHeader, decodeRecord, encodeRecordHeader, } from "../../../src/log/record.js";
import { pattern } from "../../helpers/log-fixtures.js";
function encode(fields, payload) {
    return Buffer.concat([encodeRecordHeader(fields, payload), payload]);
}
const WRITE = {
    kind: RecordKind.Write,
    seq: 7,
    durableSeq: 5,
    stampUs: 1_700_000_000_123_456,
    offsetBytes: 123 * 4096,
    lengthBytes: 100,
};
describe("log record format", () => {
    it("round-trips a WRITE record with every field", () => {
        const payload = pattern(100, 1);
        const buf = encode(WRITE, payload);
        assert.equal(buf.length, RECORD_HEADER_BYTES + 100);
        const decoded = decodeRecord(buf, 0);
        assert.ok(typeof decoded !== "string", JSON.stringify(decoded));
        assert.deepEqual({ ...decoded, payload: Buffer.from(decoded.payload) }, { ...WRITE, payload, recordBytes: buf.length });
    });
    it("round-trips values beyond 32 bits up to 2^53-1", () => {
        const fields = {
            kind: RecordKind.Zero,
            seq: 2 ** 40 + 3,
            durableSeq: 2 ** 33 + 1,
            stampUs: Number.MAX_SAFE_INTEGER,
            offsetBytes: 2 ** 52 + 4096,
            lengthBytes: 2 ** 32 - 1,
        };
        const buf = encode(fields, Buffer.alloc(0));
        const decoded = decodeRecord(buf, 0);
        assert.ok(typeof decoded !== "string", JSON.stringify(decoded));
        assert.equal(decoded.seq, fields.seq);
        assert.equal(decoded.durableSeq, fields.durableSeq);
        assert.equal(decoded.stampUs, fields.stampUs);
        assert.equal(decoded.offsetBytes, fields.offsetBytes);
        assert.equal(decoded.lengthBytes, fields.lengthBytes);
        assert.equal(decoded.kind, RecordKind.Zero);
    });
    it("decodes a record in the middle of a buffer, as a view", () => {
        const payload = pattern(64, 2);
        const record = encode({ ...WRITE, lengthBytes: 64 }, payload);
        const buf = Buffer.concat([Buffer.alloc(13, 0xee), record, Buffer.alloc(5)]);
        const decoded = decodeRecord(buf, 13);
        assert.ok(typeof decoded !== "string");
        assert.equal(decoded.payload.buffer, buf.buffer, "the payload is a view, not a copy");
        assert.deepEqual(Buffer.from(decoded.payload), payload);
    });
    it("detects a flipped bit anywhere in a record (every bit of header and payload)", () => {
        const payload = pattern(40, 3);
        const good = encode({ ...WRITE, lengthBytes: 40 }, payload);
        let checked = 0;
        for (let byte = 0; byte < good.length; byte++) {
            for (let bit = 0; bit < 8; bit++) {
                const bad = Buffer.from(good);
                bad[byte] = bad[byte] ^ (1 << bit);
                const decoded = decodeRecord(bad, 0);
                assert.equal(typeof decoded, "string", `bit ${bit} of byte ${byte} flipped went unnoticed`);
                checked += 1;
            }
        }
        assert.equal(checked, good.length * 8);
    });
    it("reports an incomplete record instead of reading past the buffer", () => {
        const good = encode({ ...WRITE, lengthBytes: 40 }, pattern(40, 4));
        assert.equal(decodeRecord(good.subarray(0, good.length - 1), 0), "incomplete record");
    });
    it("rejects headers that cannot be valid before looking at the payload", () => {
        const base = encode({ ...WRITE, lengthBytes: 8 }, pattern(8, 5));
        const variant = (mutate) => {
            const b = Buffer.from(base);
            mutate(b);
            const check = checkRecordHeader(b, 0);
            return check.ok ? undefined : check.reason;
        };
        assert.equal(checkRecordHeader(base, 0).ok, true);
        assert.equal(variant((b) => b.writeUInt32LE(0x12345678, 0)), "bad magic");
        assert.match(variant((b) => b.writeUInt8(2, 4)) ?? "", /unknown format version 2/);
        assert.match(variant((b) => b.writeUInt8(9, 5)) ?? "", /unknown record kind 9/);
        assert.equal(variant((b) => b.writeUInt16LE(1, 6)), "reserved flags set");
        assert.match(variant((b) => b.writeUInt32LE(MAX_RECORD_PAYLOAD_BYTES + 1, 8)) ?? "", /exceeds the format limit/);
        assert.equal(variant((b) => b.writeUInt32LE(9, 12)), "write length differs from payload");
        const zero = encode({ ...WRITE, kind: RecordKind.Zero, lengthBytes: 8 }, pattern(8, 6));
        assert.equal(checkRecordHeader(zero, 0).reason, "zero record with payload");
    });
    it("rejects a durable mark ahead of the record itself, even with a valid checksum", () => {
        const buf = encode({ ...WRITE, seq: 4, durableSeq: 5, lengthBytes: 0 }, Buffer.alloc(0));
        assert.equal(decodeRecord(buf, 0), "durable mark ahead of its own record");
    });
});
//# sourceMappingURL=record.test.js.map
import assert from "node:assert/strict";
import { open, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { RECORD_HEADER_BYTES } from "../../../src/log/record.js";
import { readLogFileHeader, scanLogFile, } from "../../../src/log/scanner.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { buildLogFile, fileHeader, pattern, readLogRecords } from "../../helpers/log-fixtures.js";
import { FaultyStorage } from "../../helpers/faulty-file.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
async function scanBytes(file, bytes) {
    await writeFile(file, bytes);
    return scanFile(file);
}
async function scanFile(file) {
    const handle = await nodeStorage.open(file, "read");
    try {
        return await scanLogFile(handle);
    }
    finally {
        await handle.close();
    }
}
/** The record (or the file header, seq 0) that contains byte `at`. */
function recordAt(records, at) {
    let found = { seq: 0, offset: 0 };
    for (const r of records)
        if (r.fileOffsetBytes <= at)
            found = { seq: r.seq, offset: r.fileOffsetBytes };
    return found;
}
/** The rule of record.ts: damage at seq s is corruption iff a later record says s was durable. */
function provenDurable(records, seq) {
    return records.some((r) => r.seq > seq && r.durableSeq > seq);
}
describe("log scanner", () => {
    let tmp;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    it("reads a complete multi-batch file in order, with every payload intact", async () => {
        const file = tmp.join("complete");
        await buildLogFile(file, [[100], [200, 300, 400], [1, 2], [4096]]);
        const { records, bytes } = await readLogRecords(file);
        assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7]);
        for (const r of records) {
            assert.deepEqual(r.payload, pattern(r.lengthBytes, r.seq), `payload of seq ${r.seq}`);
            assert.equal(r.offsetBytes, r.seq * 4096);
        }
        const last = records[records.length - 1];
        assert.equal(last.fileOffsetBytes + last.recordBytes, bytes.length);
        const outcome = await scanFile(file);
        assert.equal(outcome.status, "complete");
        assert.equal(outcome.endOffsetBytes, bytes.length);
        assert.equal(outcome.nextSeq, 8);
        assert.deepEqual(outcome.header, fileHeader());
    });
    it("detects a torn tail cut at every byte offset of the last record, keeping the prefix", async () => {
        const file = tmp.join("torn-source");
        await buildLogFile(file, [[64], [128, 96], [512]]);
        const { bytes, records } = await readLogRecords(file);
        const last = records[records.length - 1];
        const start = last.fileOffsetBytes;
        assert.equal(start + last.recordBytes, bytes.length);
        const cut = tmp.join("torn");
        for (let keep = 1; keep < last.recordBytes; keep++) {
            const outcome = await scanBytes(cut, bytes.subarray(0, start + keep));
            assert.equal(outcome.status, "torn", `cut after ${keep} bytes of the last record: ${outcome.status}`);
            assert.equal(outcome.endOffsetBytes, start, `cut after ${keep} bytes: prefix end`);
            assert.equal(outcome.nextSeq, last.seq);
            if (outcome.status === "torn")
                assert.equal(outcome.fileSizeBytes, start + keep);
        }
        // Cut exactly at a record boundary: nothing is torn.
        const whole = await scanBytes(cut, bytes.subarray(0, start));
        assert.equal(whole.status, "complete");
        assert.equal(whole.endOffsetBytes, start);
    });
    it("treats a cut last record followed by stale garbage (or zeroes) as torn", async () => {
        const file = tmp.join("garbage-source");
        await buildLogFile(file, [[64], [256, 256]]);
        const { bytes, records } = await readLogRecords(file);
        const last = records[records.length - 1];
        const start = last.fileOffsetBytes;
        const cut = tmp.join("garbage");
        for (let keep = 0; keep < last.recordBytes; keep += 7) {
            for (const tail of [pattern(300, keep), Buffer.alloc(4096)]) {
                const outcome = await scanBytes(cut, Buffer.concat([bytes.subarray(0, start + keep), tail]));
                assert.equal(outcome.status, "torn", `keep ${keep}`);
                assert.equal(outcome.endOffsetBytes, start);
            }
        }
    });
    it("detects a flipped bit anywhere in a multi-batch file: torn in the last batch, corrupt before", async () => {
        const file = tmp.join("flip");
        // One batch in flight at a time: each wave after the first forms two batches.
        await buildLogFile(file, [[40], [24, 16, 8], [32, 8], [48, 24, 16]], { maxBatchesInFlight: 1 });
        const { bytes, records } = await readLogRecords(file);
        const batches = new Set(records.map((r) => r.durableSeq));
        assert.ok(batches.size >= 4, `expected at least 4 batches, got ${batches.size}`);
        const lastBatchFirstSeq = Math.max(...batches);
        const damaged = tmp.join("flip-damaged");
        await writeFile(damaged, bytes);
        const handle = await open(damaged, "r+");
        const flips = { torn: 0, corrupt: 0 };
        try {
            for (let at = 0; at < bytes.length; at++) {
                const original = bytes[at];
                const flipped = Buffer.from([original ^ (1 << (at % 8))]);
                await handle.write(flipped, 0, 1, at);
                const outcome = await scanFile(damaged);
                await handle.write(Buffer.from([original]), 0, 1, at);
                const hit = recordAt(records, at);
                const inLastBatch = hit.seq >= lastBatchFirstSeq;
                const expected = inLastBatch ? "torn" : "corrupt";
                assert.equal(outcome.status, expected, `byte ${at} (seq ${hit.seq}): ${JSON.stringify(outcome)}`);
                assert.equal(outcome.endOffsetBytes, hit.offset, `byte ${at}: scan must stop at the damaged record`);
                assert.equal(outcome.nextSeq, hit.seq);
                flips[outcome.status === "torn" ? "torn" : "corrupt"] += 1;
            }
        }
        finally {
            await handle.close();
        }
        assert.ok(flips.torn > 0 && flips.corrupt > 0, JSON.stringify(flips));
        assert.equal((await scanFile(damaged)).status, "complete", "every flip was undone");
    });
    it("applies the durableSeq rule when batches were written concurrently (pipelined group commit)", async () => {
        const file = tmp.join("flip-pipelined");
        // The second batch's write waits until the first batch is durable: the
        // writer then forms the fourth batch while the second is still in flight
        // (durableSeq 3 < its seq), however fast the disk (without the hold a fast
        // disk could finish all three before the first completion was handled).
        // Writes are counted in the order they are issued, which is file order.
        let firstBatchDurable;
        const firstDurable = new Promise((resolve) => (firstBatchDurable = resolve));
        const storage = new FaultyStorage({
            // Write 1 is the file header, 2 the first batch, 3 the second.
            beforeOp: async (op, _path, n) => {
                if (op === "writev" && n === 3)
                    await firstDurable;
            },
        });
        await buildLogFile(file, [
            // Ten appends in one turn: three batches of two start together, and
            // the last four go out in batches formed as the first ones finish.
            [16, 16, 16, 16, 16, 16, 16, 16, 16, 16],
            [16, 16, 16, 16],
            [16, 16, 16],
        ], {
            maxBatchesInFlight: 3,
            maxBatchRecords: 2,
        }, { storage, observer: { pendingBytes: () => undefined, batchDurable: () => firstBatchDurable() } });
        const { bytes, records } = await readLogRecords(file);
        assert.ok(records.some((r) => r.durableSeq < r.seq &&
            records.some((o) => o.seq === r.durableSeq && o.durableSeq !== r.durableSeq)), "some batch was formed while an earlier one was still in flight");
        for (const r of records) {
            // Flip one bit in the middle of each record's payload (or its header for empty ones).
            const at = r.fileOffsetBytes + Math.min(RECORD_HEADER_BYTES + 3, r.recordBytes - 1);
            const copy = Buffer.from(bytes);
            copy[at] = copy[at] ^ 0x10;
            const outcome = await scanBytes(tmp.join("pipelined-damaged"), copy);
            assert.equal(outcome.status, provenDurable(records, r.seq) ? "corrupt" : "torn", `seq ${r.seq}`);
            assert.equal(outcome.endOffsetBytes, r.fileOffsetBytes);
        }
    });
    it("scans from an offset with the expected sequence number, up to a bound", async () => {
        const file = tmp.join("from-offset");
        await buildLogFile(file, [[10], [20, 30], [40, 50, 60]]);
        const { records } = await readLogRecords(file);
        const third = records[2];
        const fifth = records[4];
        const handle = await nodeStorage.open(file, "read");
        try {
            const seen = [];
            const outcome = await scanLogFile(handle, {
                fromOffsetBytes: third.fileOffsetBytes,
                expectedSeq: third.seq,
                toOffsetBytes: fifth.fileOffsetBytes,
                onRecord: (r) => {
                    seen.push(r.seq);
                },
                chunkBytes: 64,
            });
            assert.deepEqual(seen, [3, 4]);
            assert.equal(outcome.status, "complete");
            assert.equal(outcome.endOffsetBytes, fifth.fileOffsetBytes);
            assert.equal(outcome.nextSeq, 5);
            assert.equal(outcome.header, undefined, "the file header is not read when starting inside the file");
            const wrongSeq = await scanLogFile(handle, { fromOffsetBytes: third.fileOffsetBytes, expectedSeq: 9 });
            assert.notEqual(wrongSeq.status, "complete");
            assert.equal(wrongSeq.endOffsetBytes, third.fileOffsetBytes);
            await assert.rejects(scanLogFile(handle, { fromOffsetBytes: third.fileOffsetBytes }), /expectedSeq is required/);
        }
        finally {
            await handle.close();
        }
    });
    it("requires the file to start with a file header", async () => {
        const file = tmp.join("no-header");
        await buildLogFile(file, [[10], [20]]);
        const { bytes, records } = await readLogRecords(file);
        const first = records[0];
        const outcome = await scanBytes(tmp.join("headless"), bytes.subarray(first.fileOffsetBytes));
        assert.notEqual(outcome.status, "complete");
        assert.equal(outcome.endOffsetBytes, 0);
        const handle = await nodeStorage.open(file, "read");
        try {
            assert.deepEqual(await readLogFileHeader(handle), fileHeader());
        }
        finally {
            await handle.close();
        }
        await writeFile(tmp.join("short"), Buffer.alloc(10));
        const short = await nodeStorage.open(tmp.join("short"), "read");
        try {
            assert.equal(await readLogFileHeader(short), "file too short for a header");
        }
        finally {
            await short.close();
        }
    });
});
//# sourceMappingURL=scanner.test.js.map
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { listLogFiles } from "../../../src/log/log-directory.js";
import { LogStream } from "../../../src/log/log-stream.js";
import { readLogFileHeader, scanLogFile } from "../../../src/log/scanner.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { ClosedError, LogFailedError } from "../../../src/util/errors.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { pattern, writeEntry } from "../../helpers/log-fixtures.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { computeFileVersion, genesisVersion } from "../../../src/log/version.js";
import { RecordKind } from "../../../src/log/record.js";
const KIB = 1024;
describe("log stream (rotation)", () => {
    let tmp;
    let n = 0;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    async function start(overrides = {}) {
        const dir = tmp.join(`stream-${++n}`);
        await mkdir(dir);
        const finished = [];
        const failures = [];
        const stream = await LogStream.start({
            dir,
            resource: "r0",
            host: "alpha",
            storage: nodeStorage,
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            rotateBytes: 1024 * KIB,
            onFileFinished: (f) => finished.push(f),
            onFailed: (err) => failures.push(err),
            ...overrides,
        }, 1, 0, genesisVersion("r0", 0));
        return { dir, stream, finished, failures };
    }
    /** Scans every log file of dir: complete, contiguous stream positions, records in order. */
    async function checkFiles(dir) {
        const files = await listLogFiles(nodeStorage, dir);
        let streamEnd = 0;
        let records = 0;
        for (const f of files) {
            const handle = await nodeStorage.open(f.path, "read");
            try {
                const header = await readLogFileHeader(handle);
                assert.ok(typeof header !== "string", `${f.fileName}: ${JSON.stringify(header)}`);
                assert.equal(header.fileNumber, f.fileNumber);
                assert.equal(header.streamStartBytes, streamEnd, `${f.fileName} starts where the previous file ended`);
                const outcome = await scanLogFile(handle, { onRecord: () => void (records += 1) });
                assert.equal(outcome.status, "complete", f.fileName);
                streamEnd += outcome.endOffsetBytes;
            }
            finally {
                await handle.close();
            }
        }
        return { files: files.length, records };
    }
    it("knows a finished file's version without reading it: the same a scan of the file computes", async () => {
        const { dir, stream, finished } = await start({ rotateBytes: 64 * KIB });
        // Concurrent appends (several per batch), zero records, and files cut by rotation.
        await Promise.all(Array.from({ length: 60 }, (_, i) => stream.append(i % 7 === 3
            ? [{ kind: RecordKind.Zero, offsetBytes: i * 8 * KIB, lengthBytes: 8 * KIB }]
            : [writeEntry(i * 4 * KIB, pattern(3 * KIB + i, i)), writeEntry(0, pattern(512, i))])));
        await stream.close();
        assert.ok(finished.length >= 2, `${finished.length} files finished`);
        const files = await listLogFiles(nodeStorage, dir);
        for (const f of finished) {
            const onDisk = files.find((x) => x.fileNumber === f.name.fileNumber);
            assert.ok(onDisk);
            const handle = await nodeStorage.open(onDisk.path, "read");
            try {
                const header = await readLogFileHeader(handle);
                assert.ok(typeof header !== "string");
                const scanned = await computeFileVersion(handle, header, f.lengthBytes);
                assert.deepEqual(f.versionEntry, scanned, onDisk.fileName);
            }
            finally {
                await handle.close();
            }
        }
    });
    it("rotates to a new file when the current one reaches rotateBytes", async () => {
        const { dir, stream, finished } = await start({ rotateBytes: 64 * KIB });
        let lastStream = 0;
        for (let i = 0; i < 100; i++) {
            const r = await stream.append([writeEntry(i * 4 * KIB, pattern(4 * KIB, i))]);
            assert.ok(r.position.streamBytes > lastStream, "stream positions only grow");
            lastStream = r.position.streamBytes;
        }
        const closed = await stream.close();
        const { files, records } = await checkFiles(dir);
        assert.ok(files >= 6, `expected several files, got ${files}`);
        assert.equal(records, 100);
        assert.equal(finished.length, files, "onFileFinished for every rotated file and the closed one");
        assert.equal(closed.streamStartBytes + closed.lengthBytes, lastStream);
        for (const f of finished.slice(0, -1))
            assert.ok(f.lengthBytes >= 64 * KIB && f.lengthBytes < 80 * KIB);
    });
    it("rotates on request; appends issued meanwhile land in the new file", async () => {
        const { dir, stream, finished } = await start();
        assert.equal(await stream.rotate(), undefined, "an empty file is not rotated");
        await stream.append([writeEntry(0, pattern(100, 1))]);
        const rotation = stream.rotate();
        const during = stream.append([writeEntry(4096, pattern(100, 2))]);
        const done = await rotation;
        assert.equal(done?.name.fileNumber, 1);
        assert.equal((await during).position.fileNumber, 2);
        assert.equal(stream.current.fileNumber, 2);
        assert.equal(finished.length, 1);
        assert.deepEqual(stream.durablePosition().fileNumber, 2);
        await stream.barrier();
        await stream.close();
        assert.equal(finished.length, 2);
        assert.deepEqual(await checkFiles(dir), { files: 2, records: 2 });
        await assert.rejects(stream.append([writeEntry(0, pattern(1, 1))]), ClosedError);
    });
    it("reports a failed writer through onFailed", async () => {
        const storage = new FaultyStorage({ failDatasyncFrom: 2 });
        const { stream, failures } = await start({ storage });
        await assert.rejects(stream.append([writeEntry(0, pattern(10, 1))]), LogFailedError);
        assert.equal(failures.length, 1);
        assert.ok(failures[0] instanceof LogFailedError);
        await stream.close().catch(() => undefined);
    });
    it("starts no rotation once abandoned: a batch completing meanwhile does not finish the file being closed", async () => {
        const gate = new Gate();
        let holding = false;
        const storage = new FaultyStorage({
            beforeOp: (op) => (holding && op === "datasync" ? gate.wait() : undefined),
        });
        // One 4 KiB append reaches rotateBytes: its completion would start a rotation.
        const { dir, stream, finished, failures } = await start({ storage, rotateBytes: 4 * KIB });
        holding = true;
        const append = stream.append([writeEntry(0, pattern(4 * KIB, 1))]).then(() => "acknowledged", () => "refused");
        await waitFor("the batch waiting in its fdatasync", () => Promise.resolve(gate.waiting > 0));
        const abandoned = stream.abandon();
        gate.open();
        await abandoned;
        assert.equal(await append, "acknowledged", "the batch in flight completed");
        // rotate() waits for a rotation in progress (the append's completion would have started one),
        // then is refused: nothing is finished after abandon().
        const rotated = await stream.rotate().then((r) => r, (err) => err);
        assert.equal(rotated, undefined, `no rotation after abandon: ${String(rotated)}`);
        assert.deepEqual(failures, [], "no rotation ran into the closed file (EBADF)");
        assert.equal(finished.length, 0, "nothing was finished");
        assert.equal((await listLogFiles(nodeStorage, dir)).length, 1, "no next file was started");
    });
});
//# sourceMappingURL=log-stream.test.js.map
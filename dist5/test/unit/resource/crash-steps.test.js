/**
 * A crash at each step of a log file's life, through the storage seam
 * (test/helpers/crash-storage.ts): the process model stops at the step,
 * recovery runs on exactly what is left, then the node does what a
 * restarted primary does (start the next file, as Resource.takeOver does,
 * and write to it). Every case must recover by itself, the disk must hold
 * every acknowledged write (and at most the one write that was in flight),
 * and a second recovery must find the new file in the chain. The steps are
 * the rows of the crash-state table in docs/log-format.md.
 *
 * Write sizes and offsets come from a seed (printed; MARSD_CRASH_SEED
 * replays it).
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { listLogFiles } from "../../../src/log/log-directory.js";
import { formatLogName } from "../../../src/log/log-name.js";
import { LogStream } from "../../../src/log/log-stream.js";
import { RecordKind } from "../../../src/log/record.js";
import { genesisVersion } from "../../../src/log/version.js";
import { DEFAULT_WRITER_LIMITS } from "../../../src/log/writer.js";
import { LocalLogs } from "../../../src/replication/local-logs.js";
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from "../../../src/resource/checkpoint.js";
import { recoverLog } from "../../../src/resource/recovery.js";
import { ResourceFiles } from "../../../src/resource/resource-files.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { CrashStorage } from "../../helpers/crash-storage.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { prng } from "../../helpers/prng.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
const SEED = Number(process.env.MARSD_CRASH_SEED ?? Date.now() % 1_000_000);
const DISK_BYTES = 128 * 1024;
const ROTATE_BYTES = 16 * 1024;
const GENESIS = genesisVersion("r0", 0);
function randomEntry(random, i) {
    const lengthBytes = 512 * (1 + Math.floor(random() * 6));
    const offsetBytes = 512 * Math.floor(random() * (DISK_BYTES / 512 - 6));
    if (random() < 0.15)
        return { kind: RecordKind.Zero, offsetBytes, lengthBytes };
    return {
        kind: RecordKind.Write,
        offsetBytes,
        lengthBytes,
        payload: pattern(lengthBytes, SEED * 1000 + i),
    };
}
function applyTo(model, e) {
    const next = Buffer.from(model);
    if (e.payload)
        Buffer.from(e.payload).copy(next, e.offsetBytes);
    else
        next.fill(0, e.offsetBytes, e.offsetBytes + e.lengthBytes);
    return next;
}
function streamOptions(dir, storage, onFileFinished) {
    return {
        dir,
        resource: "r0",
        host: "alpha",
        storage,
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        rotateBytes: ROTATE_BYTES,
        // Preallocation on, in chunks as large as a file may grow: every file gets zeroes ahead of its records.
        limits: { ...DEFAULT_WRITER_LIMITS, preallocateBytes: ROTATE_BYTES },
        ...(onFileFinished ? { onFileFinished } : {}),
        onFailed: () => undefined,
    };
}
/**
 * Appends one write at a time (each acknowledged before the next is
 * issued) through `storage` until it crashes or `appends` are done; then
 * closes the stream (which may crash too).
 */
async function writeUntilCrash(root, storage, appends, onFileFinished) {
    const dir = path.join(root, "res");
    await mkdir(dir, { recursive: true });
    const disk = path.join(root, "disk.img");
    await writeFile(disk, Buffer.alloc(DISK_BYTES));
    const random = prng(SEED + root.length);
    const published = [];
    let acked = Buffer.alloc(DISK_BYTES);
    const models = [acked];
    const result = (withInFlight) => ({
        dir,
        disk,
        acked,
        withInFlight,
        published,
        models,
        positions,
    });
    const stream = await LogStream.start(streamOptions(dir, storage, (f) => {
        published.push(f.versionEntry);
        onFileFinished?.(f, storage);
    }), 1, 0, GENESIS);
    const positions = [stream.durablePosition()];
    for (let i = 1; i <= appends; i++) {
        const entry = randomEntry(random, i);
        const next = applyTo(acked, entry);
        try {
            positions.push((await stream.append([entry])).position);
        }
        catch (err) {
            if (!storage.crashed)
                throw err;
            return result(next);
        }
        acked = next;
        models.push(acked);
    }
    try {
        await stream.close();
    }
    catch (err) {
        if (!storage.crashed)
            throw err;
    }
    return result(acked);
}
async function recoverOnce(log, onFileReplayed) {
    const backing = await nodeStorage.open(log.disk, "readwrite");
    try {
        return await recoverLog({
            dir: log.dir,
            resource: "r0",
            time: systemClock,
            storage: nodeStorage,
            backing,
            checkpoint: await readCheckpoint(log.dir, nodeStorage),
            ...(onFileReplayed ? { onFileReplayed } : {}),
        });
    }
    finally {
        await backing.close();
    }
}
/**
 * What a restarted primary does: recover, start the next file right behind
 * the recovered end (Resource.takeOver), write to it; then a second
 * recovery must replay through the new file. Returns the first recovery.
 */
async function restartAndCheck(log, context) {
    const replayed = [];
    const first = await recoverOnce(log, (v) => replayed.push(v));
    const disk = await readFile(log.disk);
    const landed = disk.equals(log.acked)
        ? log.acked
        : disk.equals(log.withInFlight)
            ? log.withInFlight
            : undefined;
    assert.ok(landed, `${context}: after recovery the disk holds every acknowledged write and nothing else`);
    // Every version entry recovery reports for a finished file is the one its writer published.
    for (const v of replayed) {
        const p = log.published.find((e) => e.file === v.file);
        if (p)
            assert.deepEqual(v, p, `${context}: version of ${v.file}`);
    }
    const end = first.endPosition;
    const stream = await LogStream.start(streamOptions(log.dir, nodeStorage), end ? end.fileNumber + 1 : 1, end ? end.streamBytes : 0, first.lastVersion?.version ?? GENESIS);
    const extra = {
        kind: RecordKind.Write,
        offsetBytes: 0,
        lengthBytes: 512,
        payload: pattern(512, 7),
    };
    await stream.append([extra]);
    await stream.close();
    const second = await recoverOnce(log);
    assert.ok((await readFile(log.disk)).equals(applyTo(landed, extra)), `${context}: the write after the restart is replayed on top`);
    assert.equal(second.endPosition?.fileNumber, end ? end.fileNumber + 1 : 1, `${context}: chain continues`);
    assert.deepEqual(second.discarded, [], `${context}: nothing left to discard after a clean run`);
    return first;
}
const logName = (n) => formatLogName({ fileNumber: n, host: "alpha" });
const isStep = (s, name, nth = 1) => s.name === name && s.nthOfName === nth;
describe(`crash at every step of a log file's life (seed ${SEED})`, () => {
    let tmp;
    let n = 0;
    const nextRoot = () => tmp.join(`case-${++n}`);
    before(async () => (tmp = await makeTempDir("marsd-crash-steps-")));
    after(() => tmp.remove());
    it("after create, before the header (the EEXIST case): the empty file is removed, its number reused", async () => {
        const storage = new CrashStorage({ at: (s) => isStep(s, `writev ${logName(3)}`) });
        const log = await writeUntilCrash(nextRoot(), storage, 200);
        assert.ok(storage.crashed, "the crash happened");
        assert.ok((await readdir(log.dir)).includes(logName(3)), "the crash left the created file");
        const first = await restartAndCheck(log, "after create");
        assert.deepEqual(first.discarded, [logName(3)]);
        assert.equal(first.endPosition?.fileNumber, 2);
    });
    it("creating the very first file: the resource starts at file 1 again", async () => {
        const storage = new CrashStorage({ at: (s) => isStep(s, `writev ${logName(1)}`) });
        const root = nextRoot();
        await assert.rejects(writeUntilCrash(root, storage, 1), /crashed/);
        const log = {
            dir: path.join(root, "res"),
            disk: path.join(root, "disk.img"),
            acked: Buffer.alloc(DISK_BYTES),
            withInFlight: Buffer.alloc(DISK_BYTES),
            published: [],
            models: [],
            positions: [],
        };
        const first = await restartAndCheck(log, "first create");
        assert.deepEqual(first.discarded, [logName(1)]);
        assert.equal(first.endPosition, undefined);
    });
    for (const tearBytes of [20, 56, 90]) {
        it(`a header torn after ${tearBytes} bytes: nothing durable, removed`, async () => {
            const storage = new CrashStorage({
                at: (s) => isStep(s, `writev ${logName(3)}`),
                tearBytes,
            });
            const log = await writeUntilCrash(nextRoot(), storage, 200);
            assert.ok(storage.crashed);
            const first = await restartAndCheck(log, `torn header ${tearBytes}`);
            assert.deepEqual(first.discarded, [logName(3)]);
        });
    }
    it("after the header, before the directory sync: the file counts, the next number is beyond it", async () => {
        const storage = new CrashStorage({
            at: (s) => s.op === "syncDirectory" && storage.steps.includes(`writev ${logName(3)}`),
        });
        const log = await writeUntilCrash(nextRoot(), storage, 200);
        assert.ok(storage.crashed);
        const first = await restartAndCheck(log, "after header");
        assert.deepEqual(first.discarded, []);
        assert.equal(first.endPosition?.fileNumber, 3, "the header-only file is part of the chain");
    });
    it("after the header, during the first batch (header, zero records): the file counts", async () => {
        const storage = new CrashStorage({ at: (s) => isStep(s, `writev ${logName(3)}`, 2) });
        const log = await writeUntilCrash(nextRoot(), storage, 200);
        assert.ok(storage.crashed);
        const first = await restartAndCheck(log, "first batch");
        assert.equal(first.endPosition?.fileNumber, 3);
    });
    it("mid-rotation, cutting the finished file's preallocated space: cut as a torn tail", async () => {
        const storage = new CrashStorage({ at: (s) => isStep(s, `truncate ${logName(2)}`) });
        const log = await writeUntilCrash(nextRoot(), storage, 200);
        assert.ok(storage.crashed, "the finished file had preallocated space to cut");
        const first = await restartAndCheck(log, "mid-rotation");
        assert.equal(first.endPosition?.fileNumber, 2);
        assert.equal(first.tornBytes, 0, "zeroes are not torn records");
    });
    it("mid-rotation, while the finished file's cut is synced", async () => {
        const storage = new CrashStorage({
            at: (s) => s.name === `datasync ${logName(2)}` && storage.steps.includes(`truncate ${logName(2)}`),
        });
        const log = await writeUntilCrash(nextRoot(), storage, 200);
        assert.ok(storage.crashed);
        await restartAndCheck(log, "mid-rotation sync");
    });
    it("after the finished file's version entry: the next file continues it, its version is the same", async () => {
        let armed = false;
        const log = await writeUntilCrash(nextRoot(), new CrashStorage(), 200, (f, storage) => {
            if (f.name.fileNumber === 2 && !armed) {
                armed = true;
                storage.arm({ at: () => true });
            }
        });
        assert.ok(armed);
        assert.ok(log.published.some((v) => v.file === logName(2)));
        const first = await restartAndCheck(log, "after version entry");
        assert.equal(first.endPosition?.fileNumber, 3);
    });
    for (const at of ["remove", "syncDirectory"]) {
        it(`mid-deletion (crash at the ${at} of the second file): recovery from the checkpoint is complete`, async () => {
            const log = await writeUntilCrash(nextRoot(), new CrashStorage(), 200);
            const files = await listLogFiles(nodeStorage, log.dir);
            assert.ok(files.length >= 5, "the log spans several files");
            // The checkpoint is in file 4: files 1-3 may go.
            const k = log.positions.findIndex((p) => p.fileNumber === 4 && p.offsetBytes > 100);
            assert.ok(k > 0);
            await writeCheckpoint(log.dir, log.positions[k], nodeStorage);
            const storage = new CrashStorage({
                at: (s) => at === "remove" ? isStep(s, `remove ${logName(2)}`) : s.op === "syncDirectory" && s.nthOfName === 2,
            });
            const logs = new LocalLogs(log.dir, storage);
            await logs.load();
            await assert.rejects(async () => {
                for (const f of logs.list())
                    if (f.fileNumber < 4)
                        await logs.remove(f.name);
            }, /crashed/);
            assert.ok(storage.crashed);
            const left = (await listLogFiles(nodeStorage, log.dir)).map((f) => f.fileNumber);
            assert.ok(!left.includes(1) && left.includes(4), `left: ${left.join(",")}`);
            // The disk holds what the checkpoint says (at least).
            await writeFile(log.disk, log.models[k]);
            await restartAndCheck(log, `mid-deletion ${at}`);
        });
    }
    for (const at of ["writev", "datasync", "rename", "syncDirectory"]) {
        it(`mid-checkpoint (crash at its ${at}): the old checkpoint holds, replay from it is idempotent`, async () => {
            const log = await writeUntilCrash(nextRoot(), new CrashStorage(), 200);
            const k = Math.floor(log.positions.length / 3);
            const m = Math.floor((2 * log.positions.length) / 3);
            await writeCheckpoint(log.dir, log.positions[k], nodeStorage);
            const storage = new CrashStorage({
                at: (s) => at === "syncDirectory"
                    ? s.op === "syncDirectory"
                    : s.op === at && path.basename(s.path).startsWith(".tmp.checkpoint.json"),
                tearBytes: 10,
            });
            // The checkpoint is written only after the disk is synced: the disk holds at least m.
            await writeFile(log.disk, log.models[m]);
            await assert.rejects(writeCheckpoint(log.dir, log.positions[m], storage), /crashed/);
            const saved = await readCheckpoint(log.dir, nodeStorage);
            const expected = at === "syncDirectory" ? log.positions[m] : log.positions[k];
            assert.deepEqual({ ...saved, format: undefined }, { ...expected, format: undefined });
            const first = await restartAndCheck(log, `mid-checkpoint ${at}`);
            assert.equal(first.temporaries.length, at === "writev" || at === "datasync" || at === "rename" ? 1 : 0);
            assert.deepEqual((await readdir(log.dir)).filter((f) => f.startsWith(".tmp.")), [], "no temporary left behind");
            assert.ok((await readdir(log.dir)).includes(CHECKPOINT_FILE));
        });
    }
    it("mid-write of the sync and fetch progress files: the previous progress is read back", async () => {
        const dir = nextRoot();
        await mkdir(dir, { recursive: true });
        const files = new ResourceFiles(dir, nodeStorage);
        await files.writeSync({ state: "syncing", doneBytes: 4096, totalBytes: 65536, consistent: false });
        await files.writeFetch({ file: logName(2), verifiedBytes: 300, nextSeq: 4, finished: false });
        for (const at of ["writev", "rename"]) {
            const storage = new CrashStorage({ at: (s) => s.op === at, tearBytes: 5 });
            const crashing = new ResourceFiles(dir, storage);
            await assert.rejects(crashing.writeSync({ state: "syncing", doneBytes: 8192, totalBytes: 65536, consistent: false }), /crashed/);
            await assert.rejects(new ResourceFiles(dir, new CrashStorage({ at: (s) => s.op === at })).writeFetch({
                file: logName(2),
                verifiedBytes: 900,
                nextSeq: 9,
                finished: false,
            }), /crashed/);
            assert.equal((await files.readSync())?.doneBytes, 4096, `${at}: a full sync resumes at its saved progress`);
            assert.equal((await files.readFetch())?.verifiedBytes, 300, `${at}: a fetch resumes at its saved progress`);
        }
    });
});
//# sourceMappingURL=crash-steps.test.js.map
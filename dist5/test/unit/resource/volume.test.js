import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { LogStream } from "../../../src/log/log-stream.js";
import { ApplyQueue } from "../../../src/resource/apply-queue.js";
import { ReadOnlyError, VolumeFailedError } from "../../../src/resource/block-volume.js";
import { DEFAULT_VOLUME_OPTIONS, PrimaryVolume } from "../../../src/resource/volume.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { LogFailedError, OutOfRangeError } from "../../../src/util/errors.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { pattern, readLogRecords } from "../../helpers/log-fixtures.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { genesisVersion } from "../../../src/log/version.js";
const SIZE = 1024 * 1024;
describe("primary volume (write path)", () => {
    let tmp;
    let n = 0;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    async function volume(options = {}) {
        const root = tmp.join(`v-${++n}`);
        await mkdir(root);
        const diskPath = `${root}/disk.img`;
        await writeFile(diskPath, Buffer.alloc(SIZE));
        const backing = await (options.disk ?? nodeStorage).open(diskPath, "readwrite");
        const log = await LogStream.start({
            dir: root,
            resource: "r0",
            host: "alpha",
            storage: options.log ?? nodeStorage,
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            rotateBytes: 1 << 30,
        }, 1, 0, genesisVersion("r0", 0));
        const applier = new ApplyQueue(systemClock, backing, log.durablePosition());
        const fatal = [];
        const v = new PrimaryVolume("r0", SIZE, backing, log, applier, { ...DEFAULT_VOLUME_OPTIONS, ...options.volume }, (err) => fatal.push(err));
        const close = async () => {
            await v.idle();
            await log.close().catch(() => undefined);
            await backing.close();
        };
        return { v, log, applier, fatal, close, logFile: `${root}/log-000000001-alpha` };
    }
    it("acknowledges a write once it is in the log; a read still sees it while the disk write is pending", async () => {
        const gate = new Gate();
        const disk = new FaultyStorage({ beforeOp: (op) => (op === "writev" ? gate.wait() : undefined) });
        const { v, applier, close } = await volume({ disk });
        const data = pattern(8192, 1);
        await v.write(4096, data);
        assert.equal(applier.inFlightCount, 1, "acknowledged before the disk write finished");
        await waitFor("the disk write to start", () => gate.waiting === 1);
        const target = Buffer.alloc(4096);
        const read = v.read(8192, target);
        const untouched = Buffer.alloc(4096, 0xff);
        await v.read(65536, untouched);
        assert.deepEqual(untouched, Buffer.alloc(4096), "a read elsewhere does not wait");
        gate.open();
        await read;
        assert.deepEqual(target, data.subarray(4096));
        await close();
    });
    it("bounds the unapplied backlog: beyond it a write waits for its own disk write", async () => {
        const gate = new Gate();
        const disk = new FaultyStorage({ beforeOp: (op) => (op === "writev" ? gate.wait() : undefined) });
        const { v, applier, close } = await volume({ disk, volume: { maxApplyBacklogBytes: 8192 } });
        await v.write(0, pattern(4096, 1));
        await v.write(4096, pattern(4096, 2));
        let third = false;
        const pending = v.write(8192, pattern(4096, 3)).then(() => (third = true));
        await waitFor("the third write to reach the disk queue", () => applier.inFlightCount === 3);
        await new Promise(setImmediate);
        assert.equal(third, false, "over the backlog bound the write is not acknowledged early");
        gate.open();
        await pending;
        await close();
    });
    it("splits large writes and zero ranges into records and applies them in order", async () => {
        const { v, close, logFile } = await volume({
            volume: { maxRecordPayloadBytes: 4096, maxZeroRecordBytes: 8192 },
        });
        const data = pattern(10_000, 7);
        await v.write(1000, data);
        await v.writeZeroes(2000, 20_000);
        await v.flush();
        const check = Buffer.alloc(30_000);
        await v.read(0, check);
        const model = Buffer.alloc(30_000);
        data.copy(model, 1000);
        model.fill(0, 2000, 22_000);
        assert.deepEqual(check, model);
        await close();
        const { records } = await readLogRecords(logFile);
        assert.deepEqual(records.map((r) => [r.kind, r.offsetBytes, r.lengthBytes]), [
            [2, 1000, 4096],
            [2, 5096, 4096],
            [2, 9192, 1808],
            [3, 2000, 8192],
            [3, 10192, 8192],
            [3, 18384, 3616],
        ]);
    });
    it("refuses IO outside the volume and writes once stopped", async () => {
        const { v, close } = await volume();
        await assert.rejects(v.write(SIZE - 10, pattern(11, 1)), OutOfRangeError);
        await assert.rejects(v.read(SIZE, Buffer.alloc(1)), OutOfRangeError);
        await assert.rejects(v.writeZeroes(-1, 10), OutOfRangeError);
        await assert.rejects(v.trim(SIZE - 1, 2), OutOfRangeError);
        await v.write(SIZE - 10, pattern(10, 1));
        v.stopWrites();
        assert.equal(v.writable, false);
        await assert.rejects(v.write(0, pattern(10, 1)), ReadOnlyError);
        await assert.rejects(v.writeZeroes(0, 10), ReadOnlyError);
        const tail = Buffer.alloc(10);
        await v.read(SIZE - 10, tail);
        assert.deepEqual(tail, pattern(10, 1), "reads still work");
        await close();
    });
    it("refuses reads too, with the reason, once its files are about to close (no raw EBADF)", async () => {
        const { v, close } = await volume();
        await v.write(0, pattern(10, 1));
        v.stopAll(new VolumeFailedError("r0 failed: injected"));
        assert.equal(v.writable, false);
        await assert.rejects(v.read(0, Buffer.alloc(10)), VolumeFailedError);
        await assert.rejects(v.write(0, pattern(10, 2)), VolumeFailedError);
        await close();
    });
    it("reports a failed log as fatal and fails the write", async () => {
        const { v, fatal, close } = await volume({ log: new FaultyStorage({ failDatasyncFrom: 2 }) });
        await assert.rejects(v.write(0, pattern(10, 1)), LogFailedError);
        assert.equal(fatal.length, 1);
        await close();
    });
    it("reports a failed disk write as fatal; reads of that range fail instead of returning stale data", async () => {
        const gate = new Gate();
        const disk = new FaultyStorage({
            failWritevFrom: 1,
            beforeOp: (op) => (op === "writev" ? gate.wait() : undefined),
        });
        const { v, fatal, close } = await volume({ disk });
        await v.write(0, pattern(4096, 1));
        const read = v.read(0, Buffer.alloc(4096));
        gate.open();
        await assert.rejects(read, /EIO/);
        await waitFor("the fatal report", () => fatal.length === 1);
        await close();
    });
});
//# sourceMappingURL=volume.test.js.map
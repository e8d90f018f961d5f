/**
 * The TypeScript half of the ublk frontend, on any machine: how a request
 * maps onto the volume and what the kernel is told, how results are
 * batched back to the queue threads, the state file, option bounds and the
 * availability check. The kernel half runs in the VM (npm run test:vm).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ReadOnlyError } from "../../../src/resource/block-volume.js";
import { OutOfRangeError } from "../../../src/util/errors.js";
import { UblkIoFlag, UblkOp } from "../../../src/frontend/ublk/abi.js";
import { detectUblk } from "../../../src/frontend/ublk/availability.js";
import { DEFAULT_UBLK_OPTIONS, validateUblkOptions } from "../../../src/frontend/ublk/device.js";
import { readUblkState, writeUblkState, UBLK_STATE_FILE } from "../../../src/frontend/ublk/device-state.js";
import { UblkIoHandler } from "../../../src/frontend/ublk/io-handler.js";
import { QueueEventKind } from "../../../src/frontend/ublk/native.js";
import { UblkQueueSet } from "../../../src/frontend/ublk/queues.js";
import { systemClock } from "../../../src/platform/clock.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
const { EINVAL, EIO, ENOSPC, EOPNOTSUPP, EPERM } = constants.errno;
/** A volume in memory that records the calls it gets. */
class MemoryVolume {
    name;
    sizeBytes;
    bytes;
    calls = [];
    /** Data references handed to write(), to check they are not the caller's buffer. */
    written = [];
    writable = true;
    failWith;
    constructor(name, sizeBytes) {
        this.name = name;
        this.sizeBytes = sizeBytes;
        this.bytes = new Uint8Array(sizeBytes);
    }
    check(offset, length) {
        if (this.failWith)
            throw this.failWith;
        if (offset + length > this.sizeBytes)
            throw new OutOfRangeError("outside");
    }
    read(offset, target) {
        this.calls.push(`read ${offset} ${target.length}`);
        this.check(offset, target.length);
        target.set(this.bytes.subarray(offset, offset + target.length));
        return Promise.resolve();
    }
    write(offset, data) {
        this.calls.push(`write ${offset} ${data.length}`);
        this.check(offset, data.length);
        if (!this.writable)
            throw new ReadOnlyError("read-only");
        this.bytes.set(data, offset);
        this.written.push(data);
        return Promise.resolve();
    }
    writeZeroes(offset, length) {
        this.calls.push(`zero ${offset} ${length}`);
        this.check(offset, length);
        this.bytes.fill(0, offset, offset + length);
        return Promise.resolve();
    }
    trim(offset, length) {
        this.calls.push(`trim ${offset} ${length}`);
        this.check(offset, length);
        return Promise.resolve();
    }
    flush() {
        this.calls.push("flush");
        if (this.failWith)
            throw this.failWith;
        return Promise.resolve();
    }
}
function request(op, startSector, nrSectors, buffer = new Uint8Array(65536), flags = 0) {
    return { opFlags: op | flags, startSector, nrSectors, buffer };
}
describe("ublk IO handler", () => {
    it("reads into the tag buffer and answers the byte count", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        volume.bytes.fill(7, 4096, 8192);
        const handler = new UblkIoHandler(volume, () => assert.fail("no error expected"));
        const buffer = new Uint8Array(65536);
        assert.equal(await handler.serve(request(UblkOp.READ, 8, 8, buffer)), 4096);
        assert.ok(buffer.subarray(0, 4096).every((b) => b === 7));
        assert.deepEqual(volume.calls, ["read 4096 4096"]);
    });
    it("writes a copy of the tag buffer (FUA or not), so the buffer can be reused at once", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        const handler = new UblkIoHandler(volume, () => assert.fail("no error expected"));
        const buffer = new Uint8Array(65536).fill(9);
        assert.equal(await handler.serve(request(UblkOp.WRITE, 16, 2, buffer, UblkIoFlag.FUA)), 1024);
        buffer.fill(0); // the kernel reuses the tag for the next IO
        assert.ok(volume.written[0]?.every((b) => b === 9), "the volume must hold its own copy");
        assert.ok(volume.bytes.subarray(8192, 9216).every((b) => b === 9));
    });
    it("maps flush, discard and write-zeroes, and ignores a flush's start sector", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        const handler = new UblkIoHandler(volume, () => assert.fail("no error expected"));
        // The block layer leaves (sector_t)-1 in a flush: not a number JS can hold exactly.
        assert.equal(await handler.serve(request(UblkOp.FLUSH, 2 ** 64 - 1, 0)), 0);
        assert.equal(await handler.serve(request(UblkOp.DISCARD, 0, 2048)), 0);
        assert.equal(await handler.serve(request(UblkOp.WRITE_ZEROES, 8, 8, undefined, UblkIoFlag.NOUNMAP)), 0);
        assert.deepEqual(volume.calls, ["flush", "trim 0 1048576", "zero 4096 4096"]);
    });
    it("answers bad requests and volume errors with the NBD frontend's errnos", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        const logged = [];
        const handler = new UblkIoHandler(volume, (err) => logged.push(err));
        assert.equal(await handler.serve(request(UblkOp.WRITE_SAME, 0, 8)), -EOPNOTSUPP);
        assert.equal(await handler.serve(request(99, 0, 8)), -EOPNOTSUPP);
        assert.equal(await handler.serve(request(UblkOp.READ, 0, 256, new Uint8Array(4096))), -EINVAL);
        assert.equal(await handler.serve(request(UblkOp.READ, 2 ** 60, 8)), -EINVAL);
        assert.equal(await handler.serve(request(UblkOp.READ, 2048, 8)), -EINVAL);
        assert.equal(await handler.serve(request(UblkOp.WRITE, 2048, 8)), -ENOSPC);
        assert.equal(await handler.serve(request(UblkOp.WRITE_ZEROES, 2048, 8)), -ENOSPC);
        volume.writable = false;
        assert.equal(await handler.serve(request(UblkOp.WRITE, 0, 8)), -EPERM);
        assert.equal(logged.length, 0);
        volume.failWith = new Error("disk on fire");
        assert.equal(await handler.serve(request(UblkOp.FLUSH, 0, 0)), -EIO);
        assert.equal(await handler.serve(request(UblkOp.READ, 0, 8)), -EIO);
        assert.equal(logged.length, 2);
    });
});
/**
 * A stand-in for the addon's Queues class, to test the JS batching: it
 * records what complete() receives and lets the test emit events the way
 * the native threads do. (The real one runs in the VM tests.)
 */
class RecordingQueues {
    devId;
    queues;
    depth;
    bufBytes;
    emit;
    static last;
    completed = [];
    closed = false;
    constructor(devId, queues, depth, bufBytes, emit) {
        this.devId = devId;
        this.queues = queues;
        this.depth = depth;
        this.bufBytes = bufBytes;
        this.emit = emit;
        RecordingQueues.last = this;
    }
    start() {
        return Array.from({ length: this.queues }, () => new ArrayBuffer(this.depth * this.bufBytes));
    }
    complete(qid, results) {
        this.completed.push([qid, Array.from(results)]);
    }
    close() {
        this.closed = true;
        return Promise.resolve();
    }
}
const recordingAddon = { Queues: RecordingQueues };
describe("ublk queue set", () => {
    const shape = { devId: 3, queues: 2, depth: 4, bufBytes: 8192 };
    const noLog = () => undefined;
    it("starts once every queue reported ready, and fails on a queue error", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        const set = new UblkQueueSet(recordingAddon, shape, new UblkIoHandler(volume, noLog), noLog, systemClock);
        const started = set.start();
        const native = RecordingQueues.last;
        let done = false;
        void started.then(() => (done = true));
        native.emit(0, QueueEventKind.READY, undefined, undefined);
        await new Promise((r) => setImmediate(r));
        assert.equal(done, false, "one of two queues is not ready yet");
        native.emit(1, QueueEventKind.READY, undefined, undefined);
        await started;
        const failing = new UblkQueueSet(recordingAddon, shape, new UblkIoHandler(volume, noLog), noLog, systemClock);
        const failed = failing.start();
        RecordingQueues.last.emit(1, QueueEventKind.ERROR, undefined, "mmap: no memory");
        await assert.rejects(failed, /queue 1 of device 3: mmap: no memory/);
    });
    it("serves a batch and hands all results of one turn back in one call per queue", async () => {
        const volume = new MemoryVolume("v", 1 << 20);
        volume.bytes.fill(5, 0, 4096);
        const set = new UblkQueueSet(recordingAddon, shape, new UblkIoHandler(volume, noLog), noLog, systemClock);
        const started = set.start();
        const native = RecordingQueues.last;
        native.emit(0, QueueEventKind.READY, undefined, undefined);
        native.emit(1, QueueEventKind.READY, undefined, undefined);
        await started;
        // tag, op_flags, nr_sectors, start_sector
        native.emit(0, QueueEventKind.IO, new Float64Array([0, UblkOp.READ, 8, 0, 3, UblkOp.FLUSH, 0, 0, 2, UblkOp.WRITE, 1, 64]), undefined);
        native.emit(1, QueueEventKind.IO, new Float64Array([1, 42, 8, 0]), undefined);
        await new Promise((r) => setTimeout(r, 10));
        // One call per queue; within it, results in whatever order they finished.
        const byQueue = native.completed.map(([qid, pairs]) => {
            const results = new Map();
            for (let i = 0; i < pairs.length; i += 2)
                results.set(pairs[i], pairs[i + 1]);
            return [qid, results];
        });
        assert.deepEqual(byQueue, [
            [
                0,
                new Map([
                    [0, 4096],
                    [3, 0],
                    [2, 512],
                ]),
            ],
            [1, new Map([[1, -EOPNOTSUPP]])],
        ]);
        assert.equal(set.inFlight, 0);
        await set.close();
        assert.ok(native.closed);
    });
});
describe("ublk device state and options", () => {
    it("keeps the device id and owner tag, and rejects a damaged file", async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-ublk-state-"));
        try {
            assert.equal(await readUblkState(nodeStorage, dir), undefined);
            await writeUblkState(nodeStorage, dir, { deviceId: 5, ownerTag: 123456789 });
            assert.deepEqual(await readUblkState(nodeStorage, dir), { deviceId: 5, ownerTag: 123456789 });
            await writeFile(path.join(dir, UBLK_STATE_FILE), '{"deviceId": -1, "ownerTag": 1}');
            await assert.rejects(readUblkState(nodeStorage, dir), /does not hold/);
            await writeFile(path.join(dir, UBLK_STATE_FILE), "{not json");
            await assert.rejects(readUblkState(nodeStorage, dir), /unreadable/);
        }
        finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
    it("bounds every option", () => {
        validateUblkOptions(DEFAULT_UBLK_OPTIONS);
        for (const bad of [
            { queues: 0 },
            { queues: 65 },
            { queueDepth: 0 },
            { queueDepth: 4097 },
            { maxIoBytes: 1000 },
            { maxIoBytes: 64 * 1024 * 1024 },
            { recoveryWaitMs: -1 },
        ]) {
            assert.throws(() => validateUblkOptions({ ...DEFAULT_UBLK_OPTIONS, ...bad }), RangeError, JSON.stringify(bad));
        }
    });
});
describe("ublk availability", () => {
    it("names the reason: addon missing, no control device, not a device", async () => {
        const noAddon = detectUblk({
            load: () => ({ ok: false, reason: "the ublk addon could not be loaded (x)" }),
        });
        assert.deepEqual(noAddon, { available: false, reason: "the ublk addon could not be loaded (x)" });
        const addon = {};
        const missing = detectUblk({
            controlPath: "/nonexistent/ublk-control",
            load: () => ({ ok: true, addon }),
        });
        assert.equal(missing.available, false);
        assert.match(missing.reason, /the kernel has no ublk: \/nonexistent\/ublk-control is missing/);
        const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-ublk-ctl-"));
        try {
            const file = path.join(dir, "ublk-control");
            await writeFile(file, "");
            const notDevice = detectUblk({ controlPath: file, load: () => ({ ok: true, addon }) });
            assert.match(notDevice.reason, /not a character device/);
        }
        finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
    it("on this machine: available exactly when the addon loads and the kernel has ublk", () => {
        const result = detectUblk();
        if (result.available) {
            assert.equal(typeof result.addon.addDevice, "function");
        }
        else {
            assert.match(result.reason, /ublk/);
        }
    });
});
//# sourceMappingURL=ublk.test.js.map
/**
 * The ublk frontend's metrics without a kernel: the real queue set
 * (src/frontend/ublk/queues.ts) with the real request handler and the
 * daemon's real Metrics observer, fed IO batches the way the native queue
 * threads deliver them (a recording stand-in for the addon's Queues class,
 * the only part that needs /dev/ublkcN; the real one runs in the VM tests).
 * The series a scrape shows must follow the requests: counts and bytes by
 * op, errors by errno, the in-flight gauge while a request waits and its
 * bound from the queue shape.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UblkOp } from "../../../src/frontend/ublk/abi.js";
import { UblkIoHandler } from "../../../src/frontend/ublk/io-handler.js";
import { QueueEventKind } from "../../../src/frontend/ublk/native.js";
import { UblkQueueSet } from "../../../src/frontend/ublk/queues.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { systemClock } from "../../../src/platform/clock.js";
import { OutOfRangeError } from "../../../src/util/errors.js";
import { parseExposition } from "../../helpers/monitoring.js";
class RecordingQueues {
    devId;
    queues;
    depth;
    bufBytes;
    emit;
    static last;
    completed = [];
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
        return Promise.resolve();
    }
}
const recordingAddon = { Queues: RecordingQueues };
/** A 1 MiB volume in memory whose writes wait until the test releases them. */
class GatedVolume {
    name = "r0";
    sizeBytes = 1 << 20;
    writable = true;
    bytes = new Uint8Array(this.sizeBytes);
    waiting = [];
    check(offset, length) {
        if (offset + length > this.sizeBytes)
            throw new OutOfRangeError("outside the volume");
    }
    read(offset, target) {
        this.check(offset, target.length);
        target.set(this.bytes.subarray(offset, offset + target.length));
        return Promise.resolve();
    }
    async write(offset, data) {
        this.check(offset, data.length);
        await new Promise((resolve) => this.waiting.push(resolve));
        this.bytes.set(data, offset);
    }
    writeZeroes(offset, length) {
        this.check(offset, length);
        this.bytes.fill(0, offset, offset + length);
        return Promise.resolve();
    }
    trim(offset, length) {
        this.check(offset, length);
        return Promise.resolve();
    }
    flush() {
        return Promise.resolve();
    }
    get writesWaiting() {
        return this.waiting.length;
    }
    releaseWrites() {
        for (const resolve of this.waiting.splice(0))
            resolve();
    }
}
async function scrape(metrics) {
    const { samples } = parseExposition(await metrics.registry.metrics());
    return (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
}
const turn = () => new Promise((resolve) => systemClock.nextTurn(() => resolve(undefined)));
describe("ublk metrics", () => {
    it("count requests, bytes and errors by op, and show the queue depth in use against its bound", async () => {
        const metrics = new Metrics({ defaultMetrics: false });
        const volume = new GatedVolume();
        const shape = { devId: 7, queues: 2, depth: 8, bufBytes: 65536 };
        const set = new UblkQueueSet(recordingAddon, shape, new UblkIoHandler(volume, () => undefined), () => undefined, systemClock, metrics.ublkObserver("r0"));
        const started = set.start();
        const native = RecordingQueues.last;
        native.emit(0, QueueEventKind.READY, undefined, undefined);
        native.emit(1, QueueEventKind.READY, undefined, undefined);
        await started;
        let value = await scrape(metrics);
        assert.equal(value("marsd_ublk_queue_depth_limit_requests", { resource: "r0" }), 16);
        // tag, op_flags, nr_sectors, start_sector: two 4 KiB writes (held by the volume),
        // a 4 KiB read, a flush, and a read past the end (EINVAL).
        native.emit(0, QueueEventKind.IO, new Float64Array([0, UblkOp.WRITE, 8, 0, 1, UblkOp.WRITE, 8, 8]), undefined);
        native.emit(1, QueueEventKind.IO, new Float64Array([0, UblkOp.READ, 8, 0, 1, UblkOp.FLUSH, 0, 0]), undefined);
        native.emit(1, QueueEventKind.IO, new Float64Array([2, UblkOp.READ, 8, 4096]), undefined);
        await turn();
        assert.equal(volume.writesWaiting, 2);
        value = await scrape(metrics);
        assert.equal(value("marsd_ublk_inflight_requests", { resource: "r0" }), 2, "the two held writes");
        assert.equal(value("marsd_ublk_requests_total", { resource: "r0", op: "read" }), 2);
        assert.equal(value("marsd_ublk_requests_total", { resource: "r0", op: "flush" }), 1);
        assert.equal(value("marsd_ublk_request_bytes_total", { resource: "r0", op: "read" }), 4096);
        assert.equal(value("marsd_ublk_request_errors_total", { resource: "r0", op: "read", error: "EINVAL" }), 1);
        assert.equal(value("marsd_ublk_requests_total", { resource: "r0", op: "write" }), undefined);
        volume.releaseWrites();
        await turn();
        await turn();
        value = await scrape(metrics);
        assert.equal(value("marsd_ublk_inflight_requests", { resource: "r0" }), 0);
        assert.equal(value("marsd_ublk_requests_total", { resource: "r0", op: "write" }), 2);
        assert.equal(value("marsd_ublk_request_bytes_total", { resource: "r0", op: "write" }), 8192);
        assert.equal(value("marsd_ublk_request_duration_seconds_count", { op: "write" }), 2);
        assert.equal(set.inFlight, 0);
        await set.close();
        // A deleted resource takes its ublk series with it.
        await metrics.forgetResource("r0");
        value = await scrape(metrics);
        assert.equal(value("marsd_ublk_requests_total", { resource: "r0", op: "read" }), undefined);
        assert.equal(value("marsd_ublk_queue_depth_limit_requests", { resource: "r0" }), undefined);
    });
});
//# sourceMappingURL=ublk-metrics.test.js.map
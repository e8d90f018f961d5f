/**
 * Emergency mode's write path (DirectWrites): the map bit before the data,
 * the data durable before the acknowledgement, one fdatasync shared by the
 * writes that wait together, and a failed fdatasync never retried.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { systemClock } from "../../../src/platform/clock.js";
import { DirectWrites } from "../../../src/resource/direct-writes.js";
import { DirtyMap } from "../../../src/resource/dirty-map.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
const DISK_BYTES = 1024 * 1024;
describe("direct writes (emergency mode)", () => {
    let tmp;
    let n = 0;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    async function setup(storage) {
        const root = tmp.join(`case-${++n}`);
        await writeFile(`${root}.img`, Buffer.alloc(DISK_BYTES));
        const disk = await storage.open(`${root}.img`, "readwrite");
        const map = await DirtyMap.open(nodeStorage, `${root}.map`, {
            diskBytes: DISK_BYTES,
            granularityBytes: 64 * 1024,
            time: systemClock,
        });
        return { disk, map, image: `${root}.img` };
    }
    it("marks the region durable before writing, shares fdatasyncs, and is durable when it resolves", async () => {
        const order = [];
        const gate = new Gate();
        const storage = new FaultyStorage({
            match: (p) => p.endsWith(".img"),
            beforeOp: (op) => (op === "datasync" ? gate.wait() : undefined),
            afterOp: (op, _path, k) => order.push(`${op}${k}`),
        });
        const { disk, map, image } = await setup(storage);
        const marker = {
            mark: async (offsetBytes, lengthBytes) => {
                await map.mark(offsetBytes, lengthBytes);
                order.push(`mark@${offsetBytes}`);
            },
        };
        const direct = new DirectWrites(disk, marker, () => systemClock.monotonicMs());
        // The first write's fdatasync is held: the other 15 finish their data and wait together.
        const writes = Array.from({ length: 16 }, (_, i) => direct.write({ offsetBytes: i * 65536, lengthBytes: 4096, data: pattern(4096, i + 1) }));
        await new Promise((resolve) => setTimeout(resolve, 50));
        gate.open();
        await Promise.all(writes);
        assert.ok(storage.calls.datasync <= 3, `16 writes took ${storage.calls.datasync} fdatasyncs`);
        for (let i = 0; i < 16; i++) {
            const mark = order.indexOf(`mark@${i * 65536}`);
            assert.ok(mark >= 0 && mark < order.indexOf(`writev${i + 1}`) + 16, `write ${i}: map bit first`);
            assert.ok(map.isDirty(i * 65536, 4096), `region ${i} is dirty`);
        }
        const bytes = await readFile(image);
        for (let i = 0; i < 16; i++)
            assert.ok(bytes.subarray(i * 65536, i * 65536 + 4096).equals(pattern(4096, i + 1)));
        assert.equal(direct.inFlightCount, 0);
        await disk.close();
        await map.close();
    });
    it("a failed fdatasync fails every waiting write and every later one, without another sync", async () => {
        const storage = new FaultyStorage({ match: (p) => p.endsWith(".img"), failDatasyncFrom: 1 });
        const { disk, map } = await setup(storage);
        const direct = new DirectWrites(disk, map, () => systemClock.monotonicMs());
        const writes = Array.from({ length: 4 }, (_, i) => direct.write({ offsetBytes: i * 4096, lengthBytes: 4096, data: pattern(4096, i + 1) }));
        const results = await Promise.allSettled(writes);
        assert.ok(results.every((r) => r.status === "rejected"), "no write was acknowledged");
        assert.ok(direct.failed, "the path failed for good");
        const before = storage.calls.datasync;
        await assert.rejects(direct.write({ offsetBytes: 0, lengthBytes: 4096 }), /EIO/);
        assert.equal(storage.calls.datasync, before, "nothing is synced again");
        assert.equal(storage.callsAfterFailure, 0, "no write or sync after the failure");
        await disk.close();
        await map.close();
    });
    it("writes zero ranges in bounded pieces", async () => {
        const storage = new FaultyStorage({ match: (p) => p.endsWith(".img") });
        const { disk, map, image } = await setup(storage);
        await writeFile(image, Buffer.alloc(DISK_BYTES, 0xff));
        const direct = new DirectWrites(disk, map, () => systemClock.monotonicMs());
        await direct.write({ offsetBytes: 0, lengthBytes: DISK_BYTES });
        assert.ok((await readFile(image)).equals(Buffer.alloc(DISK_BYTES)));
        assert.equal(map.dirtyBytes, DISK_BYTES);
        await disk.close();
        await map.close();
    });
});
//# sourceMappingURL=direct-writes.test.js.map
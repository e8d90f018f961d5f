import assert from "node:assert/strict";
import { constants } from "node:fs";
import { readFile, readdir, readlink, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { anyOverlap } from "../../../src/platform/storage/range-writer-pool.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
describe("NodeFile.writeRanges (worker-thread batches)", () => {
    let tmp;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    it("writes ranges in order, later ranges winning, zero ranges included", async () => {
        const path = tmp.join("ranges");
        await writeFile(path, Buffer.alloc(3 * 1024 * 1024, 0xee));
        const file = await nodeStorage.open(path, "readwrite");
        const model = Buffer.alloc(3 * 1024 * 1024, 0xee);
        const ranges = [];
        for (let i = 0; i < 500; i++) {
            const offsetBytes = (i * 7919) % (model.length - 5000);
            const lengthBytes = 1 + ((i * 31) % 5000);
            if (i % 7 === 0) {
                model.fill(0, offsetBytes, offsetBytes + lengthBytes);
                ranges.push({ offsetBytes, lengthBytes });
            }
            else {
                // A view into a larger buffer, as NBD payloads are.
                const data = pattern(lengthBytes + 100, i).subarray(50, 50 + lengthBytes);
                data.copy(model, offsetBytes);
                ranges.push({ offsetBytes, lengthBytes, data });
            }
        }
        // A zero range larger than the worker's zero buffer.
        model.fill(0, 100, 100 + 1536 * 1024);
        ranges.push({ offsetBytes: 100, lengthBytes: 1536 * 1024 });
        await file.writeRanges(ranges);
        await file.close();
        assert.ok(model.equals(await readFile(path)));
    });
    it("with directWrites, writes aligned ranges with O_DIRECT, the rest buffered, and reads see all of them", async () => {
        const KIB = 1024;
        const path = tmp.join("direct");
        const model = Buffer.alloc(4 * 1024 * KIB, 0xee);
        await writeFile(path, model);
        const file = await nodeStorage.open(path, "readwrite", { directWrites: true });
        assert.equal(file.directWrites, true);
        assert.ok(await openedWithDirect(path), "no descriptor of the file has O_DIRECT");
        // Read first, so the page cache holds the old data the direct writes must replace.
        const before = Buffer.alloc(model.length);
        await file.read(before, 0);
        assert.ok(before.equals(model));
        const ranges = [];
        const put = (offsetBytes, lengthBytes, seed, zero = false) => {
            if (zero) {
                model.fill(0, offsetBytes, offsetBytes + lengthBytes);
                ranges.push({ offsetBytes, lengthBytes });
                return;
            }
            // Views at odd memory offsets: the worker must stage them in aligned memory.
            const data = pattern(lengthBytes + 3, seed).subarray(3);
            data.copy(model, offsetBytes);
            ranges.push({ offsetBytes, lengthBytes, data });
        };
        put(0, 4 * KIB, 1); // aligned
        put(1000, 100, 2); // unaligned, over the aligned one
        put(0, 8 * KIB, 3); // aligned, over both
        put(64 * KIB + 512, 4 * KIB, 4); // 512-aligned only: buffered
        put(1024 * KIB, 1536 * KIB, 5); // aligned and larger than the staging memory
        put(1100 * KIB, 2 * KIB, 6); // unaligned, inside the large one
        put(2560 * KIB, 1536 * KIB, 7, true); // aligned zeroes larger than the zero buffer
        put(2600 * KIB, 4 * KIB, 8); // aligned, inside the zeroes
        await file.writeRanges(ranges);
        // Many aligned ranges without overlaps: split between workers.
        const spread = [];
        for (let i = 0; i < 64; i++) {
            const offsetBytes = 128 * KIB + i * 12 * KIB;
            const data = pattern(4 * KIB, 100 + i);
            data.copy(model, offsetBytes);
            spread.push({ offsetBytes, lengthBytes: data.length, data });
        }
        assert.equal(anyOverlap(spread), false);
        await file.writeRanges(spread);
        assert.equal(file.directWrites, true, "a direct write was refused");
        const after = Buffer.alloc(model.length);
        await file.read(after, 0);
        await file.close();
        assert.ok(after.equals(model), "a read through the page cache missed a direct write");
        assert.ok((await readFile(path)).equals(model));
    });
    it("anyOverlap tells overlapping ranges from adjacent ones, in any order", () => {
        const r = (offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes });
        assert.equal(anyOverlap([]), false);
        assert.equal(anyOverlap([r(8192, 4096), r(0, 4096), r(4096, 4096)]), false);
        assert.equal(anyOverlap([r(8192, 4096), r(0, 4096), r(4095, 2)]), true);
        assert.equal(anyOverlap([r(100, 10), r(0, 1000)]), true);
        assert.equal(anyOverlap([r(0, 4096), r(0, 4096)]), true);
    });
    it("reports a failed write with its code and path, and close() waits for batches", async () => {
        const path = tmp.join("readonly");
        await writeFile(path, Buffer.alloc(4096));
        const readOnly = await nodeStorage.open(path, "read");
        await assert.rejects(readOnly.writeRanges([{ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }]), {
            code: "EBADF",
            path,
        });
        await readOnly.close();
        const writable = await nodeStorage.open(path, "readwrite");
        const writing = writable.writeRanges([{ offsetBytes: 0, lengthBytes: 4096, data: pattern(4096, 2) }]);
        // Closing right away must not close the descriptor under the worker.
        await writable.close();
        await writing;
        assert.deepEqual(await readFile(path), pattern(4096, 2));
        await assert.rejects(writable.writeRanges([{ offsetBytes: 0, lengthBytes: 1 }]), /closed/);
    });
});
/** Whether one of this process's descriptors for `path` was opened with O_DIRECT (from /proc/self/fdinfo). */
async function openedWithDirect(path) {
    for (const fd of await readdir("/proc/self/fd")) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
        if (target !== path)
            continue;
        const info = await readFile(`/proc/self/fdinfo/${fd}`, "utf8");
        const flags = /^flags:\s+([0-7]+)$/m.exec(info);
        if (flags && (parseInt(flags[1], 8) & constants.O_DIRECT) !== 0)
            return true;
    }
    return false;
}
//# sourceMappingURL=node-file.test.js.map
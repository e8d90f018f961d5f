/**
 * The region list of a region resync: whole chunks covering the dirty
 * regions, merged and clipped to the disk, and progress counted over the
 * regions only (the cursor walks the disk).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SYNC_CHUNK_BYTES as C, chunkAlignedRegions, syncTotalBytes, syncedBytesBelow, } from "../../../src/replication/sync-regions.js";
describe("sync regions", () => {
    it("covers each dirty region with whole chunks, merged, sorted and clipped to the disk", () => {
        const disk = 10 * C + 4096;
        const regions = chunkAlignedRegions([
            { offsetBytes: 5 * C + 10, lengthBytes: 100 }, // inside chunk 5
            { offsetBytes: 0, lengthBytes: 1 }, // chunk 0
            { offsetBytes: C - 1, lengthBytes: 2 }, // chunks 0 and 1: merges with the one above
            { offsetBytes: 6 * C, lengthBytes: C }, // chunk 6: adjacent to 5, merged
            { offsetBytes: 10 * C + 100, lengthBytes: 10 }, // the short last chunk, clipped
            { offsetBytes: 3 * C, lengthBytes: 0 }, // empty: nothing
        ], disk);
        assert.deepEqual(regions, [
            [0, 2 * C],
            [5 * C, 2 * C],
            [10 * C, 4096],
        ]);
        assert.equal(syncTotalBytes(regions, disk), 4 * C + 4096);
    });
    it("counts progress over the regions only; without regions, over the disk", () => {
        const regions = [
            [0, 2 * C],
            [5 * C, 2 * C],
        ];
        assert.equal(syncedBytesBelow(regions, 10 * C, C), C);
        assert.equal(syncedBytesBelow(regions, 10 * C, 4 * C), 2 * C, "the gap between regions counts nothing");
        assert.equal(syncedBytesBelow(regions, 10 * C, 6 * C), 3 * C);
        assert.equal(syncedBytesBelow(regions, 10 * C, 10 * C), 4 * C);
        assert.equal(syncedBytesBelow(undefined, 10 * C, 3 * C), 3 * C);
        assert.equal(syncTotalBytes(undefined, 10 * C), 10 * C);
    });
});
//# sourceMappingURL=sync-regions.test.js.map
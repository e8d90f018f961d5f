/**
 * The simulator's prefix check (test/sim/history.ts): which disk images
 * count as a state of a primary's history, with acknowledged writes that
 * must be there and unknown ones that may or may not be.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyImage, History } from "../../sim/history.js";
function history(writes) {
    const h = new History(0, emptyImage(4), "test");
    for (const [id, block, status] of writes)
        h.add({ id, block, node: "alpha", status });
    return h;
}
describe("simulator history: prefix", () => {
    const h = history([
        [1, 0, "acked"],
        [2, 1, "acked"],
        [3, 0, "acked"],
        [4, 2, "unknown"],
        [5, 3, "acked"],
    ]);
    it("every prefix of the history is one", () => {
        assert.deepEqual(h.prefix([0, 0, 0, 0]).cut, [0, 0]);
        assert.deepEqual(h.prefix([1, 0, 0, 0]).cut, [1, 1]);
        assert.deepEqual(h.prefix([1, 2, 0, 0]).cut, [2, 2]);
        assert.deepEqual(h.prefix([3, 2, 0, 0]).cut, [3, 4]); // write 4 may be missing
        assert.deepEqual(h.prefix([3, 2, 4, 5]).cut, [5, 5]);
        assert.deepEqual(h.prefix([3, 2, 0, 5]).cut, [5, 5]); // ... even below a later write
    });
    it("a mix of two moments, or a write that is not in it, is none", () => {
        assert.match(h.prefix([1, 0, 0, 5]).problem ?? "", /cut/); // write 5 without 2 and 3
        assert.match(h.prefix([3, 0, 0, 0]).problem ?? "", /cut/); // write 3 without 2
        assert.match(h.prefix([9, 0, 0, 0]).problem ?? "", /not in history/);
        assert.match(h.prefix([2, 0, 0, 0]).problem ?? "", /not in history/); // write 2 went to block 1
    });
    it("a minimum cut demands every acknowledged write", () => {
        assert.equal(h.ackedLength, 5);
        assert.deepEqual(h.prefix([3, 2, 0, 5], h.ackedLength).cut, [5, 5]);
        assert.match(h.prefix([3, 2, 0, 0], h.ackedLength).problem ?? "", /every acknowledged write/);
    });
    it("starts from its base image", () => {
        const forked = new History(1, [3, 2, 0, 0], "forced");
        forked.add({ id: 6, block: 2, node: "bravo", status: "acked" });
        assert.deepEqual(forked.prefix([3, 2, 0, 0]).cut, [0, 0]);
        assert.deepEqual(forked.prefix([3, 2, 6, 0]).cut, [1, 1]);
        assert.ok(forked.prefix([1, 2, 6, 0]).problem);
    });
});
//# sourceMappingURL=history.test.js.map
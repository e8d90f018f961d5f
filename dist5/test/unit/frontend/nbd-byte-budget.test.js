import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteBudget } from "../../../src/frontend/nbd/byte-budget.js";
describe("NBD ByteBudget", () => {
    it("admits requests up to the limit, and always one when nothing is reserved", () => {
        const seen = [];
        const budget = new ByteBudget(100, (used) => seen.push(used));
        assert.equal(budget.admits(500), true, "nothing reserved: any single request may start");
        budget.adjust(60, 60);
        assert.equal(budget.admits(40), true);
        assert.equal(budget.admits(41), false);
        budget.adjust(40, 40);
        assert.equal(budget.exhausted, true);
        assert.deepEqual(seen, [60, 100]);
    });
    it("wakes every waiting connection once on a release, including when nothing stays reserved", () => {
        let starved = 0;
        const budget = new ByteBudget(100, undefined, () => (starved += 1));
        budget.adjust(150, 100); // 50 unparsed bytes, 100 reserved
        let woken = 0;
        budget.waitForRelease(() => (woken += 1));
        budget.waitForRelease(() => (woken += 1));
        assert.equal(starved, 2);
        assert.equal(budget.starved, true);
        budget.adjust(0, 0);
        assert.equal(woken, 0);
        budget.adjust(-100, -100); // still 50 used, but nothing reserved: a request may start
        assert.equal(woken, 2);
        assert.equal(budget.starved, false);
        budget.adjust(-50, 0);
        assert.equal(woken, 2, "each wait is woken once");
    });
    it("lets one connection read on while unparsed bytes alone exhaust it", () => {
        const budget = new ByteBudget(100);
        const a = {};
        const b = {};
        budget.adjust(120, 0);
        assert.equal(budget.mayReadWhileExhausted(a), true);
        assert.equal(budget.mayReadWhileExhausted(b), false);
        assert.equal(budget.mayReadWhileExhausted(a), true);
        budget.endRescue(a);
        assert.equal(budget.mayReadWhileExhausted(b), true);
        budget.adjust(10, 10);
        assert.equal(budget.mayReadWhileExhausted(b), false, "a reserved request will release bytes: no rescue");
    });
});
//# sourceMappingURL=nbd-byte-budget.test.js.map
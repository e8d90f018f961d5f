import assert from "node:assert/strict";
import { test } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
class ManualWall {
    us;
    constructor(us) {
        this.us = us;
    }
    nowUs() {
        return this.us;
    }
}
test("reads as the wall clock when nothing newer was seen", () => {
    const wall = new ManualWall(1_000_000);
    const clock = new LamportClock({ wall });
    assert.equal(clock.now(), 1_000_000);
    wall.us = 5_000_000;
    assert.equal(clock.now(), 5_000_000);
});
test("is strictly increasing even when the wall clock stands still or goes back", () => {
    const wall = new ManualWall(1_000_000);
    const clock = new LamportClock({ wall });
    const a = clock.now();
    const b = clock.now();
    wall.us = 500_000; // NTP stepped the clock back
    const c = clock.now();
    assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
});
test("never goes behind an observed stamp, then counts on from it until the wall clock catches up", () => {
    const wall = new ManualWall(1_000_000);
    const clock = new LamportClock({ wall, maxFutureUs: 60_000_000 });
    assert.equal(clock.observe(3_000_000), true);
    assert.equal(clock.now(), 3_000_001);
    assert.equal(clock.now(), 3_000_002);
    assert.equal(clock.aheadOfWallUs(), 2_000_002);
    wall.us = 4_000_000;
    assert.equal(clock.now(), 4_000_000);
    assert.equal(clock.aheadOfWallUs(), 0);
});
test("refuses stamps absurdly far in the future instead of jumping there", () => {
    const wall = new ManualWall(1_000_000);
    const clock = new LamportClock({ wall, maxFutureUs: 10_000_000 });
    assert.equal(clock.observe(1_000_000 + 10_000_001), false);
    assert.equal(clock.now(), 1_000_000, "a refused stamp must not move the clock");
    assert.equal(clock.observe(1_000_000 + 10_000_000), true);
});
test("refuses stamps that are not plausible times", () => {
    const clock = new LamportClock({ wall: new ManualWall(1_000_000) });
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
        assert.equal(clock.observe(bad), false);
    assert.equal(clock.now(), 1_000_000);
});
//# sourceMappingURL=lamport-clock.test.js.map
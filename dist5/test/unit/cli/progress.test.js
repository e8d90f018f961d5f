/**
 * The pieces of marsadm's progress lines (src/cli/progress.ts): bars of an
 * exact width, percentages that never claim 100% early, rates from two
 * samples (unknown rather than wrong), remaining times, and the bar width
 * a terminal width allows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_BAR_COLS, MIN_BAR_COLS, bar, barColsFor, etaSeconds, hms, percent, progressLine, stepRate, } from "../../../src/cli/progress.js";
const MIB = 1024 * 1024;
describe("progress bars", () => {
    it("draws a bar of exactly the width asked, filled in proportion", () => {
        assert.equal(bar(0, 100, 12), "[>.........]");
        assert.equal(bar(50, 100, 12), "[=====>....]");
        assert.equal(bar(100, 100, 12), "[==========]");
        assert.equal(bar(99, 100, 12), "[=========>]");
        for (const w of [3, 10, 17, 40]) {
            for (const done of [0, 1, 33, 99, 100, 150])
                assert.equal(bar(done, 100, w).length, w);
        }
    });
    it("treats an empty total as nothing done in the bar and done in the percentage", () => {
        assert.equal(bar(0, 0, 10), "[>.......]");
        assert.equal(percent(0, 0), "100.0%");
    });
    it("never shows 100% before the end", () => {
        assert.equal(percent(MIB - 1, MIB), "99.9%");
        assert.equal(percent(MIB, MIB), "100.0%");
        assert.equal(percent(MIB / 3, MIB), "33.3%");
    });
    it("measures a counter that moves in steps from step to step", () => {
        const first = stepRate(undefined, 0, 1000);
        assert.equal(first.rate, undefined);
        // Standing still since it was first seen: 0, observed.
        const still = stepRate(first.sample, 0, 1300);
        assert.equal(still.rate, 0);
        // A 16 MiB window lands 2 s after the counter was first seen: 8 MiB/s, not 16 MiB per 300 ms.
        const step = stepRate(still.sample, 16 * MIB, 3000);
        assert.equal(step.rate, 8 * MIB);
        // While the next window is under way the rate holds...
        const between = stepRate(step.sample, 16 * MIB, 4000);
        assert.equal(between.rate, 8 * MIB);
        // ...and goes down once the wait is longer than the last step took (a stall goes to 0).
        assert.equal(stepRate(between.sample, 16 * MIB, 7000).rate, 4 * MIB);
        assert.equal(stepRate(step.sample, 32 * MIB, 5000).rate, 8 * MIB);
        // A counter that went back (a new sync) starts over.
        assert.equal(stepRate(step.sample, MIB, 5000).rate, undefined);
        assert.equal(stepRate(step.sample, 16 * MIB, 3000).rate, undefined);
    });
    it("gives a remaining time only for a known, positive rate", () => {
        assert.equal(etaSeconds(10 * MIB, 4 * MIB), 3);
        assert.equal(etaSeconds(0, undefined), 0);
        assert.equal(etaSeconds(MIB, 0), undefined);
        assert.equal(etaSeconds(MIB, undefined), undefined);
        assert.equal(hms(undefined), "--:--:--");
        assert.equal(hms(0), "00:00:00");
        assert.equal(hms(2584), "00:43:04");
        assert.equal(hms(360_000), "100:00:00");
    });
    it("sizes the bar to the terminal within its bounds", () => {
        assert.equal(barColsFor(20), MIN_BAR_COLS);
        assert.equal(barColsFor(1000), MAX_BAR_COLS);
        const mid = barColsFor(100);
        assert.ok(mid > MIN_BAR_COLS && mid < MAX_BAR_COLS, String(mid));
        // A line at a width that holds it fits in it.
        for (const cols of [100, 120, 200]) {
            const line = progressLine({ label: "sync", doneBytes: 5 * MIB, totalBytes: 16 * MIB, rate: 4 * MIB, eta: 3 }, cols);
            assert.ok(line.length <= cols, `${line.length} > ${cols}: ${line}`);
        }
    });
    it("writes a MARS-like progress line", () => {
        const line = progressLine({ label: "sync", doneBytes: 8 * MIB, totalBytes: 16 * MIB, rate: 4 * MIB, eta: 2 }, 80);
        assert.equal(line, `      sync:    [====>...]  50.0% 8.0 MiB/16.0 MiB rate 4.0 MiB/s remaining 00:00:02`);
        assert.match(progressLine({ label: "fetch", doneBytes: 0, totalBytes: MIB, rate: undefined, eta: undefined }, 80), /fetch: +\[>\.+\] +0\.0% 0 B\/1\.0 MiB rate \? remaining --:--:--$/);
    });
});
//# sourceMappingURL=progress.test.js.map
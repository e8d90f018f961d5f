/**
 * The log space level arithmetic (src/resource/log-space-levels.ts):
 * bytes OR percent, entering at once, leaving only past the hysteresis.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LOG_SPACE_SETTINGS, nextLevel, thresholdBytes, } from "../../../src/resource/log-space-levels.js";
const GIB = 1024 ** 3;
const SIZE = 100 * GIB;
const settings = {
    sampleIntervalMs: 1000,
    warning: { freeBytes: 0, freePercent: 20 },
    cut: { freeBytes: 0, freePercent: 10 },
    emergency: { freeBytes: 0, freePercent: 5 },
    hysteresisPercent: 2,
};
/** Feeds free space (percent of SIZE) one sample after the other; returns the levels. */
function walk(s, freePercents, sizeBytes = SIZE) {
    let level = "ok";
    return freePercents.map((p) => (level = nextLevel(s, level, (sizeBytes * p) / 100, sizeBytes)));
}
describe("log space levels", () => {
    it("enters each level as soon as free space is below its threshold, skipping levels on a big drop", () => {
        assert.deepEqual(walk(settings, [50, 20, 19.9, 10, 9.9, 5, 4.9]), [
            "ok",
            "ok",
            "warning",
            "warning",
            "cut",
            "cut",
            "emergency",
        ]);
        assert.deepEqual(walk(settings, [50, 1]), ["ok", "emergency"]);
    });
    it("leaves a level only past its threshold plus the hysteresis", () => {
        assert.deepEqual(walk(settings, [4, 6, 6.9, 7.1, 11.9, 12.1, 21.9, 22.1, 21]), [
            "emergency",
            "emergency", // above 5 %, not above 5 + 2
            "emergency",
            "cut",
            "cut",
            "warning",
            "warning",
            "ok",
            "ok", // back below 22 % but above 20 %: not entered again
        ]);
        // Straight from emergency to ok when space comes back all at once.
        assert.deepEqual(walk(settings, [3, 40]), ["emergency", "ok"]);
    });
    it("applies a level when EITHER bytes or percent say so", () => {
        const both = {
            ...settings,
            warning: { freeBytes: 30 * GIB, freePercent: 20 },
            emergency: { freeBytes: 1 * GIB, freePercent: 5 },
        };
        // 25 % of 100 GiB is 25 GiB: above 20 % but below 30 GiB.
        assert.equal(nextLevel(both, "ok", 25 * GIB, SIZE), "warning");
        // On a 10 GiB filesystem the percent is the larger criterion: 1.5 GiB = 15 %.
        assert.equal(nextLevel(both, "ok", 1.5 * GIB, 10 * GIB), "warning");
        assert.equal(nextLevel(both, "ok", 0.4 * GIB, 10 * GIB), "emergency");
        assert.equal(thresholdBytes(both.warning, SIZE), 30 * GIB);
        assert.equal(thresholdBytes(both.warning, 1000 * GIB), 200 * GIB);
    });
    it("a criterion of 0 is off; the hysteresis is added to the byte criterion too", () => {
        const bytesOnly = {
            ...settings,
            warning: { freeBytes: 10 * GIB, freePercent: 0 },
            cut: { freeBytes: 0, freePercent: 0 },
            emergency: { freeBytes: 0, freePercent: 0 },
        };
        assert.equal(nextLevel(bytesOnly, "ok", 0, SIZE), "warning");
        assert.equal(nextLevel(bytesOnly, "ok", 10 * GIB, SIZE), "ok");
        // Leaving needs 10 GiB + 2 % of 100 GiB.
        assert.equal(nextLevel(bytesOnly, "warning", 11.9 * GIB, SIZE), "warning");
        assert.equal(nextLevel(bytesOnly, "warning", 12.1 * GIB, SIZE), "ok");
        const off = { ...bytesOnly, warning: { freeBytes: 0, freePercent: 0 } };
        assert.equal(nextLevel(off, "ok", 0, SIZE), "ok");
    });
    it("has percent-only defaults ordered from warning to emergency", () => {
        const d = DEFAULT_LOG_SPACE_SETTINGS;
        assert.deepEqual([d.warning.freePercent, d.cut.freePercent, d.emergency.freePercent, d.hysteresisPercent], [20, 10, 5, 2]);
        assert.equal(d.sampleIntervalMs, 5000);
    });
});
//# sourceMappingURL=log-space-levels.test.js.map
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RECOVERY_BACKOFF, recoveryDelayMs, } from "../../../src/resource/failure-recovery.js";
describe("recovery backoff of a failed resource", () => {
    it("starts at initialMs and doubles per failed attempt up to maxMs (defaults 1 s to 60 s)", () => {
        const delays = Array.from({ length: 9 }, (_, i) => recoveryDelayMs(i + 1, DEFAULT_RECOVERY_BACKOFF));
        assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    });
    it("stays at maxMs however many attempts failed, and never below initialMs", () => {
        const backoff = { initialMs: 200, maxMs: 1_000 };
        assert.equal(recoveryDelayMs(1, backoff), 200);
        assert.equal(recoveryDelayMs(3, backoff), 800);
        assert.equal(recoveryDelayMs(4, backoff), 1_000);
        assert.equal(recoveryDelayMs(10_000, backoff), 1_000);
        assert.equal(recoveryDelayMs(0, backoff), 200);
    });
    it("never exceeds maxMs when initialMs is already above it", () => {
        assert.equal(recoveryDelayMs(1, { initialMs: 5_000, maxMs: 1_000 }), 1_000);
    });
});
//# sourceMappingURL=failure-recovery.test.js.map
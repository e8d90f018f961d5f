/**
 * A deterministic PRNG in [0, 1), so a failing random run can be replayed
 * from its seed: the float stream of src/platform/random.ts's
 * seededRandom (xoshiro128**), one implementation for the product's
 * Random seam and the tests' generators.
 */
import { xoshiro128ss } from "../../src/platform/random.js";
export function prng(seed) {
    const next = xoshiro128ss(seed);
    return () => next() / 2 ** 32;
}
//# sourceMappingURL=prng.js.map
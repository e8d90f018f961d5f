/**
 * Seeded input generators shared by the CI fuzz tests
 * (test/integration/*-fuzz.test.ts) and the long runs (test/fuzz/*-fuzz.ts).
 *
 * Safety first: the daemon under test runs as root on a shared machine, so
 * no generated value may name a disk outside the run's temporary directory
 * or an address other than a closed loopback port. Generic random strings
 * therefore never contain ':' (no "host:port" can appear by chance) and
 * paths come only from a pool the run owns.
 */
import { prng } from "../helpers/prng.js";
/** The seed: MARSD_FUZZ_SEED if set (to replay a run), else drawn from the clock. */
export function fuzzSeed() {
    const fromEnv = process.env.MARSD_FUZZ_SEED;
    if (fromEnv !== undefined && fromEnv !== "") {
        const seed = Number(fromEnv);
        if (!Number.isSafeInteger(seed))
            throw new Error(`MARSD_FUZZ_SEED=${fromEnv} is not an integer`);
        return seed;
    }
    return Date.now() % 2 ** 31;
}
export class Gen {
    seed;
    rand;
    constructor(seed) {
        this.seed = seed;
        this.rand = prng(seed);
    }
    int(min, max) {
        return min + Math.floor(this.rand() * (max - min + 1));
    }
    chance(p) {
        return this.rand() < p;
    }
    pick(items) {
        return items[Math.floor(this.rand() * items.length)];
    }
    bytes(n) {
        const out = Buffer.allocUnsafe(n);
        for (let i = 0; i < n; i++)
            out[i] = Math.floor(this.rand() * 256);
        return out;
    }
    /** A string without ':' (so never an address), sometimes long, sometimes exotic. */
    string(maxLength = 40) {
        const alphabets = [
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "abcdefghijklmnopqrstuvwxyz0123456789-_./",
            " \t\n\"\\'{}[],;=%$#@!?*&^~`|<>",
            "\u00e9\u4e2d\u{1F600}\u0000\u200b\ud800",
        ];
        const alphabet = [...this.pick(alphabets)];
        const length = this.chance(0.05) ? this.int(1000, 5000) : this.int(0, maxLength);
        let s = "";
        for (let i = 0; i < length; i++)
            s += this.pick(alphabet);
        return s;
    }
    /** Numbers that sit on or just past typical bounds. */
    number() {
        return this.pick([
            0,
            -0,
            1,
            -1,
            0.5,
            4095,
            4096,
            1048575,
            1048576,
            2 ** 31,
            2 ** 32,
            2 ** 53 - 1,
            2 ** 53,
            -(2 ** 53),
            1e308,
            86400001,
            this.int(-1e6, 1e6),
            this.rand() * 1e9,
        ]);
    }
    /** Any JSON value, nested up to `depth`. */
    json(depth = 2) {
        const kind = this.int(0, depth > 0 ? 7 : 5);
        switch (kind) {
            case 0:
                return null;
            case 1:
                return this.chance(0.5);
            case 2:
                return this.number();
            case 3:
            case 4:
                return this.string();
            case 5:
                return this.pick(["__proto__", "constructor", "toString", "", "0", "null"]);
            case 6:
                return Array.from({ length: this.int(0, 4) }, () => this.json(depth - 1));
            default: {
                const o = {};
                for (let i = this.int(0, 4); i > 0; i--)
                    o[this.pick([this.string(8), "__proto__", "constructor"])] = this.json(depth - 1);
                return o;
            }
        }
    }
    /** A value of another JSON type than `value` (or a boundary of the same type). */
    wrongType(value) {
        const options = [null, true, 42, -1, 1.5, "", "x", [], {}, [value], { value }];
        if (typeof value === "string")
            options.push(value + this.string(3), value.repeat(200), value.toUpperCase());
        if (typeof value === "number")
            options.push(value - 1, value + 1, -value, String(value), value * 4096);
        return this.pick(options);
    }
}
//# sourceMappingURL=generators.js.map
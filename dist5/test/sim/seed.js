/**
 * The seed of a simulator test run: MARSD_SIM_SEED replays one, else it is
 * drawn from the clock. Tests print it in their names and failures.
 */
import { systemClock } from "../../src/platform/clock.js";
export function simSeed() {
    const fromEnv = process.env.MARSD_SIM_SEED;
    return fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : systemClock.nowMs() % 1_000_000;
}
//# sourceMappingURL=seed.js.map
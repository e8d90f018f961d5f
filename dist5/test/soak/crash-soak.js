/**
 * `npm run soak`: many kill -9 cycles across primary and secondary, with
 * several seeds (not part of `npm test`). It runs the two crash tests
 * (test/integration/crash.test.ts for the primary,
 * test/integration/secondary-crash.test.ts for the secondary) once per
 * seed, each with its share of the cycles, and prints what they checked:
 * cycles, seeds, acknowledged writes checked, lost writes, resources left
 * failed. It exits non-zero unless both of the last two are 0 and every
 * run passed.
 *
 * SOAK_CYCLES (default 1000, split 70/30 between primary and secondary),
 * SOAK_SEEDS (default 5 seeds drawn now, or a comma-separated list).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
const TOTAL_CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const SEEDS = process.env.SOAK_SEEDS
    ? process.env.SOAK_SEEDS.split(",").map(Number)
    : Array.from({ length: 5 }, () => Math.floor(Math.random() * 1_000_000));
const TESTS = {
    primary: path.join(PROJECT_ROOT, "dist", "test", "integration", "crash.test.js"),
    secondary: path.join(PROJECT_ROOT, "dist", "test", "integration", "secondary-crash.test.js"),
};
function runOnce(role, seed, cycles) {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ["--test", "--test-concurrency=1", TESTS[role]], {
            env: { ...process.env, MARSD_CRASH_SEED: String(seed), MARSD_CRASH_CYCLES: String(cycles) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d) => (out += d.toString()));
        child.stderr.on("data", (d) => (out += d.toString()));
        child.once("exit", (code) => {
            const summary = /(\d+) acknowledged writes checked, (\d+) lost/.exec(out);
            const errors = [...out.matchAll(/^\s+error: (.*)$/gm)].map((m) => m[1]);
            const reason = errors.find((e) => !/subtests? failed/.test(e));
            // A failed run: was it a lost write, or a resource that stayed failed?
            const lostByFailure = reason && /was acknowledged|acknowledged [0-9]|disks differ/.test(reason) ? 1 : 0;
            const failedByFailure = reason && /is failed after restart/.test(reason) ? 1 : 0;
            resolve({
                role,
                seed,
                cycles,
                passed: code === 0,
                acked: summary ? Number(summary[1]) : 0,
                lost: (summary ? Number(summary[2]) : 0) + lostByFailure,
                failedResources: failedByFailure,
                ...(code === 0 ? {} : { reason: reason ?? `exit ${code}` }),
                durationS: Math.round((Date.now() - started) / 1000),
            });
        });
    });
}
async function main() {
    const primaryPerSeed = Math.ceil((TOTAL_CYCLES * 0.7) / SEEDS.length);
    const secondaryPerSeed = Math.ceil((TOTAL_CYCLES * 0.3) / SEEDS.length);
    console.log(`soak: ${TOTAL_CYCLES} kill -9 cycles, seeds ${SEEDS.join(", ")}: per seed ${primaryPerSeed} primary + ${secondaryPerSeed} secondary`);
    const results = [];
    for (const seed of SEEDS) {
        for (const [role, cycles] of [
            ["primary", primaryPerSeed],
            ["secondary", secondaryPerSeed],
        ]) {
            if (cycles <= 0)
                continue;
            const r = await runOnce(role, seed, cycles);
            results.push(r);
            console.log(`  ${role} seed ${seed}: ${cycles} cycles, ${r.acked} acknowledged writes checked, ${r.lost} lost, ` +
                `${r.failedResources} left failed, ${r.passed ? "passed" : `FAILED: ${r.reason}`} (${r.durationS} s)`);
        }
    }
    const sum = (f) => results.reduce((n, r) => n + f(r), 0);
    const failedRuns = results.filter((r) => !r.passed);
    console.log([
        `cycles: ${sum((r) => r.cycles)} (primary ${sum((r) => (r.role === "primary" ? r.cycles : 0))}, secondary ${sum((r) => (r.role === "secondary" ? r.cycles : 0))})`,
        `seeds: ${SEEDS.join(", ")}`,
        `acknowledged writes checked: ${sum((r) => r.acked)}`,
        `lost writes: ${sum((r) => r.lost)}`,
        `resources left failed: ${sum((r) => r.failedResources)}`,
        `failed runs: ${failedRuns.length}${failedRuns.map((r) => `\n  ${r.role} seed ${r.seed}: ${r.reason}`).join("")}`,
    ].join("\n"));
    if (failedRuns.length > 0 || sum((r) => r.lost) > 0 || sum((r) => r.failedResources) > 0)
        process.exitCode = 1;
}
await main();
//# sourceMappingURL=crash-soak.js.map
/**
 * The long peer-protocol fuzz run (not in CI): `npm run fuzz:peer`.
 * FUZZ_INPUTS inputs (default 1,000,000) from MARSD_FUZZ_SEED (default: the
 * clock), against a fresh two-node cluster; prints the inputs run and the
 * peak RSS, and exits 1 on failures (each printed with its input).
 */
import { errorLines } from "../helpers/hostile.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { fuzzSeed } from "./generators.js";
import { runPeerFuzz } from "./peer-fuzz-core.js";
import { preparePeerTarget } from "./targets.js";
const MIB = 1024 * 1024;
const seed = fuzzSeed();
const inputs = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const maxRssBytes = Number(process.env.FUZZ_MAX_RSS_MIB ?? 512) * MIB;
const cluster = await TestCluster.start({ size: 2 });
// Ctrl-C must not leave the daemons running.
for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
        console.log(`${signal}: stopping`);
        void cluster.cleanup().finally(() => process.exit(130));
    });
}
let failed = true;
/** Error-level lines the daemons logged (their output is scanned and dropped as the run goes). */
const errors = [];
const collectErrors = () => {
    for (const n of cluster.nodes)
        errors.push(...errorLines(n.daemon.takeOutput()));
};
try {
    await cluster.form();
    const target = preparePeerTarget(cluster);
    console.log(`peer fuzz: seed ${seed} (MARSD_FUZZ_SEED=${seed} replays), ${inputs} inputs`);
    const started = Date.now();
    const result = await runPeerFuzz(target, {
        seed,
        inputs,
        maxRssBytes,
        onProgress: (done, peak) => {
            if (done % 10_000 !== 0)
                return;
            collectErrors();
            console.log(`  ${done} inputs, peak RSS ${Math.round(peak / MIB)} MiB`);
        },
    });
    target.close();
    collectErrors();
    console.log(`peer fuzz seed ${seed}: ${result.inputs} inputs in ${Math.round((Date.now() - started) / 1000)} s, ` +
        `RSS ${Math.round(result.startRssBytes / MIB)} MiB at start, peak ${Math.round(result.peakRssBytes / MIB)} MiB; ` +
        `statuses ${JSON.stringify(result.statuses)}; error-level log lines ${errors.length}`);
    for (const f of [...result.failures, ...errors.slice(0, 10)])
        console.log(`FAIL ${f}`);
    failed = result.failures.length > 0 || errors.length > 0;
}
finally {
    await cluster.cleanup();
}
process.exit(failed ? 1 : 0);
//# sourceMappingURL=peer-fuzz.js.map
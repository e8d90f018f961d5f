/**
 * The long JSON-RPC fuzz run (not in CI): `npm run fuzz:rpc`.
 * FUZZ_INPUTS inputs (default 1,000,000) from MARSD_FUZZ_SEED (default: the
 * clock), against a fresh daemon; prints the inputs run and the peak RSS,
 * and exits 1 on the first failures (each printed with its input).
 */
import { DaemonProcess } from "../helpers/daemon-process.js";
import { errorLines } from "../helpers/hostile.js";
import { fuzzSeed } from "./generators.js";
import { runRpcFuzz } from "./rpc-fuzz-core.js";
import { prepareRpcTarget } from "./targets.js";
const MIB = 1024 * 1024;
const seed = fuzzSeed();
const inputs = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const maxRssBytes = Number(process.env.FUZZ_MAX_RSS_MIB ?? 512) * MIB;
const node = await DaemonProcess.start();
// Ctrl-C must not leave the daemons running.
for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
        console.log(`${signal}: stopping`);
        void node.cleanup().finally(() => process.exit(130));
    });
}
let failed = true;
/** Error-level lines the daemon logged (its output is scanned and dropped as the run goes). */
const errors = [];
try {
    console.log(`rpc fuzz: seed ${seed} (MARSD_FUZZ_SEED=${seed} replays), ${inputs} inputs`);
    const started = Date.now();
    const result = await runRpcFuzz(await prepareRpcTarget(node), {
        seed,
        inputs,
        maxRssBytes,
        onProgress: (done, peak) => {
            if (done % 10_000 !== 0)
                return;
            errors.push(...errorLines(node.takeOutput()));
            console.log(`  ${done} inputs, peak RSS ${Math.round(peak / MIB)} MiB`);
        },
    });
    errors.push(...errorLines(node.takeOutput()));
    console.log(`rpc fuzz seed ${seed}: ${result.inputs} inputs in ${Math.round((Date.now() - started) / 1000)} s, ` +
        `RSS ${Math.round(result.startRssBytes / MIB)} MiB at start, peak ${Math.round(result.peakRssBytes / MIB)} MiB; ` +
        `statuses ${JSON.stringify(result.statuses)}; error-level log lines ${errors.length}`);
    for (const f of [...result.failures, ...errors.slice(0, 10)])
        console.log(`FAIL ${f}`);
    failed = result.failures.length > 0 || errors.length > 0;
}
finally {
    await node.cleanup();
}
process.exit(failed ? 1 : 0);
//# sourceMappingURL=rpc-fuzz.js.map
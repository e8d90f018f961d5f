/**
 * Seeded JSON-RPC fuzzing against a real daemon (issue 12): a few thousand
 * inputs over every method and parameter of api/openrpc.json, batches,
 * encodings and broken bodies. Replay a run with MARSD_FUZZ_SEED=<seed>
 * (printed in the test name); the long form is `npm run fuzz:rpc`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DaemonProcess } from "../helpers/daemon-process.js";
import { errorLines } from "../helpers/hostile.js";
import { fuzzSeed } from "../fuzz/generators.js";
import { runRpcFuzz } from "../fuzz/rpc-fuzz-core.js";
import { prepareRpcTarget } from "../fuzz/targets.js";
const SEED = fuzzSeed();
const INPUTS = 3000;
const MIB = 1024 * 1024;
describe("JSON-RPC fuzzing", { timeout: 120_000 }, () => {
    let node;
    before(async () => {
        node = await DaemonProcess.start();
    });
    after(async () => node?.cleanup());
    test(`${INPUTS} inputs, seed ${SEED} (MARSD_FUZZ_SEED=${SEED} replays): no -32603, no 500, no error log`, async () => {
        const target = await prepareRpcTarget(node);
        const result = await runRpcFuzz(target, { seed: SEED, inputs: INPUTS, maxRssBytes: 256 * MIB });
        console.log(`rpc fuzz seed ${SEED}: ${result.inputs} inputs, RSS ${Math.round(result.startRssBytes / MIB)} -> peak ${Math.round(result.peakRssBytes / MIB)} MiB, statuses ${JSON.stringify(result.statuses)}`);
        assert.deepEqual(result.failures, []);
        assert.deepEqual(errorLines(node.output), []);
    });
});
//# sourceMappingURL=rpc-fuzz.test.js.map
/**
 * Seeded fuzzing of the peer listener with a real two-node cluster (issue
 * 12): unsigned and forged requests, and validly signed ones with mutated
 * content. Replay a run with MARSD_FUZZ_SEED=<seed> (printed in the test
 * name); the long form is `npm run fuzz:peer`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { errorLines } from "../helpers/hostile.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { fuzzSeed } from "../fuzz/generators.js";
import { runPeerFuzz } from "../fuzz/peer-fuzz-core.js";
import { preparePeerTarget } from "../fuzz/targets.js";
const SEED = fuzzSeed();
const INPUTS = 3000;
const MIB = 1024 * 1024;
describe("peer protocol fuzzing", { timeout: 120_000 }, () => {
    let cluster;
    before(async () => {
        cluster = await TestCluster.start({ size: 2 });
        await cluster.form();
    });
    after(async () => cluster?.cleanup());
    test(`${INPUTS} inputs, seed ${SEED} (MARSD_FUZZ_SEED=${SEED} replays): no 5xx, bounded memory, the peer keeps working`, async () => {
        const target = preparePeerTarget(cluster);
        try {
            const result = await runPeerFuzz(target, { seed: SEED, inputs: INPUTS, maxRssBytes: 256 * MIB });
            console.log(`peer fuzz seed ${SEED}: ${result.inputs} inputs, RSS ${Math.round(result.startRssBytes / MIB)} -> peak ${Math.round(result.peakRssBytes / MIB)} MiB, statuses ${JSON.stringify(result.statuses)}`);
            assert.deepEqual(result.failures, []);
        }
        finally {
            target.close();
        }
        for (const n of cluster.nodes)
            assert.deepEqual(errorLines(n.daemon.output), [], n.host);
    });
});
//# sourceMappingURL=peer-fuzz.test.js.map
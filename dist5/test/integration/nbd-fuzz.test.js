/**
 * Seeded fuzzing of the NBD negotiation and request stream from raw
 * sockets against a real daemon (issue 12). A few thousand inputs from
 * test/fuzz/nbd-inputs.ts (the long run, `npm run fuzz:nbd`, uses the same
 * generator). Pass: the daemon stays up, logs nothing at error level, its
 * RSS stays within baseline + 300 MiB, every byte it buffered for the fuzz
 * connections is released afterwards, and a libnbd client on another
 * export keeps writing and reading back intact data throughout.
 *
 * Replay a run with MARSD_FUZZ_SEED=<seed> (printed in the test name);
 * MARSD_FUZZ_INPUTS changes the count.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GiveUp, waitFor } from "../helpers/daemon-process.js";
import { daemonPid, metricValue, rssBytes, startWellBehavedClient } from "../helpers/nbd-hostile.js";
import { createVolume, startNodeWithVolume } from "../helpers/single-node.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { ERROR_LOG_LINE, NBD_FUZZ_RSS_GROWTH_BOUND, NBD_FUZZ_VOLUME_BYTES, runNbdFuzz, } from "../fuzz/nbd-inputs.js";
const MiB = 1024 * 1024;
const INPUTS = Number(process.env.MARSD_FUZZ_INPUTS ?? 5000);
const SEED = Number(process.env.MARSD_FUZZ_SEED ?? Date.now()) >>> 0;
describe("NBD server: fuzzed negotiation and requests", () => {
    let node;
    before(async () => {
        await requirePythonNbd();
        node = await startNodeWithVolume({ sizeBytes: 8 * MiB });
        await createVolume(node.daemon, "fuzz", NBD_FUZZ_VOLUME_BYTES);
    });
    after(async () => {
        await node?.daemon.cleanup();
    });
    it(`${INPUTS} inputs leave the daemon up, quiet and bounded, and libnbd's data intact (MARSD_FUZZ_SEED=${SEED})`, async () => {
        const pid = daemonPid(node.daemon);
        const baseline = await rssBytes(pid);
        let peak = baseline;
        // The well-behaved client works alongside the whole run.
        const client = await startWellBehavedClient(node.uri, SEED ^ 0x5eed);
        const started = Date.now();
        let result;
        try {
            result = await runNbdFuzz({
                socketPath: node.daemon.nbdSocket,
                seed: SEED,
                inputs: INPUTS,
                exportName: "fuzz",
                volumeBytes: NBD_FUZZ_VOLUME_BYTES,
                concurrency: 8,
                checkEvery: 250,
                check: async (done) => {
                    if (node.daemon.exitCode !== null || node.daemon.exitSignal !== null) {
                        throw new Error(`daemon exited after ${done} inputs:\n${node.daemon.output.slice(-4000)}`);
                    }
                    peak = Math.max(peak, await rssBytes(pid));
                    assert.ok(peak <= baseline + NBD_FUZZ_RSS_GROWTH_BOUND, `RSS ${peak} after ${done} inputs, baseline ${baseline}`);
                    const error = node.daemon.output.split("\n").find((l) => ERROR_LOG_LINE.test(l));
                    assert.equal(error, undefined, `error logged after ${done} inputs: ${error}`);
                },
            });
        }
        finally {
            await client.stop();
        }
        // The stream reached the transmission phase, not only the negotiation.
        const served = await metricValue(node.daemon, "marsd_nbd_requests_total", 'resource="fuzz"');
        console.log(`${served} fuzzed requests served; seed ${SEED}: ${result.inputsRun} inputs in ${Date.now() - started} ms (${JSON.stringify(result.byKind)}, ${JSON.stringify(result.outcomes)}); ` +
            `RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; ${client.roundTrips} libnbd round trips`);
        assert.equal(result.inputsRun, INPUTS);
        assert.ok(client.roundTrips > 0);
        assert.ok(served > INPUTS, `only ${served} requests reached the transmission phase`);
        assert.ok(await client.keptIntact(), "libnbd's data changed");
        await waitFor("the fuzz connections' buffered bytes to be released", async () => {
            if (node.daemon.exitCode !== null)
                throw new GiveUp("daemon exited");
            return (await metricValue(node.daemon, "marsd_nbd_buffered_bytes")) === 0;
        });
        assert.doesNotMatch(node.daemon.output, ERROR_LOG_LINE);
    });
});
//# sourceMappingURL=nbd-fuzz.test.js.map
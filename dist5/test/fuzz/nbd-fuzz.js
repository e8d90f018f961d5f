/**
 * The long NBD fuzz run (not in CI): `npm run fuzz:nbd`. Starts a real
 * daemon, then sends FUZZ_INPUTS (default 1,000,000) inputs of the same
 * generator as the CI test (test/fuzz/nbd-inputs.ts) from raw sockets,
 * while a libnbd client writes and verifies data on another export. Every
 * 10,000 inputs it checks that the daemon is up, logged nothing at error
 * level and stays within baseline + 300 MiB RSS, and prints the inputs run
 * and the peak RSS. Exits 1 on the first failed check.
 *
 * MARSD_FUZZ_SEED=<n> replays a run (the seed is printed first).
 */
import { GiveUp, waitFor } from "../helpers/daemon-process.js";
import { daemonPid, metricValue, rssBytes, startWellBehavedClient } from "../helpers/nbd-hostile.js";
import { createVolume, startNodeWithVolume } from "../helpers/single-node.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { ERROR_LOG_LINE, NBD_FUZZ_RSS_GROWTH_BOUND, NBD_FUZZ_VOLUME_BYTES, runNbdFuzz, } from "./nbd-inputs.js";
const MiB = 1024 * 1024;
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const SEED = Number(process.env.MARSD_FUZZ_SEED ?? Date.now()) >>> 0;
async function main() {
    console.log(`nbd fuzz: MARSD_FUZZ_SEED=${SEED} FUZZ_INPUTS=${INPUTS}`);
    await requirePythonNbd();
    const node = await startNodeWithVolume({ sizeBytes: 8 * MiB });
    // Ctrl-C must not leave the daemon running.
    for (const signal of ["SIGINT", "SIGTERM"]) {
        process.once(signal, () => {
            console.log(`${signal}: stopping`);
            void node.daemon.cleanup().finally(() => process.exit(130));
        });
    }
    try {
        await createVolume(node.daemon, "fuzz", NBD_FUZZ_VOLUME_BYTES);
        const pid = daemonPid(node.daemon);
        const baseline = await rssBytes(pid);
        let peak = baseline;
        const client = await startWellBehavedClient(node.uri, SEED ^ 0x5eed);
        const started = Date.now();
        try {
            const result = await runNbdFuzz({
                socketPath: node.daemon.nbdSocket,
                seed: SEED,
                inputs: INPUTS,
                exportName: "fuzz",
                volumeBytes: NBD_FUZZ_VOLUME_BYTES,
                concurrency: 8,
                checkEvery: 10_000,
                check: async (done) => {
                    if (node.daemon.exitCode !== null || node.daemon.exitSignal !== null) {
                        throw new Error(`daemon exited after ${done} inputs:\n${node.daemon.output.slice(-4000)}`);
                    }
                    const rss = await rssBytes(pid);
                    peak = Math.max(peak, rss);
                    // Scan what the daemon logged since the last check, then drop it (a long run logs a lot).
                    const fresh = node.daemon.takeOutput();
                    const error = fresh.split("\n").find((l) => ERROR_LOG_LINE.test(l));
                    if (error)
                        throw new Error(`error logged after ${done} inputs: ${error}`);
                    const rate = (done / ((Date.now() - started) / 1000)).toFixed(0);
                    console.log(`${done} inputs (${rate}/s), RSS ${(rss / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, ${client.roundTrips} libnbd round trips`);
                    if (peak > baseline + NBD_FUZZ_RSS_GROWTH_BOUND)
                        throw new Error(`RSS ${peak} over baseline ${baseline} + 300 MiB`);
                },
            });
            console.log(`outcomes ${JSON.stringify(result.outcomes)}, kinds ${JSON.stringify(result.byKind)}`);
        }
        finally {
            await client.stop();
        }
        if (!(await client.keptIntact()))
            throw new Error("libnbd's data changed");
        await waitFor("the fuzz connections' buffered bytes to be released", async () => {
            if (node.daemon.exitCode !== null)
                throw new GiveUp("daemon exited");
            return (await metricValue(node.daemon, "marsd_nbd_buffered_bytes")) === 0;
        });
        const served = await metricValue(node.daemon, "marsd_nbd_requests_total", 'resource="fuzz"');
        console.log(`PASS seed ${SEED}: ${INPUTS} inputs, ${served} requests served, RSS baseline ${(baseline / MiB).toFixed(0)} MiB, ` +
            `peak ${(peak / MiB).toFixed(0)} MiB, ${client.roundTrips} libnbd round trips, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    finally {
        await node.daemon.cleanup();
    }
}
main().catch((err) => {
    console.error(`FAIL seed ${SEED}:`, err);
    process.exit(1);
});
//# sourceMappingURL=nbd-fuzz.js.map
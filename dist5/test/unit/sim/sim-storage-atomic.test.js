/**
 * The real atomic replace (src/platform/storage/atomic-file.ts) on
 * SimStorage through power losses at every step: afterwards the file holds
 * the old or the new content, whole, and the new one if the replace had
 * resolved. MARSD_SIM_SEED=<seed> replays.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeDirectoryDurable, writeFileAtomic } from "../../../src/platform/storage/atomic-file.js";
import { prng } from "../../helpers/prng.js";
import { simSeed } from "../../sim/seed.js";
import { drainMicrotasks } from "../../sim/sim-clock.js";
import { SimStorage } from "../../sim/sim-storage.js";
const SEED = simSeed();
const FILE = "/state/resource.json";
function content(version, random) {
    // Sizes across several sectors, so a torn write could show as a mix.
    return JSON.stringify({ version, pad: "x".repeat(Math.floor(random() * 3000)) });
}
describe("atomic replace on SimStorage", () => {
    it(`leaves the old or the new content, never a mix or nothing (seed ${SEED})`, async () => {
        const random = prng(SEED);
        const outcomes = { old: 0, new: 0, resolvedBeforeCrash: 0 };
        // The replace is 7 operations (open, writev, datasync, close, rename, syncDirectory, ...): crash at each.
        for (let crashStep = 1; crashStep <= 8; crashStep++) {
            for (const tear of ["none", "last-write", "any-sectors"]) {
                const seed = Math.floor(random() * 2 ** 32);
                const storage = new SimStorage({ seed, tear });
                await storage.makeDirectory("/state");
                await storage.syncDirectory("/");
                const oldContent = content(1, random);
                const newContent = content(2, random);
                await writeFileAtomic(FILE, oldContent, storage);
                let after;
                storage.crashAtOperation(storage.operations + crashStep, (next) => (after = next));
                let resolved = false;
                void writeFileAtomic(FILE, newContent, storage).then(() => (resolved = true));
                // SimStorage completes on microtasks only: after one real turn the replace has resolved or hangs dead.
                await drainMicrotasks();
                const recovered = after ?? storage.crash();
                const text = new TextDecoder().decode(await recovered.readFile(FILE));
                const context = `seed ${seed}, crash at step ${crashStep}, tear ${tear}`;
                assert.ok(text === oldContent || text === newContent, `${context}: a mix (${text.length} bytes)`);
                if (resolved) {
                    outcomes.resolvedBeforeCrash += 1;
                    assert.equal(text, newContent, `${context}: the replace resolved, yet the old content is back`);
                }
                outcomes[text === newContent ? "new" : "old"] += 1;
            }
        }
        console.log(`sim atomic replace seed ${SEED}: ${JSON.stringify(outcomes)}`);
        assert.ok(outcomes.old > 0 && outcomes.new > 0 && outcomes.resolvedBeforeCrash > 0, JSON.stringify(outcomes));
    });
    // Found by the simulator (seed 102): a node joined a resource, lost power
    // seconds later, and came back without the resource nor the cluster: the
    // new directories' entries had never been synced, so everything written
    // inside them vanished with them, however carefully each file was synced.
    it("a directory made durable keeps what was written inside through a power loss", async () => {
        for (const tear of ["none", "last-write", "any-sectors"]) {
            const storage = new SimStorage({ seed: SEED, tear });
            await makeDirectoryDurable("/var/lib/marsd/resources/r0", storage);
            await writeFileAtomic("/var/lib/marsd/resources/r0/config.json", "{}", storage);
            const after = storage.crash();
            assert.equal(new TextDecoder().decode(await after.readFile("/var/lib/marsd/resources/r0/config.json")), "{}");
            // Already there: nothing to do, and still there after another power loss.
            await makeDirectoryDurable("/var/lib/marsd/resources/r0", after);
            assert.deepEqual(await after.crash().list("/var/lib/marsd/resources"), ["r0"]);
        }
        // A file in the way is reported as mkdir -p would (not hidden until the first write inside).
        const blocked = new SimStorage({ seed: SEED, tear: "none" });
        await makeDirectoryDurable("/data/resources", blocked);
        await writeFileAtomic("/data/resources/r0", "in the way", blocked);
        await assert.rejects(makeDirectoryDurable("/data/resources/r0", blocked), { code: "EEXIST" });
        // What the helper prevents: a plain mkdir -p is lost with its content.
        const plain = new SimStorage({ seed: SEED, tear: "none" });
        await plain.makeDirectory("/var/lib/marsd/resources/r0");
        await writeFileAtomic("/var/lib/marsd/resources/r0/config.json", "{}", plain);
        await assert.rejects(plain.crash().readFile("/var/lib/marsd/resources/r0/config.json"), {
            code: "ENOENT",
        });
    });
});
//# sourceMappingURL=sim-storage-atomic.test.js.map
/**
 * The cluster state's journal and snapshots under a crash at every step
 * of a snapshot (test/helpers/crash-storage.ts), and after a failed
 * journal sync: what a restart loads is the state before the interrupted
 * change or after it, never a mix of the two (an entry dropped in the
 * change must not come back next to an entry written in it).
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { systemRandom } from "../../../src/platform/random.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { Keys } from "../../../src/cluster/keys.js";
import { JOURNAL_FILE } from "../../../src/cluster/state-journal.js";
import { StateStore } from "../../../src/cluster/state-store.js";
import { CrashStorage } from "../../helpers/crash-storage.js";
import { FaultyStorage } from "../../helpers/faulty-file.js";
const logger = pino({ level: "silent" });
const dirs = [];
after(async () => {
    for (const d of dirs)
        await rm(d, { recursive: true, force: true });
});
const gammaKeys = ["status", "version/000000001", "version/000000002"].map((f) => Keys.resourceHost("r0", "gamma", f));
const OWN_BEFORE = Keys.resourceHost("r0", "alpha", "status");
const OWN_AFTER = Keys.resourceHost("r0", "alpha", "version/000000007");
async function load(dir, storage, maxJournalBytes = 1) {
    return StateStore.load(dir, "alpha", new LamportClock({ wall: systemClock }), logger, storage ?? nodeStorage, systemRandom, maxJournalBytes);
}
/** Live keys of a store, sorted. */
const keysOf = (s) => s.list().map((e) => e.key);
/**
 * A state with entries of gamma and one of our own, durable. Then, in one
 * persistence (a snapshot: the journal is over its bound), gamma is
 * forgotten and a new entry of ours written.
 */
async function prepared() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "state-crash-"));
    dirs.push(dir);
    const s = await load(dir);
    const incoming = gammaKeys.map((key, i) => ({
        key,
        value: i,
        stampUs: 1000 + i,
        owner: "gamma",
    }));
    s.merge(incoming, "gamma");
    s.set(OWN_BEFORE, { role: "primary" });
    await s.flush();
    const before = keysOf(s);
    await s.close();
    const afterChange = [OWN_BEFORE, OWN_AFTER].sort();
    return { dir, before, afterChange };
}
describe("cluster state: crash during a journal snapshot", () => {
    const steps = [
        "create .tmp.state.json",
        "writev .tmp.state.json",
        "datasync .tmp.state.json",
        "rename .tmp.state.json",
        "syncDirectory",
        `truncate ${JOURNAL_FILE}`,
        `writev ${JOURNAL_FILE}`,
        `datasync ${JOURNAL_FILE}`,
    ];
    for (const step of steps) {
        it(`crash at "${step}": the state before or after the change, never a mix`, async () => {
            const { dir, before, afterChange } = await prepared();
            const storage = new CrashStorage();
            const s = await load(dir, storage);
            storage.arm({ at: (st) => st.name.startsWith(step) || (step === "syncDirectory" && st.op === step) });
            s.forgetOwner("gamma");
            s.set(OWN_AFTER, { file: "log-000000007-alpha" });
            await assert.rejects(s.flush(), /crashed/);
            assert.ok(storage.crashed, `the crash hit (steps: ${storage.steps.join(", ")})`);
            await s.close().catch(() => undefined);
            const reloaded = await load(dir);
            const keys = keysOf(reloaded);
            assert.ok(JSON.stringify(keys) === JSON.stringify(before) ||
                JSON.stringify(keys) === JSON.stringify(afterChange), `after a crash at ${step}: ${keys.join(", ")}`);
            // The node goes on from there: a further change is durable and survives the next restart.
            reloaded.set(Keys.resourceHost("r0", "alpha", "version/000000008"), { file: "log-000000008-alpha" });
            await reloaded.flush();
            await reloaded.close();
            const again = keysOf(await load(dir));
            assert.ok(again.includes(Keys.resourceHost("r0", "alpha", "version/000000008")), step);
            assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith(".tmp.")).length <= 1, true);
        });
    }
    it("a failed journal sync is never retried on that file: the next change goes to a snapshot and a new journal", async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), "state-crash-"));
        dirs.push(dir);
        const storage = new FaultyStorage({
            match: (p) => path.basename(p) === JOURNAL_FILE,
            failDatasyncFrom: 2,
        });
        const s = await load(dir, storage, 1024 * 1024);
        s.set(OWN_BEFORE, 1);
        await s.flush();
        s.set(OWN_AFTER, 2);
        await assert.rejects(s.flush(), /EIO/);
        s.set(Keys.resourceHost("r0", "alpha", "version/000000003"), 3);
        await s.flush().catch(() => undefined);
        const k = Keys.resourceHost("r0", "alpha", "version/000000009");
        s.set(k, 4);
        await s.flush();
        assert.equal(storage.callsAfterFailure, 0, "no write or sync of the failed journal file after its failure");
        await s.close();
        const reloaded = keysOf(await load(dir));
        for (const key of [OWN_BEFORE, OWN_AFTER, k])
            assert.ok(reloaded.includes(key), key);
    });
});
//# sourceMappingURL=state-crash.test.js.map
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ReplayFloors } from "../../../src/peer/replay-floor.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
describe("replay floors", () => {
    let dir;
    before(async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), "marsd-floors-"));
    });
    after(async () => rm(dir, { recursive: true, force: true }));
    it("refuse, after a restart, everything at or below what the previous run may have acted on", async () => {
        const file = path.join(dir, "peer", "floors.json");
        let writes = 0;
        const first = await ReplayFloors.load(nodeStorage, file, 1000, { written: () => writes++ });
        assert.equal(first.signedBeforeStart("bravo", 0), false, "a fresh node has no floors");
        // Concurrent requests share writes; later ones within the lease need none.
        await Promise.all([first.cover("bravo", 5000), first.cover("bravo", 5001), first.cover("charlie", 7000)]);
        await first.cover("bravo", 5900);
        assert.ok(writes >= 1 && writes <= 2, `${writes} writes`);
        assert.equal(first.signedBeforeStart("bravo", 5000), false, "floors only count from the next start");
        const second = await ReplayFloors.load(nodeStorage, file, 1000, { written: () => undefined });
        for (const t of [5000, 5001, 5900, 6001])
            assert.equal(second.signedBeforeStart("bravo", t), true, String(t));
        assert.equal(second.signedBeforeStart("bravo", 6002), false);
        assert.equal(second.signedBeforeStart("charlie", 8000), true);
        assert.equal(second.signedBeforeStart("charlie", 8001), false);
        assert.equal(second.signedBeforeStart("delta", 1), false);
        assert.deepEqual(JSON.parse(await readFile(file, "utf8")), {
            format: 1,
            floors: { bravo: 6001, charlie: 8000 },
        });
    });
    it("refuses to start on a file it cannot read as floors", async () => {
        const file = path.join(dir, "bad.json");
        await writeFile(file, JSON.stringify({ something: "else" }));
        await assert.rejects(ReplayFloors.load(nodeStorage, file, 1000, { written: () => undefined }), /not a replay floor file/);
    });
});
//# sourceMappingURL=replay-floor.test.js.map
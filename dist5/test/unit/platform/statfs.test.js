/**
 * statfs on the Storage seam: nodeStorage reports what df(1) reports for
 * the same filesystem; SimStorage reports its capacity and what its files
 * take, without counting as an operation (a planned crash or fault lands
 * where it did before).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { SIM_UNBOUNDED_BYTES, SimStorage } from "../../sim/sim-storage.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { requireTool, run } from "../../helpers/tools.js";
describe("statfs", () => {
    let tmp;
    before(async () => (tmp = await makeTempDir("marsd-statfs-")));
    after(() => tmp.remove());
    it("nodeStorage: size and available bytes as df reports them", async () => {
        const df = requireTool("df");
        const { stdout } = await run(df, ["-B1", "--output=size,avail", tmp.path]);
        const [sizeBytes, availableBytes] = (stdout.trim().split("\n")[1] ?? "").trim().split(/\s+/).map(Number);
        const space = await nodeStorage.statfs(tmp.path);
        assert.equal(space.sizeBytes, sizeBytes);
        // Something else may write meanwhile: within 64 MiB.
        assert.ok(Math.abs(space.availableBytes - (availableBytes ?? NaN)) < 64 * 1024 * 1024);
        assert.ok(space.freeBytes >= space.availableBytes, "free includes the blocks reserved for root");
        await assert.rejects(nodeStorage.statfs(tmp.join("missing")), { code: "ENOENT" });
    });
    it("SimStorage: the capacity less what the files take; a large fixed size without a capacity", async () => {
        const storage = new SimStorage({ seed: 1, capacityBytes: 1024 * 1024 });
        assert.deepEqual(await storage.statfs(), {
            sizeBytes: 1024 * 1024,
            freeBytes: 1024 * 1024,
            availableBytes: 1024 * 1024,
        });
        const f = await storage.open("/log", "create");
        await f.writev([new Uint8Array(1000)], 0);
        // Files take whole 512-byte sectors.
        assert.equal((await storage.statfs()).availableBytes, 1024 * 1024 - 1024);
        const before = storage.operations;
        await storage.statfs();
        assert.equal(storage.operations, before, "statfs is not an operation");
        const unbounded = new SimStorage({ seed: 1 });
        assert.equal((await unbounded.statfs()).sizeBytes, SIM_UNBOUNDED_BYTES);
    });
});
//# sourceMappingURL=statfs.test.js.map
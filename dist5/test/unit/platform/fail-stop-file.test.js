/**
 * FailStopFile: after a failed fdatasync the same descriptor is never
 * synced again (a later "success" could cover pages the kernel dropped).
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { FailStopFile } from "../../../src/platform/storage/fail-stop-file.js";
import { FaultyStorage } from "../../helpers/faulty-file.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
describe("fail-stop file", () => {
    let tmp;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    it("refuses every write and sync after the first failed sync, with that failure, without calling the file", async () => {
        const disk = tmp.join("disk.img");
        await writeFile(disk, Buffer.alloc(65536));
        const storage = new FaultyStorage({ failDatasyncFrom: 1 });
        const file = new FailStopFile(await storage.open(disk, "readwrite"));
        await file.writev([Buffer.alloc(4096, 1)], 0);
        const first = await file.datasync().then(() => undefined, (err) => err);
        assert.ok(first instanceof Error, "the injected failure");
        const calls = { ...storage.calls };
        await assert.rejects(file.datasync(), (err) => err === first);
        await assert.rejects(file.writev([Buffer.alloc(4096, 2)], 0), (err) => err === first);
        await assert.rejects(file.writeRanges([{ offsetBytes: 0, lengthBytes: 512, data: Buffer.alloc(512) }]), (err) => err === first);
        await assert.rejects(file.truncate(0), (err) => err === first);
        assert.deepEqual(storage.calls, calls, "nothing reached the file after the failure");
        const back = Buffer.alloc(4096);
        await file.read(back, 0);
        assert.ok(back.equals(Buffer.alloc(4096, 1)), "reads go on");
        assert.equal(file.failedWith, first);
        await file.close();
    });
});
//# sourceMappingURL=fail-stop-file.test.js.map
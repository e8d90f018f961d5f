/**
 * The pure parts of resource/resize.ts: which sizes a grow accepts, what a
 * member copies after it, and that replay never writes beyond a member's
 * size (a real ApplyQueue on a real file behind the guard); the volume's
 * bound moves only when grown.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { LogStream } from "../../../src/log/log-stream.js";
import { genesisVersion } from "../../../src/log/version.js";
import { systemClock } from "../../../src/platform/clock.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { ReplayBlockedError } from "../../../src/replication/replayer.js";
import { SYNC_CHUNK_BYTES } from "../../../src/replication/sync-regions.js";
import { ApplyQueue } from "../../../src/resource/apply-queue.js";
import { planResize, regionsAfterGrow, sizeGuardedApplier, tailRegions, } from "../../../src/resource/resize.js";
import { DEFAULT_VOLUME_OPTIONS, PrimaryVolume } from "../../../src/resource/volume.js";
import { OperatorError, OutOfRangeError } from "../../../src/util/errors.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
const MIB = 1024 * 1024;
function codeOf(fn) {
    try {
        fn();
    }
    catch (err) {
        return err instanceof OperatorError ? err.code : "other";
    }
    return undefined;
}
describe("resize: sizes", () => {
    it("grows, keeps an equal size, refuses a shrink and a misaligned or tiny size", () => {
        assert.equal(planResize(16 * MIB, 32 * MIB), "grow");
        assert.equal(planResize(16 * MIB, 16 * MIB), "unchanged");
        assert.equal(codeOf(() => planResize(16 * MIB, 8 * MIB)), "SHRINK_REFUSED");
        assert.equal(codeOf(() => planResize(16 * MIB, 16 * MIB + 512)), "DISK_INVALID");
        assert.equal(codeOf(() => planResize(16 * MIB, 4096)), "DISK_INVALID");
    });
    it("a member copies the new tail only, in whole chunks, clipped to the new end", () => {
        assert.deepEqual(tailRegions(16 * MIB, 32 * MIB), [[16 * MIB, 16 * MIB]]);
        // An old end inside a chunk: that chunk is copied whole (it may hold old-end bytes too).
        const old = 16 * MIB + 8192;
        const grown = 20 * MIB + 4096;
        assert.deepEqual(tailRegions(old, grown), [[16 * MIB, grown - 16 * MIB]]);
        assert.equal(SYNC_CHUNK_BYTES, MIB);
    });
    it("a sync running at the grow takes the tail in (a full sync stays full)", () => {
        assert.equal(regionsAfterGrow(undefined, 16 * MIB, 32 * MIB), undefined);
        assert.deepEqual(regionsAfterGrow([[0, MIB]], 16 * MIB, 32 * MIB), [
            [0, MIB],
            [16 * MIB, 16 * MIB],
        ]);
        assert.deepEqual(regionsAfterGrow([[15 * MIB, MIB]], 16 * MIB, 18 * MIB), [[15 * MIB, 3 * MIB]]);
    });
});
describe("resize: bounds on the data path", () => {
    let tmp;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    it("replay blocks before a record beyond the member's size, with nothing later issued", async () => {
        const diskPath = tmp.join("member.img");
        await writeFile(diskPath, Buffer.alloc(2 * MIB));
        const backing = await nodeStorage.open(diskPath, "readwrite");
        const applier = new ApplyQueue(systemClock, backing);
        const core = { config: { sizeBytes: MIB }, applier };
        const guarded = sizeGuardedApplier(core);
        const position = { fileNumber: 1, host: "alpha", offsetBytes: 100, nextSeq: 1, streamBytes: 100 };
        await guarded.apply({ offsetBytes: MIB - 4096, lengthBytes: 4096, data: Buffer.alloc(4096, 1) }, position);
        assert.throws(() => guarded.apply({ offsetBytes: MIB - 4096, lengthBytes: 8192 }, { ...position, offsetBytes: 200 }), ReplayBlockedError);
        assert.equal(guarded.inFlightCount, 0);
        assert.equal(applier.appliedPosition?.offsetBytes, 100, "the refused record is not applied");
        core.config.sizeBytes = 2 * MIB;
        await guarded.apply({ offsetBytes: MIB, lengthBytes: 4096 }, { ...position, offsetBytes: 200 });
        assert.equal(applier.appliedPosition?.offsetBytes, 200);
        await backing.close();
    });
    it("the primary's volume accepts IO up to the new end only once grown", async () => {
        const root = tmp.join("primary");
        await mkdir(root);
        await writeFile(`${root}/disk.img`, Buffer.alloc(2 * MIB));
        const backing = await nodeStorage.open(`${root}/disk.img`, "readwrite");
        const log = await LogStream.start({
            dir: root,
            resource: "r0",
            host: "alpha",
            storage: nodeStorage,
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            rotateBytes: 1 << 30,
        }, 1, 0, genesisVersion("r0", 0));
        const applier = new ApplyQueue(systemClock, backing, log.durablePosition());
        const v = new PrimaryVolume("r0", MIB, backing, log, applier, DEFAULT_VOLUME_OPTIONS, (err) => {
            throw err;
        });
        await assert.rejects(v.write(MIB, Buffer.alloc(4096, 7)), OutOfRangeError);
        v.grow(2 * MIB);
        assert.equal(v.sizeBytes, 2 * MIB);
        await v.write(MIB, Buffer.alloc(4096, 7));
        const back = Buffer.alloc(4096);
        await v.read(MIB, back);
        assert.deepEqual(back, Buffer.alloc(4096, 7));
        v.grow(MIB);
        assert.equal(v.sizeBytes, 2 * MIB, "never shrinks");
        await v.idle();
        await log.close();
        await backing.close();
    });
});
//# sourceMappingURL=resize.test.js.map
/**
 * Anytime consistency: a secondary's disk equals the primary's disk after
 * some prefix of its writes, at any moment.
 *
 * - ext4 on the primary (nbdfuse + loop, the kernel's filesystem) under a
 *   file workload; at random moments the secondary's replay is paused, its
 *   disk copied, replay resumed; every copy must be a clean filesystem
 *   (journal recovery allowed, then e2fsck -fn clean).
 * - versioned blocks from a real NBD client; every copy must be exactly
 *   the state after some prefix of the primary's log, in log order.
 *
 * MARSD_SNAPSHOTS (default 10) sets how many copies each part takes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile, unlink } from "node:fs/promises";
import path from "node:path";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { seededRandom } from "../../src/platform/random.js";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { loggedWrites, nbdUri, prefixLength, resourceDirOf, startReplicated, waitCaughtUp, waitUntil, } from "../helpers/replication.js";
import { requireTool, run, startProcess, requirePythonNbd } from "../helpers/tools.js";
const MIB = 1024 * 1024;
const SNAPSHOTS = Number(process.env.MARSD_SNAPSHOTS ?? 10);
/** Seeds the snapshot moments and the file contents; printed in the test names, MARSD_CONSISTENCY_SEED replays. */
const SEED = Number(process.env.MARSD_CONSISTENCY_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(SEED);
function pause(ms) {
    return new Promise((r) => setTimeout(r, ms));
}
/** Pauses the secondary's replay, copies its disk, resumes. */
async function snapshot(setup, host, to) {
    const rpc = setup.cluster.node(host).daemon.rpc;
    await rpc.call("resource.pause", { name: setup.name, what: "replay" });
    try {
        await copyFile(setup.disks.get(host), to);
    }
    finally {
        await rpc.call("resource.resume", { name: setup.name, what: "replay" });
    }
}
describe(`anytime consistency of a secondary (seed ${SEED}, MARSD_CONSISTENCY_SEED replays)`, { timeout: 600_000 }, () => {
    let setup;
    const t = { nbdfuse: "", fusermount: "", losetup: "", mkfs: "", mount: "", umount: "", e2fsck: "" };
    before(async () => {
        for (const k of Object.keys(t)) {
            t[k] = requireTool(k === "fusermount" ? "fusermount3" : k === "mkfs" ? "mkfs.ext4" : k);
        }
        await requirePythonNbd();
        if (!existsSync("/dev/fuse"))
            throw new Error("/dev/fuse is missing: FUSE is required for this test");
        setup = await startReplicated({
            hosts: ["node-a", "node-b"],
            sizeBytes: 96 * MIB,
            config: {
                log: { rotateBytes: 8 * MIB },
                jobs: { logRotate: "", logDelete: "" },
                replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
            },
        });
    });
    after(async () => setup?.cluster.cleanup());
    test(`ext4 under a file workload: ${SNAPSHOTS} copies of the secondary are clean filesystems`, explainOnFailure(async () => {
        const base = setup.cluster.baseDir;
        const fuseImage = path.join(base, "fuse", "disk.raw");
        const mnt = path.join(base, "mnt");
        await mkdir(path.dirname(fuseImage), { recursive: true });
        await mkdir(mnt, { recursive: true });
        const fuse = startProcess(t.nbdfuse, [fuseImage, nbdUri(setup.cluster, "node-a", setup.name)]);
        let loop;
        let mounted = false;
        let stop = false;
        try {
            await waitFor("nbdfuse to expose the export", () => {
                if (fuse.child.exitCode !== null)
                    throw new Error(`nbdfuse exited: ${fuse.output}`);
                return existsSync(fuseImage);
            });
            loop = (await run(t.losetup, ["--find", "--show", fuseImage])).stdout.trim();
            await run(t.mkfs, ["-q", "-F", "-E", "nodiscard", "-J", "size=4", loop], { timeoutMs: 120_000 });
            await run(t.mount, ["-t", "ext4", loop, mnt]);
            mounted = true;
            // A file workload: create, overwrite, fsync some, delete some, in a few directories.
            let written = 0;
            const workload = (async () => {
                let i = 0;
                while (!stop) {
                    const dir = path.join(mnt, `d${i % 7}`);
                    await mkdir(dir, { recursive: true });
                    const file = path.join(dir, `f${i % 53}.bin`);
                    await writeFile(file, random.bytes(4096 + ((i * 7919) % (256 * 1024))));
                    if (i % 5 === 0) {
                        await run("sync", ["-f", file]);
                    }
                    if (i % 11 === 0)
                        await unlink(path.join(dir, `f${(i + 17) % 53}.bin`)).catch(() => undefined);
                    written += 1;
                    i += 1;
                }
            })();
            const copy = path.join(base, "snapshot.img");
            for (let n = 0; n < SNAPSHOTS; n++) {
                await pause(200 + random.int(0, 600));
                await snapshot(setup, "node-b", copy);
                // Journal recovery is allowed (a crash-consistent filesystem needs it); then it must be clean.
                await run(t.e2fsck, ["-fy", "-E", "journal_only", copy]).catch(() => undefined);
                const fsck = await run(t.e2fsck, ["-fn", copy]).catch((err) => {
                    throw new Error(`snapshot ${n} is not a clean filesystem: ${String(err)}`);
                });
                assert.match(fsck.stdout, /Pass 5/, fsck.stdout);
            }
            stop = true;
            await workload;
            assert.ok(written > 20, `the workload wrote only ${written} files`);
            await rm(copy, { force: true });
        }
        finally {
            stop = true;
            if (mounted)
                await run(t.umount, [mnt]).catch(() => undefined);
            if (loop)
                await run(t.losetup, ["-d", loop]).catch(() => undefined);
            await run(t.fusermount, ["-u", path.dirname(fuseImage)]).catch(() => undefined);
            await fuse.stop();
        }
    }));
    test(`versioned blocks: ${SNAPSHOTS} copies of the secondary are each an exact prefix of the primary's log`, explainOnFailure(async () => {
        const blocks = 2048;
        const base = setup.cluster.baseDir;
        // Start from a known state: zero the blocks the writer uses (a WRITE_ZEROES through the log).
        await run(requireTool("qemu-io"), [
            "-f",
            "raw",
            nbdUri(setup.cluster, "node-a", setup.name),
            "-c",
            `write -z 0 ${blocks * 4096}`,
        ]);
        await waitUntil(setup.cluster, "node-b", setup.name, "uptodate");
        const writer = await startPatternWriter({
            uri: nbdUri(setup.cluster, "node-a", setup.name),
            blocks,
            depth: 16,
            seed: SEED,
            stateFile: path.join(base, "blocks-state.json"),
            maxWrites: 1 << 30,
        });
        const copies = [];
        for (let n = 0; n < SNAPSHOTS; n++) {
            await pause(150 + random.int(0, 400));
            const copy = path.join(base, `blocks-${n}.img`);
            await snapshot(setup, "node-b", copy);
            copies.push((await readFile(copy)).subarray(0, blocks * 4096));
            await rm(copy);
        }
        writer.kill();
        await writer.exited;
        assert.ok(writer.acks > 100, `the writer got only ${writer.acks} acknowledgements`);
        await waitUntil(setup.cluster, "node-b", setup.name, "uptodate");
        // "uptodate" compares with node-a's last published status; the disks are
        // compared once node-b has applied everything node-a made durable.
        await waitCaughtUp(setup.cluster, "node-b", "node-a", setup.name);
        const order = await loggedWrites(resourceDirOf(setup.cluster, "node-a", setup.name));
        let last = 0;
        for (const [n, image] of copies.entries()) {
            const k = prefixLength(image, blocks, order);
            assert.ok(k >= last, `snapshot ${n} (prefix ${k}) went back behind snapshot ${n - 1} (prefix ${last})`);
            last = k;
        }
        assert.ok(last > 0, "the snapshots saw some of the writes");
        // And once caught up, the secondary holds the whole log.
        const final = (await readFile(setup.disks.get("node-b"))).subarray(0, blocks * 4096);
        assert.equal(prefixLength(final, blocks, order), order.length);
        const digest = (b) => createHash("sha256").update(b).digest("hex");
        assert.equal(digest(final), digest((await readFile(setup.disks.get("node-a"))).subarray(0, blocks * 4096)));
    }));
});
//# sourceMappingURL=replication-consistency.test.js.map
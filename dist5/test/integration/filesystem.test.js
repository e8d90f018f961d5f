/**
 * A real filesystem on a marsd volume. This kernel has no nbd module, so
 * nbdfuse (libnbd) exposes the export as a file, losetup turns that file
 * into a block device, and the kernel's ext4 runs on top: mkfs, mount,
 * write files, unmount, e2fsck -fn must find it clean, and after a
 * remount every file reads back intact.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startNodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run, startProcess } from "../helpers/tools.js";
import { seededRandom } from "../../src/platform/random.js";
const MIB = 1024 * 1024;
/** Seeds the data written (printed in the suite's name; MARSD_FS_SEED replays). */
const SEED = Number(process.env.MARSD_FS_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(SEED);
describe(`ext4 on a marsd volume (nbdfuse + loop device) (seed ${SEED})`, () => {
    let node;
    let fuse;
    let loop;
    let mounted = false;
    const t = {
        nbdfuse: "",
        fusermount: "",
        losetup: "",
        mkfs: "",
        mount: "",
        umount: "",
        e2fsck: "",
        sync: "",
    };
    const dirs = { fuse: "", mnt: "" };
    before(async () => {
        t.nbdfuse = requireTool("nbdfuse");
        t.fusermount = requireTool("fusermount3");
        t.losetup = requireTool("losetup");
        t.mkfs = requireTool("mkfs.ext4");
        t.mount = requireTool("mount");
        t.umount = requireTool("umount");
        t.e2fsck = requireTool("e2fsck");
        t.sync = requireTool("sync");
        if (!existsSync("/dev/fuse"))
            throw new Error("/dev/fuse is missing: FUSE is required for this test");
        node = await startNodeWithVolume({ sizeBytes: 128 * MIB });
        dirs.fuse = path.join(node.daemon.baseDir, "fuse");
        dirs.mnt = path.join(node.daemon.baseDir, "mnt");
        await mkdir(dirs.fuse);
        await mkdir(dirs.mnt);
    });
    after(async () => {
        // Undo in reverse order whatever was set up, even after a failure.
        if (mounted)
            await run(t.umount, [dirs.mnt]).catch(() => undefined);
        if (loop)
            await run(t.losetup, ["-d", loop]).catch(() => undefined);
        if (fuse) {
            await run(t.fusermount, ["-u", dirs.fuse]).catch(() => undefined);
            await fuse.stop();
        }
        await node?.daemon.cleanup();
    });
    it("makes, writes, checks and remounts an ext4 filesystem", async () => {
        const image = path.join(dirs.fuse, "disk.raw");
        fuse = startProcess(t.nbdfuse, [image, node.uri]);
        await waitFor(`nbdfuse to expose ${image}`, () => {
            if (fuse?.child.exitCode !== null)
                throw new Error(`nbdfuse exited: ${fuse?.output}`);
            return existsSync(image);
        });
        loop = (await run(t.losetup, ["--find", "--show", image])).stdout.trim();
        assert.match(loop, /^\/dev\/loop\d+$/);
        await run(t.mkfs, ["-q", "-F", "-E", "nodiscard", loop], { timeoutMs: 120_000 });
        await run(t.mount, ["-t", "ext4", loop, dirs.mnt]);
        mounted = true;
        const files = new Map();
        await mkdir(path.join(dirs.mnt, "sub", "dir"), { recursive: true });
        for (let i = 0; i < 24; i++) {
            const content = random.bytes(i % 4 === 0 ? 2 * MIB : 37_000 + i * 1000);
            const name = path.join(i % 2 ? "sub/dir" : "", `file-${i}.bin`);
            await writeFile(path.join(dirs.mnt, name), content);
            files.set(name, createHash("sha256").update(content).digest("hex"));
        }
        await run(t.sync, ["-f", dirs.mnt]);
        await run(t.umount, [dirs.mnt]);
        mounted = false;
        const fsck = await run(t.e2fsck, ["-fn", loop]);
        assert.match(fsck.stdout, /Pass 5: Checking group summary information\n.*: \d+\/\d+ files .*, \d+\/\d+ blocks/, fsck.stdout);
        await run(t.mount, ["-t", "ext4", "-o", "ro", loop, dirs.mnt]);
        mounted = true;
        for (const [name, digest] of files) {
            const content = await readFile(path.join(dirs.mnt, name));
            assert.equal(createHash("sha256").update(content).digest("hex"), digest, name);
        }
        await run(t.umount, [dirs.mnt]);
        mounted = false;
        // Everything went through marsd's durable log.
        const status = await node.daemon.rpc.call("resource.status", { name: "r0" });
        assert.ok(status.log.durable.streamBytes > 12 * MIB, `log holds ${status.log.durable.streamBytes} bytes`);
    });
});
//# sourceMappingURL=filesystem.test.js.map
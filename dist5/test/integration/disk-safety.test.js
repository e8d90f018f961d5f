/**
 * Careless and hostile disks (issue 12, defects 4-7), against a real
 * daemon with real loop devices, mounts and immutable files:
 *
 * - a refused resource.create leaves no trace on disk or in the cluster
 *   state, the daemon restarts, and the name can be created afterwards;
 * - immutable files and read-only mounts answer 1003 with a reason, never
 *   -32603, and nothing is logged at error level;
 * - at start-up a missing, directory-replaced or file-replaced disk fails
 *   only its own resource; the others serve their data over NBD;
 * - a hard link to another resource's disk, and a file inside the data
 *   directory (a resource's own log), are refused as disks.
 *
 * Needs root (losetup, mount, chattr), as the rest of the suite does.
 */
import assert from "node:assert/strict";
import { link, mkdir, mkdtemp, open, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "node:test";
import { RpcCallError } from "../../src/cli/rpc-client.js";
import { waitFor } from "../helpers/daemon-process.js";
import { createVolume, startNode } from "../helpers/single-node.js";
import { makeDisk, waitUntil } from "../helpers/replication.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { SYSTEM_PYTHON, requirePythonNbd, requireTool, run } from "../helpers/tools.js";
const MIB = 1024 * 1024;
/** Undo steps of the running test, run even when it fails (reverse order). */
let undo = [];
afterEach(async () => {
    for (const step of undo.reverse())
        await step().catch(() => undefined);
    undo = [];
});
async function node() {
    const daemon = await startNode();
    undo.push(() => daemon.cleanup());
    return daemon;
}
async function sparseFile(file, sizeBytes) {
    const handle = await open(file, "w");
    await handle.truncate(sizeBytes);
    await handle.close();
    return file;
}
async function refusal(promise) {
    try {
        await promise;
    }
    catch (err) {
        if (err instanceof RpcCallError)
            return err;
        throw err;
    }
    assert.fail("the call was accepted");
}
/** The daemon wrote no error-level log line. */
function assertNoErrorLogged(daemon) {
    const errors = daemon.output
        .split("\n")
        .filter((line) => /"level":"(error|fatal)"/.test(line))
        .join("\n");
    assert.equal(errors, "", "error-level log lines");
}
/** Nothing of the resource is left: no directory, no cluster entries. */
async function assertNoTrace(daemon, name) {
    const dirs = await readdir(path.join(daemon.dataDir, "resources")).catch(() => []);
    assert.ok(!dirs.includes(name), `data/resources/${name} was left behind`);
    const { entries } = await daemon.rpc.call("state.get", {
        prefix: `resource/${name}/`,
    });
    assert.deepEqual(entries.map((e) => e.key), []);
    const { resources } = await daemon.rpc.call("resource.list");
    assert.ok(!resources.some((r) => r.name === name));
}
/** Runs `script` with `h` connected to uri (libnbd, a real client). */
async function nbdsh(uri, script) {
    await requirePythonNbd();
    const prelude = "import nbd, sys\nh = nbd.NBD()\nh.connect_uri(sys.argv[1])\nexec(sys.argv[2])\n";
    const { stdout } = await run(SYSTEM_PYTHON, ["-c", prelude, uri, script], { timeoutMs: 30_000 });
    return stdout;
}
/** Writes `fill` at offsetBytes and reads it back. */
async function writeBlock(uri, offsetBytes, fill) {
    await nbdsh(uri, `h.pwrite(bytes([${fill}]) * 65536, ${offsetBytes}); h.flush(); ` +
        `assert h.pread(65536, ${offsetBytes}) == bytes([${fill}]) * 65536`);
}
async function assertBlock(uri, offsetBytes, fill) {
    await nbdsh(uri, `assert h.pread(65536, ${offsetBytes}) == bytes([${fill}]) * 65536, "data differs"`);
}
async function losetup(image) {
    const device = (await run("losetup", ["-f", "--show", image])).stdout.trim();
    undo.push(() => run("losetup", ["-d", device]));
    return device;
}
async function mountAt(args, dir) {
    await mkdir(dir, { recursive: true });
    await run("mount", [...args, dir]);
    undo.push(() => run("umount", ["-l", dir]));
}
describe("disks: all-or-nothing creation, failed start-up, identity", () => {
    it("defect 4: a refused create on a mounted loop device leaves no trace; restart (also after a creation cut short) and the same name on a good file work", async () => {
        const daemon = await node();
        const image = await sparseFile(path.join(daemon.baseDir, "fs.img"), 32 * MIB);
        await run(requireTool("mkfs.ext4"), ["-q", "-F", image]);
        const device = await losetup(image);
        await mountAt([device], path.join(daemon.baseDir, "mnt"));
        const err = await refusal(daemon.rpc.call("resource.create", { name: "busy", disk: device }));
        assert.equal(err.code, 1004, err.message);
        assert.match(err.message, /busy/);
        await assertNoTrace(daemon, "busy");
        assertNoErrorLogged(daemon);
        // A creation cut short by a crash (state files written, no resource.json yet) is dropped at start-up.
        await daemon.stop();
        const half = path.join(daemon.dataDir, "resources", "half");
        await mkdir(half);
        await writeFile(path.join(half, "sync.json"), '{"state":"done","doneBytes":0,"totalBytes":0,"consistent":true}\n');
        await daemon.relaunch();
        await assertNoTrace(daemon, "busy");
        await assertNoTrace(daemon, "half");
        await createVolume(daemon, "half", 8 * MIB);
        const good = await createVolume(daemon, "busy", 8 * MIB);
        await writeBlock(good.uri, 0, 0x5a);
    });
    it("defect 7: an immutable file and a read-only mount answer 1003 with a reason and leave nothing", async () => {
        const daemon = await node();
        const immutable = await sparseFile(path.join(daemon.baseDir, "immutable.img"), 8 * MIB);
        await run(requireTool("chattr"), ["+i", immutable]);
        undo.push(() => run("chattr", ["-i", immutable]));
        let err = await refusal(daemon.rpc.call("resource.create", { name: "imm", disk: immutable }));
        assert.equal(err.code, 1003, err.message);
        assert.match(err.message, /EPERM/);
        await assertNoTrace(daemon, "imm");
        const mnt = path.join(daemon.baseDir, "ro");
        await mountAt(["-t", "tmpfs", "-o", "size=16m", "tmpfs"], mnt);
        const onRo = await sparseFile(path.join(mnt, "disk.img"), 8 * MIB);
        await run("mount", ["-o", "remount,ro", mnt]);
        err = await refusal(daemon.rpc.call("resource.create", { name: "ro", disk: onRo }));
        assert.equal(err.code, 1003, err.message);
        assert.match(err.message, /EROFS|read-only/);
        await assertNoTrace(daemon, "ro");
        assertNoErrorLogged(daemon);
        await daemon.restart();
        await assertNoTrace(daemon, "imm");
        await assertNoTrace(daemon, "ro");
    });
    it("defect 5: a missing, directory-replaced, file-replaced or busy disk fails only its resource at start-up", async () => {
        const daemon = await node();
        const good = await createVolume(daemon, "good", 8 * MIB);
        const bad = await createVolume(daemon, "bad", 8 * MIB);
        // A resource on a block device that will be mounted behind its back.
        const image = await sparseFile(path.join(daemon.baseDir, "fs.img"), 16 * MIB);
        await run(requireTool("mkfs.ext4"), ["-q", "-F", image]);
        const device = await losetup(image);
        await daemon.rpc.call("resource.create", { name: "dev", disk: device, frontend: "nbd" });
        await writeBlock(good.uri, MIB, 0x11);
        await writeBlock(bad.uri, MIB, 0x22);
        const away = `${bad.disk}.away`;
        const expectFailedBad = async (reason, goodFill, failed = "bad") => {
            const status = await daemon.rpc.call("resource.status", {
                name: failed,
            });
            assert.equal(status.state, "failed");
            assert.match(status.error ?? "", reason);
            const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
            assert.match(metrics, new RegExp(`marsd_resource_failed\\{resource="${failed}"\\} 1`));
            assert.match(metrics, /marsd_resource_failed\{resource="good"\} 0/);
            // The good one serves: old data intact, new writes land.
            await assertBlock(good.uri, MIB, goodFill);
            await writeBlock(good.uri, MIB, goodFill + 1);
            const health = await fetch(`${daemon.adminUrl}/healthz`);
            assert.equal(health.status, 200);
            return goodFill + 1;
        };
        // Missing (ENOENT).
        await daemon.stop();
        await rename(bad.disk, away);
        await daemon.relaunch();
        let fill = await expectFailedBad(/does not exist|ENOENT/, 0x11);
        // A directory in its place (EISDIR).
        await daemon.stop();
        await mkdir(bad.disk);
        await daemon.relaunch();
        fill = await expectFailedBad(/directory/, fill);
        // Another file in its place (same path and size, another inode).
        await daemon.stop();
        await rmdir(bad.disk);
        await sparseFile(bad.disk, 8 * MIB);
        assert.notEqual((await stat(bad.disk)).ino, (await stat(away)).ino);
        await daemon.relaunch();
        fill = await expectFailedBad(/replaced/, fill);
        // dev's block device mounted (EBUSY on the exclusive open).
        await daemon.stop();
        const mnt = path.join(daemon.baseDir, "mnt");
        await mountAt([device], mnt);
        await daemon.relaunch();
        fill = await expectFailedBad(/busy/, fill, "dev");
        // The real disks back: the resources recover with their data.
        await daemon.stop();
        await run("umount", [mnt]);
        await rename(away, bad.disk);
        await daemon.relaunch();
        for (const name of ["bad", "dev"]) {
            await waitFor(`${name} to run again`, async () => {
                const s = await daemon.rpc.call("resource.status", { name });
                return s.state === "running";
            });
        }
        await assertBlock(bad.uri, MIB, 0x22);
        await assertBlock(good.uri, MIB, fill);
    });
    it("defect 6: a hard link to another resource's disk, or a file in the data directory, is refused", async () => {
        const daemon = await node();
        const a = await createVolume(daemon, "a", 8 * MIB);
        const linked = path.join(daemon.baseDir, "a-link.img");
        await link(a.disk, linked);
        let err = await refusal(daemon.rpc.call("resource.create", { name: "b", disk: linked }));
        assert.equal(err.code, 1004, err.message);
        assert.match(err.message, /already used by resource a/);
        await assertNoTrace(daemon, "b");
        const aDir = path.join(daemon.dataDir, "resources", "a");
        const logFile = (await readdir(aDir)).find((f) => f.startsWith("log-"));
        assert.ok(logFile, "resource a has a log file");
        err = await refusal(daemon.rpc.call("resource.create", { name: "b", disk: path.join(aDir, logFile), sizeBytes: MIB }));
        assert.equal(err.code, 1004, err.message);
        assert.match(err.message, /data directory/);
        await assertNoTrace(daemon, "b");
        // Another name of the log file outside the data directory is the same file.
        const logLink = path.join(daemon.baseDir, "log-link.img");
        await link(path.join(aDir, logFile), logLink);
        err = await refusal(daemon.rpc.call("resource.create", { name: "b", disk: logLink, sizeBytes: MIB }));
        assert.equal(err.code, 1004, err.message);
        await assertNoTrace(daemon, "b");
        assertNoErrorLogged(daemon);
        // Another node's data directory (on this machine) is refused too.
        const other = await mkdtemp(path.join(os.tmpdir(), "marsd-other-"));
        undo.push(() => rm(other, { recursive: true, force: true }));
        await mkdir(path.join(other, "resources"));
        await mkdir(path.join(other, "cluster"));
        const inOther = await sparseFile(path.join(other, "resources", "x.img"), 8 * MIB);
        err = await refusal(daemon.rpc.call("resource.create", { name: "b", disk: inOther }));
        assert.equal(err.code, 1004, err.message);
        await assertNoTrace(daemon, "b");
    });
    it("defect 4: a refused resource.join (immutable disk) leaves no trace on the joiner; a good disk then joins", async () => {
        const cluster = await TestCluster.start({
            hosts: ["alpha", "bravo"],
            config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 } },
        });
        undo.push(() => cluster.cleanup());
        await cluster.form();
        const alpha = cluster.node("alpha").daemon;
        const bravo = cluster.node("bravo").daemon;
        await alpha.rpc.call("resource.create", {
            name: "r0",
            disk: await makeDisk(cluster, "alpha", "r0", 8 * MIB),
            frontend: "nbd",
        });
        const immutable = await makeDisk(cluster, "bravo", "immutable", 8 * MIB);
        await run(requireTool("chattr"), ["+i", immutable]);
        undo.push(() => run("chattr", ["-i", immutable]));
        const err = await refusal(bravo.rpc.call("resource.join", { name: "r0", disk: immutable }));
        assert.equal(err.code, 1003, err.message);
        const dirs = await readdir(path.join(bravo.dataDir, "resources")).catch(() => []);
        assert.ok(!dirs.includes("r0"), "bravo's data/resources/r0 was left behind");
        const { entries } = await bravo.rpc.call("state.get", {
            prefix: "resource/r0/host/bravo/",
        });
        assert.deepEqual(entries.map((e) => e.key), []);
        assertNoErrorLogged(bravo);
        await bravo.restart();
        await bravo.rpc.call("resource.join", {
            name: "r0",
            disk: await makeDisk(cluster, "bravo", "r0", 8 * MIB),
        });
        await waitUntil(cluster, "bravo", "r0", "uptodate");
    });
});
//# sourceMappingURL=disk-safety.test.js.map
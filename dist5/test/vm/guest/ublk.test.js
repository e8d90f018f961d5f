/**
 * The ublk frontend end to end, in a real kernel (run inside the test VM by
 * `npm run test:vm`; skipped elsewhere): a real marsd, /dev/ublkbN, a real
 * filesystem, fio's own verification, a kill -9 in the middle of IO, a
 * clean stop.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import { detectUblk } from "../../../src/frontend/ublk/availability.js";
import { UblkFrontend } from "../../../src/frontend/ublk/ublk-frontend.js";
import { systemClock } from "../../../src/platform/clock.js";
import { systemRandom } from "../../../src/platform/random.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { parseExposition } from "../../helpers/monitoring.js";
import { SKIP_OUTSIDE_VM, backingFile, deviceGone, kernelErrors, removeDir, run, sh, startDaemon, startWriter, waitForDevice, writerContent, } from "./guest-helpers.js";
const MiB = 1024 * 1024;
/** A clean stop (which removes the device) even after a failure, then the temp dirs. */
async function stopAndClean(daemon) {
    await daemon?.cleanup();
}
async function ackedCount(file) {
    const text = await readFile(file, "utf8").catch(() => "");
    return text.split("\n").filter((l) => l !== "").length;
}
describe("ublk frontend in a real kernel", { skip: SKIP_OUTSIDE_VM }, () => {
    it("serves a volume as /dev/ublkbN: fio verify, ext4, e2fsck, and the data reaches the disk", async () => {
        const disk = await backingFile(256 * MiB);
        let daemon;
        try {
            daemon = await startDaemon();
            const created = await daemon.rpc.call("resource.create", {
                name: "vol",
                disk: disk.file,
                frontend: "ublk",
            });
            assert.ok(created);
            const device = await waitForDevice(daemon, "vol");
            assert.equal(device.kind, "ublk");
            assert.equal(device.path, `/dev/ublkb${device.deviceId}`);
            const size = Number((await run("blockdev", ["--getsize64", device.path])).trim());
            assert.equal(size, 256 * MiB);
            // fio writes with its own checksums (direct IO, many in flight, mixed
            // sizes), reads everything back and fails on the first mismatch.
            await run("fio", [
                "--name=verify",
                `--filename=${device.path}`,
                "--ioengine=libaio",
                "--direct=1",
                "--rw=randwrite",
                "--bsrange=4k-256k",
                "--iodepth=16",
                "--size=48m",
                "--verify=crc32c",
                "--verify_fatal=1",
                "--do_verify=1",
                "--verify_state_save=0", // no state files in the project directory
                "--randrepeat=0",
            ]);
            // The frontend's metrics followed that IO (the observer in src/frontend/ublk/queues.ts).
            const { samples } = parseExposition(await (await fetch(`http://127.0.0.1:${daemon.adminPort}/metrics`)).text());
            const metric = (name, labels) => samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
                ?.value;
            for (const op of ["read", "write"]) {
                assert.ok((metric("marsd_ublk_requests_total", { resource: "vol", op }) ?? 0) > 0, `no ublk ${op}s counted`);
                assert.ok((metric("marsd_ublk_request_duration_seconds_count", { op }) ?? 0) > 0, `no ${op} latency`);
            }
            assert.ok((metric("marsd_ublk_request_bytes_total", { resource: "vol", op: "write" }) ?? 0) >= 32 * MiB, "fio wrote 48 MiB (in random-sized blocks): most of it must be counted");
            assert.ok((metric("marsd_ublk_queue_depth_limit_requests", { resource: "vol" }) ?? 0) > 0);
            assert.equal(metric("marsd_ublk_inflight_requests", { resource: "vol" }), 0, "requests left in flight");
            assert.deepEqual(samples.filter((x) => x.name === "marsd_ublk_request_errors_total" && x.value > 0), [], "ublk requests failed");
            // A filesystem on top: mkfs discards and zeroes, the journal flushes and uses FUA.
            const mnt = path.join(disk.dir, "mnt");
            await mkdir(mnt);
            await run("mkfs.ext4", ["-q", "-F", device.path]);
            await run("mount", [device.path, mnt]);
            const payload = writerContent(7).subarray(0, 40_000);
            await writeFile(path.join(mnt, "hello"), payload);
            await sh(`dd if=/dev/urandom of=${mnt}/big bs=1M count=24 status=none conv=fsync`);
            const bigSum = (await run("sha256sum", [`${mnt}/big`])).split(" ")[0];
            await run("umount", [mnt]);
            await run("e2fsck", ["-fn", device.path]);
            // A clean stop removes the device...
            assert.equal(await daemon.stop(), 0);
            assert.ok(deviceGone(device.deviceId), "device nodes still present after a clean stop");
            // ...and what was written is on the backing disk itself.
            await run("e2fsck", ["-fn", disk.file]);
            const back = await run("debugfs", ["-R", "cat /hello", disk.file]);
            assert.equal(back, payload.toString());
            await run("debugfs", ["-R", `dump /big ${disk.dir}/big.out`, disk.file]);
            assert.equal((await run("sha256sum", [`${disk.dir}/big.out`])).split(" ")[0], bigSum);
            assert.deepEqual(await kernelErrors(), []);
        }
        finally {
            await stopAndClean(daemon);
            await removeDir(disk.dir);
        }
    });
    it("survives kill -9 during IO: the mounted filesystem goes on and no acknowledged write is lost", async () => {
        const disk = await backingFile(128 * MiB);
        let daemon;
        const mnt = path.join(disk.dir, "mnt");
        let mounted = false;
        try {
            daemon = await startDaemon();
            await daemon.rpc.call("resource.create", { name: "vol", disk: disk.file, frontend: "ublk" });
            const device = await waitForDevice(daemon, "vol");
            await mkdir(mnt);
            await run("mkfs.ext4", ["-q", "-F", device.path]);
            await run("mount", [device.path, mnt]);
            mounted = true;
            const acked = path.join(disk.dir, "acked");
            const stop = path.join(disk.dir, "stop");
            const writer = startWriter(mnt, acked, stop);
            const writerExit = once(writer, "exit");
            try {
                await waitFor("the writer to get going", async () => (await ackedCount(acked)) >= 20, 60_000);
                await daemon.kill9();
                const atKill = await ackedCount(acked);
                assert.ok(deviceGone(device.deviceId) === false, "the device must outlive its server");
                assert.equal(writer.exitCode, null, "the writer must not notice the crash");
                await daemon.relaunch();
                // IO continues once the new process has taken the device over.
                await waitFor("writes to continue after recovery", async () => (await ackedCount(acked)) >= atKill + 20, 120_000);
                const after = await waitForDevice(daemon, "vol");
                assert.equal(after.deviceId, device.deviceId, "the same device was taken over");
            }
            finally {
                await writeFile(stop, "");
                await writerExit;
            }
            assert.equal(writer.exitCode, 0, "a write failed in the writer");
            // Every acknowledged file is there with its content, read from the
            // device (not the page cache).
            const count = await ackedCount(acked);
            await writeFile("/proc/sys/vm/drop_caches", "3");
            for (let i = 0; i < count; i++) {
                const content = await readFile(path.join(mnt, `f${i}`));
                assert.ok(content.equals(writerContent(i)), `file f${i} lost or damaged`);
            }
            const mountLine = (await readFile("/proc/mounts", "utf8")).split("\n").find((l) => l.includes(mnt));
            assert.match(mountLine ?? "", /\brw\b/, "the filesystem must still be writable");
            assert.deepEqual(await kernelErrors(), []);
            await run("umount", [mnt]);
            mounted = false;
            await run("e2fsck", ["-fn", device.path]);
            assert.equal(await daemon.stop(), 0);
            assert.ok(deviceGone(device.deviceId));
        }
        finally {
            if (mounted)
                await run("umount", ["-l", mnt]).catch(() => undefined);
            await stopAndClean(daemon);
            await removeDir(disk.dir);
        }
    });
    it("auto picks ublk, a restart after a clean stop creates the device again with the same id", async () => {
        const disk = await backingFile(32 * MiB);
        let daemon;
        try {
            daemon = await startDaemon();
            await daemon.rpc.call("resource.create", { name: "auto", disk: disk.file, frontend: "auto" });
            const first = await waitForDevice(daemon, "auto");
            assert.equal(first.kind, "ublk");
            await sh(`printf 'persisted' | dd of=${first.path} bs=4096 conv=sync,fsync oflag=direct status=none`);
            assert.equal(await daemon.stop(), 0);
            assert.ok(deviceGone(first.deviceId));
            await daemon.relaunch();
            const second = await waitForDevice(daemon, "auto");
            assert.equal(second.deviceId, first.deviceId);
            const head = await sh(`dd if=${second.path} bs=4096 count=1 iflag=direct status=none | head -c 9`);
            assert.equal(head, "persisted");
            // Deleting the resource removes its device too.
            await daemon.rpc.call("resource.delete", { name: "auto" });
            await waitFor("the device to disappear", () => deviceGone(second.deviceId), 30_000);
            assert.ok(!existsSync(second.path));
        }
        finally {
            await stopAndClean(daemon);
            await removeDir(disk.dir);
        }
    });
    it("serves several hardware queues, each on its own thread, with small bounds", async () => {
        // In this process, over a volume in memory: the frontend with options
        // the daemon does not use by default (2 queues, depth 8, 64 KiB IOs).
        const ublk = detectUblk();
        assert.ok(ublk.available, ublk.available ? "" : ublk.reason);
        const bytes = new Uint8Array(64 * MiB);
        const volume = {
            name: "mem",
            sizeBytes: bytes.length,
            writable: true,
            read: (offset, target) => Promise.resolve(target.set(bytes.subarray(offset, offset + target.length))),
            write: (offset, data) => Promise.resolve(bytes.set(data, offset)),
            writeZeroes: (offset, length) => Promise.resolve(void bytes.fill(0, offset, offset + length)),
            trim: () => Promise.resolve(),
            flush: () => Promise.resolve(),
        };
        const stateDir = await mkdtemp(path.join(os.tmpdir(), "marsd-vm-mq-"));
        const frontend = new UblkFrontend(ublk.addon, pino({ level: "warn" }), systemClock, nodeStorage, systemRandom, {
            queues: 2,
            queueDepth: 8,
            maxIoBytes: 64 * 1024,
            recoveryWaitMs: 10_000,
        });
        try {
            const device = await frontend.attach(volume, stateDir);
            assert.equal(device.kind, "ublk");
            const dev = device.kind === "ublk" ? device.path : "";
            const queues = (await run("ls", [`/sys/block/${path.basename(dev)}/mq`])).trim().split(/\s+/);
            assert.deepEqual(queues, ["0", "1"]);
            assert.equal((await run("cat", [`/sys/block/${path.basename(dev)}/queue/max_sectors_kb`])).trim(), "64");
            // Two fio jobs (on both vCPUs, so both queues) with verification; IOs larger than 64 KiB are split.
            await run("fio", [
                "--name=mq",
                `--filename=${dev}`,
                "--ioengine=libaio",
                "--direct=1",
                "--rw=randwrite",
                "--bsrange=4k-192k",
                "--iodepth=16",
                "--numjobs=2",
                "--offset_increment=24m",
                "--size=24m",
                "--verify=crc32c",
                "--verify_fatal=1",
                "--do_verify=1",
                "--verify_state_save=0", // no state files in the project directory
            ]);
            await frontend.detach("mem");
            assert.ok(!existsSync(dev), "detach removes the device");
        }
        finally {
            await frontend.detach("mem").catch(() => undefined);
            await rm(stateDir, { recursive: true, force: true });
        }
    });
});
//# sourceMappingURL=ublk.test.js.map
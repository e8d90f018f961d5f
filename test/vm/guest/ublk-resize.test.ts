/**
 * resource.resize on a resource served by ublk, in a real kernel (inside
 * the test VM; skipped elsewhere). What the device shows depends on the
 * kernel, and the test expects it from the kernel's version alone, not from
 * what marsd detected:
 *
 * - Linux >= 6.16 has UBLK_U_CMD_UPDATE_SIZE: /dev/ublkbN shows the new
 *   size at once, the same device (id, no second start), and the new tail
 *   is writable and readable through it and reaches the disk.
 * - older kernels: the device keeps its old size (IO past it fails) until
 *   it is created again; after a clean restart it has the new size and the
 *   tail works (docs/ublk.md, "Growing a resource").
 *
 * CI runs this file on both kernels: in the main VM run (bookworm-backports
 * 6.12) and alone on trixie-backports (test/vm/test-vm.sh).
 */
import assert from "node:assert/strict";
import { open, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { UblkFeature } from "../../../src/frontend/ublk/abi.js";
import { detectUblk } from "../../../src/frontend/ublk/availability.js";
import { parseExposition } from "../../helpers/monitoring.js";
import {
  SKIP_OUTSIDE_VM,
  backingFile,
  removeDir,
  run,
  sh,
  startDaemon,
  type VmDaemon,
  waitForDevice,
} from "./guest-helpers.js";

const MiB = 1024 * 1024;
const OLD_BYTES = 32 * MiB;
const NEW_BYTES = 48 * MiB;
/** A 4 KiB block inside the new tail. */
const TAIL_OFFSET = 40 * MiB;

/** Whether this kernel can change a live ublk device's size (Linux >= 6.16). */
function kernelHasUpdateSize(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  assert.ok(m, `unparseable kernel release ${release}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 6 || (major === 6 && minor >= 16);
}

/** The device's size in bytes, as sysfs and the BLKGETSIZE64 ioctl (blockdev) report it; asserts they agree. */
async function deviceBytes(devPath: string): Promise<number> {
  const sectors = Number((await readFile(`/sys/block/${path.basename(devPath)}/size`, "utf8")).trim());
  const ioctlBytes = Number((await run("blockdev", ["--getsize64", devPath])).trim());
  assert.equal(sectors * 512, ioctlBytes, "sysfs and BLKGETSIZE64 disagree");
  return ioctlBytes;
}

/** A 4 KiB block of `tag`, written with O_DIRECT at `offset` of the device; rejects if the write fails. */
function writeBlock(devPath: string, offset: number, tag: string): Promise<string> {
  return sh(
    `yes '${tag}' | head -c 4096 | dd of=${devPath} bs=4096 seek=${offset / 4096} count=1 oflag=direct conv=fsync,notrunc status=none`,
  );
}

async function readBlock(devPath: string, offset: number): Promise<string> {
  return sh(`dd if=${devPath} bs=4096 skip=${offset / 4096} count=1 iflag=direct status=none | head -c 4096`);
}

function block(tag: string): string {
  return `${tag}\n`.repeat(4096).slice(0, 4096);
}

async function metric(
  daemon: VmDaemon,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const { samples } = parseExposition(
    await (await fetch(`http://127.0.0.1:${daemon.adminPort}/metrics`)).text(),
  );
  return samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    ?.value;
}

/** The ublk device starts the daemon logged (one per creation of a device). */
function startsLogged(daemon: VmDaemon): number {
  return daemon.output.split("\n").filter((l) => l.includes('"msg":"ublk device started"')).length;
}

describe("resource.resize with a ublk device", { skip: SKIP_OUTSIDE_VM }, () => {
  it("the live device shows the new size where the kernel can; otherwise the old one until re-created", async () => {
    const release = os.release();
    const live = kernelHasUpdateSize(release);
    console.log(`kernel ${release}: UPDATE_SIZE expected ${live ? "present" : "absent"}`);
    // Our feature bit is the kernel's: GET_FEATURES offers it exactly on the kernels that have the command.
    const ublk = detectUblk();
    assert.ok(ublk.available, ublk.available ? "" : ublk.reason);
    const features = await ublk.addon.getFeatures();
    assert.equal(
      (features & UblkFeature.UPDATE_SIZE) !== 0,
      live,
      `GET_FEATURES: 0x${features.toString(16)}`,
    );

    const disk = await backingFile(OLD_BYTES);
    let daemon: VmDaemon | undefined;
    try {
      daemon = await startDaemon();
      await daemon.rpc.call("resource.create", { name: "grow", disk: disk.file, frontend: "ublk" });
      const before = await waitForDevice(daemon, "grow");
      assert.equal(before.kind, "ublk");
      assert.equal(await deviceBytes(before.path), OLD_BYTES);
      await writeBlock(before.path, 0, "head");

      // The operator grows the disk first, then the resource.
      const handle = await open(disk.file, "r+");
      await handle.truncate(NEW_BYTES);
      await handle.close();
      const resized = await daemon.rpc.call<{ changed: boolean; sizeBytes: number }>("resource.resize", {
        name: "grow",
        sizeBytes: NEW_BYTES,
      });
      assert.deepEqual(
        { changed: resized.changed, sizeBytes: resized.sizeBytes },
        { changed: true, sizeBytes: NEW_BYTES },
      );
      const after = await waitForDevice(daemon, "grow");
      assert.equal(after.deviceId, before.deviceId);
      assert.equal(after.path, before.path);
      assert.equal(await metric(daemon, "marsd_resource_size_bytes", { resource: "grow" }), NEW_BYTES);

      if (live) {
        // UPDATE_SIZE ran before resource.resize answered: no waiting.
        assert.equal(await deviceBytes(after.path), NEW_BYTES);
        assert.equal(startsLogged(daemon), 1, "the device was not created again");
        assert.match(daemon.output, /"msg":"ublk device size updated"/);
        assert.equal(await metric(daemon, "marsd_ublk_device_size_bytes", { resource: "grow" }), NEW_BYTES);
        await writeBlock(after.path, TAIL_OFFSET, "tail");
        assert.equal(await readBlock(after.path, TAIL_OFFSET), block("tail"));
        assert.equal(await readBlock(after.path, 0), block("head"));
      } else {
        assert.equal(await deviceBytes(after.path), OLD_BYTES);
        assert.match(daemon.output, /"msg":"ublk device keeps its size/);
        assert.equal(await metric(daemon, "marsd_ublk_device_size_bytes", { resource: "grow" }), OLD_BYTES);
        await assert.rejects(
          writeBlock(after.path, TAIL_OFFSET, "tail"),
          /No space left on device|Invalid argument/,
        );
        // The documented way: the device is created again (here by a clean restart).
        assert.equal(await daemon.stop(), 0);
        await daemon.relaunch();
        const again = await waitForDevice(daemon, "grow");
        assert.equal(await deviceBytes(again.path), NEW_BYTES);
        assert.equal(await metric(daemon, "marsd_ublk_device_size_bytes", { resource: "grow" }), NEW_BYTES);
        await writeBlock(again.path, TAIL_OFFSET, "tail");
        assert.equal(await readBlock(again.path, TAIL_OFFSET), block("tail"));
        assert.equal(await readBlock(again.path, 0), block("head"));
      }

      // The tail reached the disk: after a clean stop (which applies every log) it is in the backing file.
      assert.equal(await daemon.stop(), 0);
      const onDisk = await sh(
        `dd if=${disk.file} bs=4096 skip=${TAIL_OFFSET / 4096} count=1 status=none | head -c 4096`,
      );
      assert.equal(onDisk, block("tail"));
    } finally {
      await daemon?.cleanup();
      await removeDir(disk.dir);
    }
  });
});

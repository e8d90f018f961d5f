/**
 * Growing a live ublk device (device-size.ts) and the flag it needs at
 * ADD_DEV (device.ts), against an addon that records the control commands
 * instead of sending them. The real kernel path (UPDATE_SIZE on Linux >=
 * 6.16, the old size on older kernels) is tested in the VM:
 * test/vm/guest/ublk-resize.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { UblkFeature } from "../../../src/frontend/ublk/abi.js";
import { UblkDevice } from "../../../src/frontend/ublk/device.js";
import { followVolumeSize, type LiveDevice } from "../../../src/frontend/ublk/device-size.js";
import type { UblkAddParams, UblkAddon } from "../../../src/frontend/ublk/native.js";
import type { UblkObserver } from "../../../src/frontend/ublk/observer.js";
import { systemClock } from "../../../src/platform/clock.js";
import { seededRandom } from "../../../src/platform/random.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import type { BlockVolume } from "../../../src/resource/block-volume.js";

const MiB = 1024 * 1024;

/** Only what followVolumeSize reads of a volume: its name and size. */
function sizedVolume(sizeBytes: number): BlockVolume {
  const never = () => Promise.reject(new Error("no IO in this test"));
  return {
    name: "r0",
    sizeBytes,
    writable: true,
    read: never,
    write: never,
    writeZeroes: never,
    trim: never,
    flush: never,
  };
}

interface Recorded {
  updates: Array<[number, number]>;
  sizes: number[];
  logs: Array<{ level: number; msg: string }>;
}

function liveDevice(
  flags: number,
  deviceBytes: number,
  volumeBytes: number,
  fail?: Error,
): [LiveDevice, Recorded] {
  const rec: Recorded = { updates: [], sizes: [], logs: [] };
  const addon = {
    updateSize: (devId: number, sectors: number) => {
      rec.updates.push([devId, sectors]);
      return fail ? Promise.reject(fail) : Promise.resolve();
    },
  } as unknown as UblkAddon;
  const observer: UblkObserver = {
    queuesStarted: () => undefined,
    requestStarted: () => undefined,
    requestFinished: () => undefined,
    deviceSize: (bytes) => rec.sizes.push(bytes),
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
      rec.logs.push({ level: line.level, msg: line.msg });
      done();
    },
  });
  const logger = pino({ level: "info" }, sink);
  return [{ addon, devId: 7, flags, deviceBytes, volume: sizedVolume(volumeBytes), logger, observer }, rec];
}

describe("ublk device size after a grow", () => {
  it("sends UPDATE_SIZE in sectors when the device has the feature", async () => {
    const [device, rec] = liveDevice(UblkFeature.USER_RECOVERY | UblkFeature.UPDATE_SIZE, 32 * MiB, 48 * MiB);
    const result = await followVolumeSize(device);
    assert.deepEqual(result, { outcome: "updated", deviceBytes: 48 * MiB });
    assert.deepEqual(rec.updates, [[7, (48 * MiB) / 512]]);
    assert.deepEqual(rec.sizes, [48 * MiB]);
    assert.ok(rec.logs.some((l) => l.msg === "ublk device size updated"));
  });

  it("keeps the size and says why on a kernel without UPDATE_SIZE", async () => {
    const [device, rec] = liveDevice(UblkFeature.USER_RECOVERY, 32 * MiB, 48 * MiB);
    const result = await followVolumeSize(device);
    assert.deepEqual(result, { outcome: "unsupported", deviceBytes: 32 * MiB });
    assert.deepEqual(rec.updates, []);
    assert.deepEqual(rec.sizes, []);
    assert.ok(
      rec.logs.some((l) => l.level === 40 && /keeps its size/.test(l.msg)),
      JSON.stringify(rec.logs),
    );
  });

  it("does nothing when the device already has the volume's size, never shrinks", async () => {
    for (const volumeBytes of [32 * MiB, 16 * MiB]) {
      const [device, rec] = liveDevice(UblkFeature.UPDATE_SIZE, 32 * MiB, volumeBytes);
      assert.deepEqual(await followVolumeSize(device), { outcome: "unchanged", deviceBytes: 32 * MiB });
      assert.deepEqual(rec.updates, []);
    }
  });

  it("reports a refused UPDATE_SIZE without throwing; the device keeps its size", async () => {
    const refused = Object.assign(new Error("UPDATE_SIZE: No such device"), { errno: 19 });
    const [device, rec] = liveDevice(UblkFeature.UPDATE_SIZE, 32 * MiB, 48 * MiB, refused);
    assert.deepEqual(await followVolumeSize(device), { outcome: "failed", deviceBytes: 32 * MiB });
    assert.equal(rec.updates.length, 1);
    assert.deepEqual(rec.sizes, []);
    assert.ok(rec.logs.some((l) => l.level === 50 && /UPDATE_SIZE failed/.test(l.msg)));
  });
});

describe("ublk ADD_DEV flags", () => {
  /** The flags create() asks ADD_DEV for, given what GET_FEATURES offers (ADD_DEV then refuses, ending it). */
  async function requestedFlags(offered: number): Promise<number> {
    let requested: number | undefined;
    const addon = {
      getFeatures: () => Promise.resolve(offered),
      getDeviceInfo: () => Promise.reject(Object.assign(new Error("ENODEV"), { errno: 19 })),
      addDevice: (p: UblkAddParams) => {
        requested = p.flags;
        return Promise.reject(Object.assign(new Error("ADD_DEV: Operation not permitted"), { errno: 1 }));
      },
    } as unknown as UblkAddon;
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "marsd-ublk-flags-"));
    try {
      await assert.rejects(
        UblkDevice.attach({
          addon,
          volume: sizedVolume(32 * MiB),
          stateDir,
          options: { queues: 1, queueDepth: 8, maxIoBytes: 65536, recoveryWaitMs: 0 },
          logger: pino({ level: "silent" }),
          time: systemClock,
          storage: nodeStorage,
          random: seededRandom(1),
          observer: {
            queuesStarted: () => undefined,
            requestStarted: () => undefined,
            requestFinished: () => undefined,
            deviceSize: () => undefined,
          },
        }),
        /Operation not permitted/,
      );
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
    assert.ok(requested !== undefined);
    return requested;
  }

  it("asks for UPDATE_SIZE exactly when the kernel offers it", async () => {
    const { USER_RECOVERY, USER_RECOVERY_REISSUE, UPDATE_SIZE, CMD_IOCTL_ENCODE } = UblkFeature;
    // Linux 6.12: recovery with reissue, no UPDATE_SIZE.
    assert.equal(
      await requestedFlags(USER_RECOVERY | USER_RECOVERY_REISSUE | CMD_IOCTL_ENCODE),
      USER_RECOVERY | USER_RECOVERY_REISSUE,
    );
    // Linux >= 6.16 (and other bits we do not use stay off).
    assert.equal(
      await requestedFlags(USER_RECOVERY | USER_RECOVERY_REISSUE | UPDATE_SIZE | (1 << 12)),
      USER_RECOVERY | USER_RECOVERY_REISSUE | UPDATE_SIZE,
    );
  });
});

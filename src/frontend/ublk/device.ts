/**
 * One volume served as /dev/ublkbN: creating the device, taking it over
 * again after the daemon crashed (user recovery), and removing it.
 *
 * Create: ADD_DEV (with USER_RECOVERY and, where the kernel has them,
 * USER_RECOVERY_REISSUE and UPDATE_SIZE) -> remember id + owner tag -> SET_PARAMS -> every
 * queue posts its fetches -> START_DEV (which reads the partition table
 * through the running queues).
 *
 * Recover: the previous daemon died; the kernel kept /dev/ublkbN and parks
 * its IO (including what the dead daemon had taken but not answered, with
 * REISSUE). Once the kernel has quiesced the device: START_USER_RECOVERY ->
 * queues post their fetches -> END_USER_RECOVERY, and the parked IO flows
 * again. The filesystem above sees a pause, never an error.
 *
 * Resize (followVolume, also after a recovery): device-size.ts.
 *
 * Remove (clean stop): STOP_DEV (waits for in-flight IO, which we keep
 * serving) -> queue threads end -> DEL_DEV.
 */
import type { Logger } from "pino";
import type { Clock } from "../../platform/clock.js";
import { writeSysfsAttribute } from "../../platform/devices.js";
import type { Random } from "../../platform/random.js";
import type { Storage } from "../../platform/storage/types.js";
import type { BlockVolume } from "../../resource/block-volume.js";
import {
  SECTOR_BYTES,
  UBLK_MAX_IO_BYTES,
  UBLK_MAX_QUEUE_DEPTH,
  UBLK_STATE_NAMES,
  UblkAttr,
  UblkFeature,
  UblkState,
} from "./abi.js";
import { UblkDeviceSize, deviceBytesFor, type UblkResizeResult } from "./device-size.js";
import { readUblkState, writeUblkState } from "./device-state.js";
import { UblkIoHandler } from "./io-handler.js";
import { UblkError, errnoName, type UblkAddon, type UblkDevInfo, type UblkParams } from "./native.js";
import type { UblkObserver } from "./observer.js";
import { UblkQueueSet } from "./queues.js";

export interface UblkOptions {
  /** Hardware queues, each served by its own native thread (1..MAX_UBLK_QUEUES). */
  queues: number;
  /** Requests in flight per queue (1..4096): the kernel's tag count. */
  queueDepth: number;
  /** Largest READ/WRITE in bytes, a multiple of 4096; also each tag's buffer size. */
  maxIoBytes: number;
  /** How long a restarted daemon waits for the kernel to release the dead server's device. */
  recoveryWaitMs: number;
}

/** More queues than this would only cost threads on the machines we run on. */
export const MAX_UBLK_QUEUES = 64;

export const DEFAULT_UBLK_OPTIONS: UblkOptions = {
  queues: 1,
  queueDepth: 64,
  maxIoBytes: 512 * 1024,
  recoveryWaitMs: 30_000,
};

/** Largest single DISCARD / WRITE_ZEROES request we let the kernel send. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

export function validateUblkOptions(o: UblkOptions): void {
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`ublk option ${what}`);
  };
  check(
    Number.isInteger(o.queues) && o.queues >= 1 && o.queues <= MAX_UBLK_QUEUES,
    `queues must be 1..${MAX_UBLK_QUEUES}`,
  );
  check(
    Number.isInteger(o.queueDepth) && o.queueDepth >= 1 && o.queueDepth <= UBLK_MAX_QUEUE_DEPTH,
    `queueDepth must be 1..${UBLK_MAX_QUEUE_DEPTH}`,
  );
  check(
    Number.isInteger(o.maxIoBytes) &&
      o.maxIoBytes >= 4096 &&
      o.maxIoBytes <= UBLK_MAX_IO_BYTES &&
      o.maxIoBytes % 4096 === 0,
    `maxIoBytes must be a multiple of 4096 in 4096..${UBLK_MAX_IO_BYTES}`,
  );
  check(Number.isInteger(o.recoveryWaitMs) && o.recoveryWaitMs >= 0, "recoveryWaitMs must be >= 0");
}

interface Context {
  addon: UblkAddon;
  volume: BlockVolume;
  stateDir: string;
  options: UblkOptions;
  logger: Logger;
  time: Clock;
  storage: Storage;
  /** Draws the owner tags that tell our devices from others'. */
  random: Random;
  /** Told about the device's queues and requests (the metrics). */
  observer: UblkObserver;
}

const POLL_MS = 20;

/** Polls `probe` until it returns a value; throws after `timeoutMs`. A throwing probe ends the wait. */
async function pollUntil<T>(
  time: Clock,
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadlineMs = time.monotonicMs() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (time.monotonicMs() >= deadlineMs)
      throw new UblkError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await time.sleep(POLL_MS);
  }
}

function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

export class UblkDevice {
  private removed: Promise<void> | undefined;
  private readonly size: UblkDeviceSize;

  private constructor(
    private readonly ctx: Context,
    readonly devId: number,
    private readonly queues: UblkQueueSet,
    /** True when this device was taken over from a previous daemon process. */
    readonly recovered: boolean,
    /** UblkFeature bits the kernel accepted at ADD_DEV; the device's size as the kernel knows it. */
    flags: number,
    deviceBytes: number,
  ) {
    const { addon, volume, logger, observer } = ctx;
    this.size = new UblkDeviceSize({ addon, devId, flags, deviceBytes, volume, logger, observer });
  }

  /** The volume grew: the device follows where the kernel can (device-size.ts). Never throws. */
  followVolume(): Promise<UblkResizeResult> {
    return this.size.follow();
  }

  get path(): string {
    return `/dev/ublkb${this.devId}`;
  }

  /** IOs handed to us and not yet answered. */
  get inFlight(): number {
    return this.queues.inFlight;
  }

  /** Serves `volume`: takes over the device a previous daemon left, or creates one. */
  static async attach(ctx: Context): Promise<UblkDevice> {
    validateUblkOptions(ctx.options);
    const { addon, logger, stateDir } = ctx;
    let saved;
    try {
      saved = await readUblkState(ctx.storage, stateDir);
    } catch (err) {
      logger.error({ err, resource: ctx.volume.name }, "ublk state unreadable: creating a new device");
    }
    if (!saved) return UblkDevice.create(ctx, -1);
    const info = await UblkDevice.info(addon, saved.deviceId);
    if (!info) return UblkDevice.create(ctx, saved.deviceId); // gone (reboot, clean stop): same id again
    if (info.ownerTag !== saved.ownerTag) {
      logger.warn(
        { resource: ctx.volume.name, devId: saved.deviceId },
        "ublk device id is taken by a device this resource did not create: using a new id",
      );
      return UblkDevice.create(ctx, -1);
    }
    if (info.state === UblkState.DEAD) {
      // Added but never started: the previous daemon died in between. Start over.
      await UblkDevice.delete(addon, info.devId);
      return UblkDevice.create(ctx, info.devId);
    }
    return UblkDevice.recover(ctx, info);
  }

  /** GET_DEV_INFO, or undefined when no such device exists. */
  private static async info(addon: UblkAddon, devId: number): Promise<UblkDevInfo | undefined> {
    try {
      return await addon.getDeviceInfo(devId);
    } catch (err) {
      if (errnoName(err) === "ENODEV") return undefined;
      throw err;
    }
  }

  private static async create(ctx: Context, preferredId: number): Promise<UblkDevice> {
    const { addon, volume, options, stateDir, logger } = ctx;
    // GET_FEATURES exists since Linux 6.5; before it, recovery with reissue
    // is there anyway (both came with 6.0).
    const features = await addon
      .getFeatures()
      .catch(() => UblkFeature.USER_RECOVERY | UblkFeature.USER_RECOVERY_REISSUE);
    if ((features & UblkFeature.USER_RECOVERY) === 0) {
      throw new UblkError(
        "this kernel's ublk has no user recovery; marsd needs it to survive its own restarts",
      );
    }
    // Only what the kernel offers (an older one refuses unknown flags or drops them silently).
    const flags =
      UblkFeature.USER_RECOVERY | (features & (UblkFeature.USER_RECOVERY_REISSUE | UblkFeature.UPDATE_SIZE));
    const ownerTag = ctx.random.int(1, 2 ** 47);
    const add = (devId: number) =>
      addon.addDevice({
        devId,
        queues: options.queues,
        depth: options.queueDepth,
        maxIoBytes: options.maxIoBytes,
        flags,
        ownerTag,
      });
    let info: UblkDevInfo;
    try {
      info = await add(preferredId);
    } catch (err) {
      if (preferredId < 0 || errnoName(err) !== "EEXIST") throw err;
      info = await add(-1);
    }
    const devId = info.devId;
    let queues: UblkQueueSet | undefined;
    try {
      // Remembered before START_DEV: a crash from here on leaves a device we can find.
      await writeUblkState(ctx.storage, stateDir, { deviceId: devId, ownerTag });
      await addon.setParams(devId, UblkDevice.paramsFor(volume, info));
      queues = UblkDevice.queueSet(ctx, info);
      await UblkDevice.startQueues(ctx.time, queues);
      await addon.startDevice(devId);
      await UblkDevice.chooseScheduler(devId, logger);
    } catch (err) {
      await addon.stopDevice(devId).catch(() => undefined);
      await queues?.close().catch(() => undefined);
      await UblkDevice.delete(addon, devId).catch(() => undefined);
      throw err;
    }
    logger.info(
      {
        resource: volume.name,
        devId,
        queues: info.queues,
        depth: info.depth,
        maxIoBytes: info.maxIoBytes,
        flags: info.flags,
      },
      "ublk device started",
    );
    return new UblkDevice(ctx, devId, queues, false, info.flags, deviceBytesFor(volume));
  }

  private static async recover(ctx: Context, found: UblkDevInfo): Promise<UblkDevice> {
    const { addon, volume, options, logger } = ctx;
    const devId = found.devId;
    if ((found.flags & UblkFeature.USER_RECOVERY) === 0) {
      throw new UblkError(`ublk device ${devId} was created without user recovery and cannot be taken over`);
    }
    const params = await addon.getParams(devId);
    // Smaller: created before the volume grew (resource.resize); the kernel
    // keeps IO inside it, and it is grown once it runs (where it can be).
    if (params.devSectors * SECTOR_BYTES > volume.sizeBytes) {
      throw new UblkError(
        `ublk device ${devId} has ${params.devSectors * SECTOR_BYTES} bytes, the volume ${volume.sizeBytes}: not taking it over`,
      );
    }
    // The kernel quiesces the device only after the dead server's process
    // is gone and /dev/ublkcN released; until then START_USER_RECOVERY fails.
    const info = await pollUntil(
      ctx.time,
      `ublk device ${devId} to be released by its previous server`,
      options.recoveryWaitMs,
      async () => {
        const now = await UblkDevice.info(addon, devId);
        if (!now) throw new UblkError(`ublk device ${devId} disappeared during recovery`);
        if (now.state === UblkState.QUIESCED || now.state === UblkState.FAIL_IO) return now;
        if (now.state === UblkState.LIVE && now.pid !== process.pid && processAlive(now.pid)) {
          throw new UblkError(`ublk device ${devId} is being served by running process ${now.pid}`);
        }
        return undefined;
      },
    );
    await pollUntil(
      ctx.time,
      `START_USER_RECOVERY on ublk device ${devId}`,
      options.recoveryWaitMs,
      async () => {
        try {
          await addon.startRecovery(devId);
          return true;
        } catch (err) {
          if (errnoName(err) === "EBUSY") return undefined;
          throw err;
        }
      },
    );
    const queues = UblkDevice.queueSet(ctx, info);
    try {
      await UblkDevice.startQueues(ctx.time, queues);
      await addon.endRecovery(devId);
    } catch (err) {
      // The device stays quiesced: a later attempt can recover it again.
      await queues.close().catch(() => undefined);
      throw err;
    }
    logger.info(
      { resource: volume.name, devId, state: UBLK_STATE_NAMES[found.state] },
      "ublk device recovered",
    );
    const device = new UblkDevice(ctx, devId, queues, true, found.flags, params.devSectors * SECTOR_BYTES);
    await device.followVolume();
    return device;
  }

  private static queueSet(ctx: Context, info: UblkDevInfo): UblkQueueSet {
    const { addon, volume, logger } = ctx;
    const handler = new UblkIoHandler(volume, (err, context) =>
      logger.error({ err, ...context }, "ublk IO failed"),
    );
    // The shape is the kernel's (on recovery it is whatever the device was created with).
    return new UblkQueueSet(
      addon,
      { devId: info.devId, queues: info.queues, depth: info.depth, bufBytes: info.maxIoBytes },
      handler,
      (level, message, context) => logger[level]({ resource: volume.name, ...context }, message),
      ctx.time,
      ctx.observer,
    );
  }

  /** /dev/ublkcN is created by devtmpfs or udev; the latter may lag behind ADD_DEV. */
  private static async startQueues(time: Clock, queues: UblkQueueSet): Promise<void> {
    let started: Promise<void> | undefined;
    await pollUntil(time, `/dev/ublkc${queues.shape.devId} to appear`, 5_000, () => {
      try {
        started = queues.start();
        return Promise.resolve(true);
      } catch (err) {
        if (errnoName(err) === "ENOENT") return Promise.resolve(undefined);
        throw err;
      }
    });
    await started;
  }

  private static paramsFor(volume: BlockVolume, info: UblkDevInfo): UblkParams {
    const maxDiscardSectors = MAX_DISCARD_BYTES / SECTOR_BYTES;
    return {
      // The same promise as the NBD export (SEND_FLUSH | SEND_FUA): the
      // kernel passes flushes and FUA through, which keeps the semantics
      // identical even if the volume ever acknowledges before durability.
      attrs: UblkAttr.VOLATILE_CACHE | UblkAttr.FUA | (volume.writable ? 0 : UblkAttr.READ_ONLY),
      logicalBsShift: 9,
      physicalBsShift: 12,
      ioMinShift: 12,
      ioOptShift: 12,
      maxSectors: Math.floor(info.maxIoBytes / SECTOR_BYTES),
      devSectors: Math.floor(volume.sizeBytes / SECTOR_BYTES),
      discardGranularity: 4096,
      maxDiscardSectors,
      maxWriteZeroesSectors: maxDiscardSectors,
    };
  }

  /**
   * No IO scheduler: the kernel gives a single-queue device mq-deadline,
   * which holds writes back to sort them; for marsd, whose log appends in
   * arrival order anyway, that only costs latency (measured in the VM: 4k
   * random writes at QD32 2.5x slower). The NBD device has none either.
   * Best effort: a kernel without the knob still works.
   */
  private static async chooseScheduler(devId: number, logger: Logger): Promise<void> {
    const knob = `/sys/block/ublkb${devId}/queue/scheduler`;
    await writeSysfsAttribute(knob, "none").catch((err: unknown) =>
      logger.warn({ err, devId }, "could not switch the ublk device's IO scheduler off"),
    );
  }

  /** DEL_DEV_ASYNC where the kernel has it (never blocks on a device still held open), else DEL_DEV. */
  private static async delete(addon: UblkAddon, devId: number): Promise<void> {
    try {
      await addon.deleteDevice(devId, true);
    } catch (err) {
      const name = errnoName(err);
      if (name !== "EOPNOTSUPP" && name !== "EINVAL" && name !== "ENOTTY") throw err;
      await addon.deleteDevice(devId, false);
    }
  }

  /** Clean stop: the device disappears. Idempotent. */
  remove(): Promise<void> {
    this.removed ??= this.doRemove();
    return this.removed;
  }

  private async doRemove(): Promise<void> {
    const { addon, logger, volume } = this.ctx;
    this.queues.expectExit();
    try {
      // Blocks until in-flight IO is answered (the queues keep serving), then aborts every fetch.
      await addon.stopDevice(this.devId);
    } catch (err) {
      logger.warn({ err, devId: this.devId }, "ublk STOP_DEV failed");
    }
    await this.queues.close();
    try {
      await UblkDevice.delete(addon, this.devId);
    } catch (err) {
      if (errnoName(err) !== "ENODEV") throw err;
    }
    logger.info({ resource: volume.name, devId: this.devId }, "ublk device removed");
  }
}

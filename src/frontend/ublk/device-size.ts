/**
 * The size of a live ublk device after its volume grew (resource.resize on
 * the primary, or a device taken over after a crash that is smaller than
 * the volume, which grew meanwhile).
 *
 * Contract:
 * - A device is only ever grown to the volume's size, in whole sectors;
 *   never shrunk (volumes do not shrink).
 * - UPDATE_SIZE is sent only to a device the kernel added with
 *   UBLK_F_UPDATE_SIZE (Linux >= 6.16; device.ts requests it at ADD_DEV
 *   whenever GET_FEATURES offers it). Without it the device keeps its size
 *   until it is created again (docs/ublk.md, "Growing a resource").
 * - The volume has accepted IO up to its new end before this runs, so the
 *   kernel never sends IO the volume would refuse.
 * - Never throws: the grow is already durable and complete; a refused
 *   UPDATE_SIZE is logged and reported ("failed"). Every outcome is logged
 *   once and the device's size goes to the observer
 *   (marsd_ublk_device_size_bytes).
 */
import type { Logger } from "pino";
import type { BlockVolume } from "../../resource/block-volume.js";
import { SECTOR_BYTES, UblkFeature } from "./abi.js";
import { errnoName, type UblkAddon } from "./native.js";
import type { UblkObserver } from "./observer.js";

/** What became of a device's size: "unsupported" = the kernel cannot change it live. */
export type UblkResizeOutcome = "unchanged" | "updated" | "unsupported" | "failed";

export interface UblkResizeResult {
  outcome: UblkResizeOutcome;
  /** The device's size as the kernel knows it afterwards. */
  deviceBytes: number;
}

export interface LiveDevice {
  addon: UblkAddon;
  devId: number;
  /** UblkFeature bits the kernel accepted at ADD_DEV (GET_DEV_INFO's flags). */
  flags: number;
  /** The device's current size in bytes (a multiple of SECTOR_BYTES). */
  deviceBytes: number;
  volume: BlockVolume;
  logger: Logger;
  observer: UblkObserver;
}

/** Whether the kernel lets this device change its size while it runs. */
export function canUpdateSize(flags: number): boolean {
  return (flags & UblkFeature.UPDATE_SIZE) !== 0;
}

/** The device size a volume asks for: whole sectors (volumes are 4 KiB aligned anyway). */
export function deviceBytesFor(volume: BlockVolume): number {
  return Math.floor(volume.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
}

/** Grows the device to its volume's size where the kernel can (see the contract). */
export async function followVolumeSize(d: LiveDevice): Promise<UblkResizeResult> {
  const wantedBytes = deviceBytesFor(d.volume);
  const context = {
    resource: d.volume.name,
    devId: d.devId,
    deviceBytes: d.deviceBytes,
    volumeBytes: wantedBytes,
  };
  if (wantedBytes <= d.deviceBytes) return { outcome: "unchanged", deviceBytes: d.deviceBytes };
  if (!canUpdateSize(d.flags)) {
    d.logger.warn(
      context,
      "ublk device keeps its size: this kernel cannot change a live ublk device's size (Linux >= 6.16 can); the device shows the new size once it is created again (docs/ublk.md)",
    );
    return { outcome: "unsupported", deviceBytes: d.deviceBytes };
  }
  try {
    await d.addon.updateSize(d.devId, wantedBytes / SECTOR_BYTES);
  } catch (err) {
    d.logger.error(
      { ...context, err, errno: errnoName(err) },
      "ublk UPDATE_SIZE failed: the device keeps its size",
    );
    return { outcome: "failed", deviceBytes: d.deviceBytes };
  }
  d.observer.deviceSize(wantedBytes);
  d.logger.info(
    { ...context, deviceBytes: wantedBytes, previousBytes: d.deviceBytes },
    "ublk device size updated",
  );
  return { outcome: "updated", deviceBytes: wantedBytes };
}

/** One device's size: reported at once, changed one UPDATE_SIZE at a time. */
export class UblkDeviceSize {
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly device: LiveDevice) {
    device.observer.deviceSize(device.deviceBytes);
  }

  follow(): Promise<UblkResizeResult> {
    const next = this.changes.then(async () => {
      const result = await followVolumeSize(this.device);
      this.device.deviceBytes = result.deviceBytes;
      return result;
    });
    this.changes = next;
    return next;
  }
}

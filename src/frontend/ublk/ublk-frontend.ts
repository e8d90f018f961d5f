/**
 * The ublk frontend: each attached volume becomes /dev/ublkbN, served by
 * the native addon's queue threads with every decision made here. A clean
 * detach removes the device; a crash leaves it to the next daemon process,
 * which takes it over (see device.ts).
 */
import type { Logger } from "pino";
import type { Clock } from "../../platform/clock.js";
import type { Random } from "../../platform/random.js";
import type { Storage } from "../../platform/storage/types.js";
import type { BlockVolume } from "../../resource/block-volume.js";
import type { DeviceInfo, Frontend } from "../frontend.js";
import { DEFAULT_UBLK_OPTIONS, UblkDevice, validateUblkOptions, type UblkOptions } from "./device.js";
import type { UblkAddon } from "./native.js";
import { UNOBSERVED, type UblkObserver } from "./observer.js";

export class UblkFrontend implements Frontend {
  readonly kind = "ublk" as const;
  private readonly devices = new Map<string, UblkDevice>();
  /** Attaches in progress, so a second attach of the same volume waits for the first. */
  private readonly attaching = new Map<string, Promise<UblkDevice>>();

  constructor(
    private readonly addon: UblkAddon,
    private readonly logger: Logger,
    private readonly time: Clock,
    private readonly storage: Storage,
    private readonly random: Random,
    private readonly options: UblkOptions = DEFAULT_UBLK_OPTIONS,
    /** The observer of each resource's device (the daemon's metrics). */
    private readonly observerFor: (resource: string) => UblkObserver = () => UNOBSERVED,
  ) {
    validateUblkOptions(options);
  }

  async attach(volume: BlockVolume, stateDir: string): Promise<DeviceInfo> {
    const existing = this.devices.get(volume.name);
    if (existing) return this.describe(existing);
    let pending = this.attaching.get(volume.name);
    if (!pending) {
      pending = UblkDevice.attach({
        addon: this.addon,
        volume,
        stateDir,
        options: this.options,
        logger: this.logger,
        time: this.time,
        storage: this.storage,
        random: this.random,
        observer: this.observerFor(volume.name),
      });
      this.attaching.set(volume.name, pending);
    }
    try {
      const device = await pending;
      this.devices.set(volume.name, device);
      return this.describe(device);
    } finally {
      this.attaching.delete(volume.name);
    }
  }

  async detach(name: string): Promise<void> {
    // A detach racing an attach removes what the attach produces.
    const pending = this.attaching.get(name);
    if (pending) await pending.catch(() => undefined);
    const device = this.devices.get(name);
    if (!device) return;
    this.devices.delete(name);
    await device.remove();
  }

  /** The volume grew (resource.resize): the device follows where the kernel can (device-size.ts). */
  async resized(name: string): Promise<void> {
    const pending = this.attaching.get(name);
    if (pending) await pending.catch(() => undefined); // an attach reads the new size itself
    await this.devices.get(name)?.followVolume();
  }

  device(name: string): DeviceInfo | undefined {
    const device = this.devices.get(name);
    return device ? this.describe(device) : undefined;
  }

  private describe(device: UblkDevice): DeviceInfo {
    return { kind: "ublk", path: device.path, deviceId: device.devId };
  }
}

/**
 * A frontend makes a resource's volume reachable as a block device. NBD
 * and ublk implement this one interface over the same BlockVolume, so the
 * daemon treats them alike.
 */
import type { BlockVolume } from "../resource/block-volume.js";
import type { FrontendKind } from "../resource/resource-config.js";

export type { FrontendKind };

export type DeviceInfo =
  | { kind: "nbd"; export: string; uri: string; tcpUri?: string }
  | { kind: "ublk"; path: string; deviceId: number };

export interface Frontend {
  readonly kind: FrontendKind;
  /** Starts serving the volume. `stateDir` is the resource's directory, for anything that must survive a restart. */
  attach(volume: BlockVolume, stateDir: string): Promise<DeviceInfo>;
  /** Stops serving a volume: clients are answered and disconnected (NBD) or the device removed (ublk). */
  detach(name: string): Promise<void>;
  /**
   * An attached volume grew (resource.resize): make the device show it.
   * Never throws. NBD needs none: each new connection reads the size.
   */
  resized?(name: string): Promise<void>;
  /** How clients reach an attached volume. */
  device(name: string): DeviceInfo | undefined;
}

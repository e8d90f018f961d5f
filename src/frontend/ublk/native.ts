/**
 * Loads the native addon (native/, built by node-gyp at install time) and
 * describes its interface. The addon does kernel plumbing only: control
 * commands, queue threads, buffers. Failing to load it is not an error of
 * the daemon: the ublk frontend is then unavailable and NBD serves.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { getSystemErrorName } from "node:util";
import { MarsError } from "../../util/errors.js";

export interface UblkDevInfo {
  devId: number;
  queues: number;
  depth: number;
  /** UblkState */
  state: number;
  maxIoBytes: number;
  /** The server process the kernel knows (START_DEV / END_USER_RECOVERY). */
  pid: number;
  /** UblkFeature bits the kernel accepted. */
  flags: number;
  /** Our own mark, stored by the kernel at ADD_DEV (ublksrv_flags). */
  ownerTag: number;
}

export interface UblkAddParams {
  /** -1: the kernel picks a free id. */
  devId: number;
  queues: number;
  depth: number;
  maxIoBytes: number;
  flags: number;
  ownerTag: number;
}

export interface UblkParams {
  attrs: number;
  logicalBsShift: number;
  physicalBsShift: number;
  ioMinShift: number;
  ioOptShift: number;
  maxSectors: number;
  devSectors: number;
  discardGranularity: number;
  maxDiscardSectors: number;
  maxWriteZeroesSectors: number;
}

export interface UblkParamsRead {
  attrs: number;
  logicalBsShift: number;
  physicalBsShift: number;
  maxSectors: number;
  devSectors: number;
  maxDiscardSectors: number;
  maxWriteZeroesSectors: number;
}

/** Event kinds reported by a queue thread. */
export const QueueEventKind = { IO: 0, READY: 1, ERROR: 2, EXIT: 3 } as const;

/**
 * onEvent(qid, kind, ios, message): for IO, `ios` holds 4 numbers per
 * request: tag, op_flags, nr_sectors, start_sector.
 */
export type QueueEventHandler = (
  qid: number,
  kind: number,
  ios: Float64Array | undefined,
  message: string | undefined,
) => void;

export interface NativeQueues {
  /** Opens /dev/ublkcN and starts the threads; returns each queue's data buffers (tag t at t * bufBytes). */
  start(): ArrayBuffer[];
  /** Hands results back: [tag, result, tag, result, ...]. Throws if a tag is not waiting for one. */
  complete(qid: number, results: Int32Array): void;
  /** Stops and joins the threads, closes /dev/ublkcN. */
  close(): Promise<void>;
}

export interface UblkAddon {
  getFeatures(): Promise<number>;
  addDevice(params: UblkAddParams): Promise<UblkDevInfo>;
  getDeviceInfo(devId: number): Promise<UblkDevInfo>;
  setParams(devId: number, params: UblkParams): Promise<void>;
  getParams(devId: number): Promise<UblkParamsRead>;
  startDevice(devId: number): Promise<void>;
  stopDevice(devId: number): Promise<void>;
  deleteDevice(devId: number, async: boolean): Promise<void>;
  startRecovery(devId: number): Promise<void>;
  endRecovery(devId: number): Promise<void>;
  /** UPDATE_SIZE: only for a started device added with UblkFeature.UPDATE_SIZE. */
  updateSize(devId: number, devSectors: number): Promise<void>;
  Queues: new (
    devId: number,
    queues: number,
    depth: number,
    bufBytes: number,
    onEvent: QueueEventHandler,
  ) => NativeQueues;
}

export const DEFAULT_ADDON_PATH = fileURLToPath(
  new URL("../../../../native/build/Release/marsd_ublk.node", import.meta.url),
);

export type AddonLoad = { ok: true; addon: UblkAddon } | { ok: false; reason: string };

export function loadUblkAddon(file = DEFAULT_ADDON_PATH): AddonLoad {
  try {
    const require = createRequire(import.meta.url);
    return { ok: true, addon: require(file) as UblkAddon };
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return {
      ok: false,
      reason: `the ublk addon could not be loaded (${message}); build it with native/build.sh (needs liburing-dev)`,
    };
  }
}

/** The kernel's ublk driver refused, or a device cannot be created, started or taken over. */
export class UblkError extends MarsError {
  constructor(message: string) {
    super("UBLK_FAILED", message);
  }
}

/** The errno name of an addon error ("ENODEV"), or undefined for other errors. */
export function errnoName(err: unknown): string | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === "number" && errno > 0 ? getSystemErrorName(-errno) : undefined;
}

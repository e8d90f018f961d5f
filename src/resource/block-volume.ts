/**
 * What a frontend (NBD, ublk) sees of a resource: byte-addressed IO with
 * durable writes. Every frontend maps its commands onto exactly these
 * operations, so both have the same semantics.
 *
 * Errors: OutOfRangeError for requests outside the volume, ReadOnlyError
 * when the volume does not accept writes (secondary, fenced), ClosedError
 * while it is stopping, VolumeFailedError after a fatal failure, anything
 * else is an IO failure.
 */
import { MarsError } from "../util/errors.js";

export interface BlockVolume {
  readonly name: string;
  readonly sizeBytes: number;
  /** False on a secondary or while the resource is stopping. */
  readonly writable: boolean;
  /** Fills `target` with the bytes at offsetBytes. */
  read(offsetBytes: number, target: Uint8Array): Promise<void>;
  /**
   * Resolves when the write is durable (in the log) and visible to reads:
   * FUA is implied. The volume may keep a reference to `data` after that
   * (it is applied to the disk in the background): callers that reuse the
   * buffer must pass a copy.
   */
  write(offsetBytes: number, data: Uint8Array): Promise<void>;
  /** Like write, with zeroes. */
  writeZeroes(offsetBytes: number, lengthBytes: number): Promise<void>;
  /** Advisory discard; content of the range is unspecified afterwards. */
  trim(offsetBytes: number, lengthBytes: number): Promise<void>;
  /** Resolves when every write completed before this call is durable. */
  flush(): Promise<void>;
}

export class ReadOnlyError extends MarsError {
  constructor(message: string) {
    super("READ_ONLY", message);
  }
}

/**
 * The resource behind the volume failed for good (its log or disk): writes
 * are refused until the daemon restarts and recovers. Frontends answer EIO.
 */
export class VolumeFailedError extends MarsError {
  constructor(message: string) {
    super("VOLUME_FAILED", message);
  }
}

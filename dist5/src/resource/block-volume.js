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
export class ReadOnlyError extends MarsError {
    constructor(message) {
        super("READ_ONLY", message);
    }
}
/**
 * The resource behind the volume failed for good (its log or disk): writes
 * are refused until the daemon restarts and recovers. Frontends answer EIO.
 */
export class VolumeFailedError extends MarsError {
    constructor(message) {
        super("VOLUME_FAILED", message);
    }
}
//# sourceMappingURL=block-volume.js.map
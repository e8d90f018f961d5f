/**
 * What one ublk request means for the volume, and what the kernel is told
 * back. The mapping and its semantics are those of the NBD frontend:
 * BlockVolume.write resolves only once the data is durable, so every
 * acknowledged write (FUA or not) is durable and FLUSH only has to wait for
 * the log's queue. Never rejects: every failure becomes a -errno result.
 */
import { constants } from "node:os";
import { ReadOnlyError } from "../../resource/block-volume.js";
import { ClosedError, OutOfRangeError } from "../../util/errors.js";
import { SECTOR_BYTES, UblkOp } from "./abi.js";
const { EINVAL, EIO, ENOSPC, EOPNOTSUPP, EPERM } = constants.errno;
/** Linux's value; Node's os.constants.errno does not list it. */
const ESHUTDOWN = 108;
export class UblkIoHandler {
    volume;
    logError;
    constructor(volume, logError) {
        this.volume = volume;
        this.logError = logError;
    }
    /** Serves one request: bytes transferred for READ/WRITE, 0 for the others, or -errno. */
    async serve(request) {
        const op = request.opFlags & 0xff;
        if (op === UblkOp.FLUSH)
            return this.run(op, () => this.volume.flush(), 0);
        // (A flush carries no range: its start sector is whatever the block layer left there.)
        const offset = request.startSector * SECTOR_BYTES;
        const length = request.nrSectors * SECTOR_BYTES;
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(offset + length))
            return -EINVAL;
        try {
            switch (op) {
                case UblkOp.READ:
                    if (length > request.buffer.length)
                        return -EINVAL;
                    await this.volume.read(offset, request.buffer.subarray(0, length));
                    return length;
                case UblkOp.WRITE:
                    if (length > request.buffer.length)
                        return -EINVAL;
                    // The one copy on this path. The tag's buffer is handed to the
                    // kernel again as soon as this result is committed, but the volume
                    // may keep the data after write() resolved (it applies to the
                    // backing disk in the background), so it gets its own copy.
                    await this.volume.write(offset, Buffer.from(request.buffer.subarray(0, length)));
                    return length;
                case UblkOp.DISCARD:
                    await this.volume.trim(offset, length);
                    return 0;
                case UblkOp.WRITE_ZEROES:
                    await this.volume.writeZeroes(offset, length);
                    return 0;
                default:
                    return -EOPNOTSUPP;
            }
        }
        catch (err) {
            return this.errnoFor(err, op);
        }
    }
    async run(op, action, result) {
        try {
            await action();
            return result;
        }
        catch (err) {
            return this.errnoFor(err, op);
        }
    }
    errnoFor(err, op) {
        if (err instanceof OutOfRangeError) {
            return op === UblkOp.WRITE || op === UblkOp.WRITE_ZEROES ? -ENOSPC : -EINVAL;
        }
        if (err instanceof ReadOnlyError)
            return -EPERM;
        if (err instanceof ClosedError)
            return -ESHUTDOWN;
        this.logError(err, { volume: this.volume.name, op });
        return -EIO;
    }
}
//# sourceMappingURL=io-handler.js.map
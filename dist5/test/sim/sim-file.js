import { posixError } from "./sim-disk.js";
import { SECTOR_BYTES } from "./sim-nodes.js";
/** An open file of a SimStorage. */
export class SimFile {
    storage;
    node;
    path;
    readOnly;
    syncWrites;
    closed = false;
    constructor(storage, node, path, readOnly, syncWrites) {
        this.storage = storage;
        this.node = node;
        this.path = path;
        this.readOnly = readOnly;
        this.syncWrites = syncWrites;
    }
    read(target, positionBytes) {
        return this.operation("read", false, () => this.node.read(target, positionBytes));
    }
    writev(buffers, positionBytes) {
        return this.operation("writev", true, () => {
            const lengthBytes = buffers.reduce((n, b) => n + b.length, 0);
            // Out of space, Linux writes what fits and then fails (a short write, then ENOSPC).
            const endBytes = Math.min(positionBytes + lengthBytes, this.writableEndBytes());
            let at = positionBytes;
            for (const b of buffers) {
                if (at >= endBytes)
                    break;
                this.node.write(b.subarray(0, endBytes - at), at, this.storage.nowMs);
                at += b.length;
            }
            if (endBytes > positionBytes) {
                this.node.lastWrite = { offsetBytes: positionBytes, lengthBytes: endBytes - positionBytes };
            }
            if (endBytes < positionBytes + lengthBytes)
                throw posixError("ENOSPC", "writev", this.path);
            if (this.syncWrites)
                return this.sync(positionBytes, positionBytes + lengthBytes);
        });
    }
    writeRanges(ranges) {
        return this.operation("writeRanges", true, () => {
            const endBytes = ranges.reduce((n, r) => Math.max(n, r.offsetBytes + r.lengthBytes), 0);
            this.checkWrite("writeRanges", endBytes);
            for (const r of ranges) {
                this.node.write(r.data ?? new Uint8Array(r.lengthBytes), r.offsetBytes, this.storage.nowMs);
                this.node.lastWrite = { offsetBytes: r.offsetBytes, lengthBytes: r.lengthBytes };
            }
        });
    }
    datasync() {
        // Its faults are injected by sync(), which must drop the unsynced data when it fails.
        return this.operation("datasync", false, () => this.sync(0, Infinity), false);
    }
    truncate(lengthBytes) {
        return this.operation("truncate", true, () => {
            if (this.node.kind === "block-device")
                throw posixError("EINVAL", "ftruncate", this.path);
            this.checkWrite("truncate", lengthBytes);
            this.node.truncate(lengthBytes, this.storage.nowMs);
        });
    }
    sizeBytes() {
        return this.operation("read", false, () => this.node.sizeBytes);
    }
    close() {
        return this.storage.operation("open", this.path, () => {
            this.closed = true;
        }, false);
    }
    operation(op, writes, effect, injectFault = true) {
        return this.storage.operation(op, this.path, () => {
            if (this.closed || (writes && this.readOnly))
                throw posixError("EBADF", op, this.path);
            return effect();
        }, injectFault);
    }
    /** How far this file can be written before the disk (or the device) is full. */
    writableEndBytes() {
        if (this.node.kind === "block-device")
            return this.node.sizeBytes;
        const allocatedBytes = Math.ceil(this.node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
        return allocatedBytes + Math.floor(this.storage.freeBytes() / SECTOR_BYTES) * SECTOR_BYTES;
    }
    checkWrite(op, endBytes) {
        if (this.node.kind === "block-device") {
            if (endBytes > this.node.sizeBytes)
                throw posixError("ENOSPC", op, this.path);
            return;
        }
        const grow = Math.ceil(endBytes / SECTOR_BYTES) * SECTOR_BYTES -
            Math.ceil(this.node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
        this.storage.checkSpace(grow, op, this.path);
    }
    /** Makes [fromBytes, toBytes) durable (Infinity: every dirty sector), or drops it if the sync fails. */
    sync(fromBytes, toBytes) {
        return this.storage.afterSlowSync(this.path, () => {
            const fault = this.storage.fault("datasync", this.path);
            if (fault) {
                // Linux marks the pages clean after a failed writeback: they are gone at the next eviction.
                this.node.dropUnsynced();
                throw fault;
            }
            this.node.makeDurable(fromBytes, toBytes);
        });
    }
}
//# sourceMappingURL=sim-file.js.map
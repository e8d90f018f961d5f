export const SECTOR_BYTES = 512;
export class DirNode {
    inode;
    entries = new Map();
    /** The entries a crash leaves (as of the last syncDirectory). */
    durableEntries = new Map();
    modifiedMs = 0;
    constructor(inode) {
        this.inode = inode;
    }
}
export class FileNode {
    inode;
    kind;
    data = new Uint8Array(0);
    size = 0;
    durable = new Uint8Array(0);
    durableSize = 0;
    dirty = new Set();
    /** The last write not yet durable: the one a "last-write" tear cuts. */
    lastWrite;
    modifiedMs = 0;
    constructor(inode, kind, 
    /** Block devices have a fixed size and start zeroed (and durable). */
    deviceSizeBytes = 0) {
        this.inode = inode;
        this.kind = kind;
        if (kind === "block-device") {
            this.size = deviceSizeBytes;
            this.durableSize = deviceSizeBytes;
            this.data = new Uint8Array(deviceSizeBytes);
            this.durable = new Uint8Array(deviceSizeBytes);
        }
    }
    get sizeBytes() {
        return this.size;
    }
    /** Sectors written but not yet durable (for tests and metrics of the simulator). */
    get dirtySectors() {
        return this.dirty.size;
    }
    read(target, positionBytes) {
        const n = Math.max(0, Math.min(target.length, this.size - positionBytes));
        target.set(this.data.subarray(positionBytes, positionBytes + n));
        return n;
    }
    readAll() {
        // A Buffer, as Node's readFile gives (callers decode it with toString).
        return Buffer.from(this.data.subarray(0, this.size));
    }
    write(bytes, atBytes, nowMs) {
        if (bytes.length === 0)
            return;
        const end = atBytes + bytes.length;
        this.data = grow(this.data, end);
        this.data.set(bytes, atBytes);
        this.size = Math.max(this.size, end);
        this.markDirty(atBytes, end);
        this.modifiedMs = nowMs;
    }
    truncate(lengthBytes, nowMs) {
        if (lengthBytes < this.size) {
            this.data.fill(0, lengthBytes, this.size);
            const firstGone = Math.ceil(lengthBytes / SECTOR_BYTES);
            for (const s of [...this.dirty])
                if (s >= firstGone)
                    this.dirty.delete(s);
            if (lengthBytes % SECTOR_BYTES !== 0)
                this.dirty.add(Math.floor(lengthBytes / SECTOR_BYTES));
        }
        else {
            this.data = grow(this.data, lengthBytes);
        }
        this.size = lengthBytes;
        this.modifiedMs = nowMs;
    }
    /** Copies the dirty sectors overlapping [fromBytes, toBytes) to the durable image. */
    makeDurable(fromBytes, toBytes) {
        const whole = toBytes === Infinity;
        const first = Math.floor(fromBytes / SECTOR_BYTES);
        const last = whole ? Infinity : Math.ceil(toBytes / SECTOR_BYTES) - 1;
        for (const s of [...this.dirty]) {
            if (s < first || s > last)
                continue;
            this.persistSector(s);
            this.dirty.delete(s);
        }
        if (whole) {
            this.setDurableSize(this.size);
            this.lastWrite = undefined;
        }
        else {
            this.setDurableSize(Math.max(this.durableSize, Math.min(this.size, toBytes)));
            const w = this.lastWrite;
            if (w && w.offsetBytes >= fromBytes && w.offsetBytes + w.lengthBytes <= toBytes)
                this.lastWrite = undefined;
        }
    }
    /** After a failed sync: what was not durable is gone (reads see the durable image again). */
    dropUnsynced() {
        for (const s of this.dirty) {
            const start = s * SECTOR_BYTES;
            this.data.set(this.durable.subarray(start, Math.min(start + SECTOR_BYTES, this.durable.length)), start);
        }
        this.dirty.clear();
        if (this.size > this.durableSize)
            this.data.fill(0, this.durableSize, this.size);
        this.data = grow(this.data, this.durableSize);
        this.size = this.durableSize;
        this.lastWrite = undefined;
    }
    /** Power loss: some unsynced sectors may reach the disk (`tear`), then only the durable image is left. */
    loseVolatile(tear, random) {
        if (tear === "last-write" && this.lastWrite && this.dirty.size > 0) {
            const { offsetBytes, lengthBytes } = this.lastWrite;
            const end = offsetBytes + lengthBytes;
            // Possible cuts: nothing, every sector boundary inside the write, all of it.
            const cuts = [offsetBytes];
            for (let b = (Math.floor(offsetBytes / SECTOR_BYTES) + 1) * SECTOR_BYTES; b < end; b += SECTOR_BYTES) {
                cuts.push(b);
            }
            cuts.push(end);
            const cut = cuts[Math.floor(random() * cuts.length)];
            if (cut > offsetBytes) {
                const lastSector = Math.ceil(cut / SECTOR_BYTES) - 1;
                for (let s = Math.floor(offsetBytes / SECTOR_BYTES); s <= lastSector; s++) {
                    if (this.dirty.has(s))
                        this.persistSector(s);
                }
                this.setDurableSize(Math.max(this.durableSize, Math.min(this.size, cut)));
            }
        }
        else if (tear === "any-sectors") {
            for (const s of [...this.dirty].sort((a, b) => a - b)) {
                if (random() < 0.5)
                    continue;
                this.persistSector(s);
                this.setDurableSize(Math.max(this.durableSize, Math.min(this.size, (s + 1) * SECTOR_BYTES)));
            }
        }
        this.dirty.clear();
        this.lastWrite = undefined;
        this.size = this.durableSize;
        // A torn sector may reach past the durable end; those bytes were never part of the file.
        this.durable.fill(0, this.durableSize);
        this.data = grow(new Uint8Array(0), this.durable.length);
        this.data.set(this.durable);
    }
    markDirty(fromBytes, toBytes) {
        const last = Math.ceil(toBytes / SECTOR_BYTES) - 1;
        for (let s = Math.floor(fromBytes / SECTOR_BYTES); s <= last; s++)
            this.dirty.add(s);
    }
    persistSector(s) {
        const start = s * SECTOR_BYTES;
        const end = Math.min(start + SECTOR_BYTES, this.data.length);
        this.durable = grow(this.durable, end);
        this.durable.set(this.data.subarray(start, end), start);
    }
    setDurableSize(sizeBytes) {
        // Bytes beyond the durable size read as zeroes if the file grows again.
        if (sizeBytes < this.durableSize)
            this.durable.fill(0, sizeBytes, this.durableSize);
        this.durable = grow(this.durable, sizeBytes);
        this.durableSize = sizeBytes;
    }
}
/** `buf` with room for at least `minBytes` (doubling, zero-filled). */
function grow(buf, minBytes) {
    if (buf.length >= minBytes)
        return buf;
    const bigger = new Uint8Array(Math.max(minBytes, buf.length * 2, 4096));
    bigger.set(buf);
    return bigger;
}
//# sourceMappingURL=sim-nodes.js.map
import { invariant } from "../util/assert.js";
import { deferred } from "../util/deferred.js";
import { ClosedError, OutOfRangeError, errorMessage, isErrno } from "../util/errors.js";
import { CRC_BYTES, DIRTY_MAP_BLOCK_BYTES, DIRTY_MAP_REGIONS_PER_BLOCK, DirtyMapFailedError, DirtyMapHeaderError, POPCOUNT, allRegionsSet, blockIntact, checkHeader, createMapFile, dirtyRuns, encodeBlocks, forEachRegionByte, geometryOf, maskAndCount, readExactly, regionIsSet, } from "./dirty-map-format.js";
export { DEFAULT_DIRTY_MAP_GRANULARITY_BYTES, DIRTY_MAP_BLOCK_BYTES, DIRTY_MAP_REGIONS_PER_BLOCK, DirtyMapFailedError, DirtyMapHeaderError, MAX_DIRTY_MAP_GRANULARITY_BYTES, MAX_DIRTY_MAP_REGIONS, MIN_DIRTY_MAP_GRANULARITY_BYTES, dirtyMapGranularityProblem, } from "./dirty-map-format.js";
const RESOLVED = Promise.resolve();
export class DirtyMap {
    path;
    file;
    geometry;
    time;
    observer;
    /** The bits as they are, in the file's block layout (CRC slots unused). */
    memory;
    /** The bits known durable and kept so (a subset of `memory`): the fast path reads these. */
    durable;
    /** 1 for blocks changed since the last flush took its snapshot. */
    pendingFlags;
    pendingBlocks = [];
    /** The flush writing now, and the one that will write the pending blocks. */
    inFlight;
    next;
    failure;
    closing;
    regionsSet = 0;
    regionCount;
    granularityBytes;
    diskBytes;
    constructor(path, file, geometry, time, observer) {
        this.path = path;
        this.file = file;
        this.geometry = geometry;
        this.time = time;
        this.observer = observer;
        this.regionCount = geometry.regionCount;
        this.granularityBytes = geometry.granularityBytes;
        this.diskBytes = geometry.diskBytes;
        this.memory = new Uint8Array(geometry.blockCount * DIRTY_MAP_BLOCK_BYTES);
        this.durable = new Uint8Array(this.memory.length);
        this.pendingFlags = new Uint8Array(geometry.blockCount);
    }
    /**
     * Opens the map at `file`, creating it (all clean) if it does not exist.
     * Throws DirtyMapHeaderError for a damaged or mismatching header, the
     * errno error for failed IO; corrupt blocks become all dirty (observer).
     */
    static async open(storage, file, options) {
        const geometry = geometryOf(options.diskBytes, options.granularityBytes);
        let handle;
        try {
            handle = await storage.open(file, "readwrite");
        }
        catch (err) {
            if (!isErrno(err, "ENOENT"))
                throw err;
            await createMapFile(storage, file, geometry);
            handle = await storage.open(file, "readwrite");
        }
        const map = new DirtyMap(file, handle, geometry, options.time, options.observer);
        try {
            await map.load();
        }
        catch (err) {
            await handle.close().catch(() => undefined);
            throw err;
        }
        return map;
    }
    /** Size of the map file. */
    get mapBytes() {
        return (this.geometry.blockCount + 1) * DIRTY_MAP_BLOCK_BYTES;
    }
    /** Bytes of the disk in dirty regions (the last region clipped to the disk end). */
    get dirtyBytes() {
        const last = this.regionCount - 1;
        const clip = regionIsSet(this.memory, last)
            ? this.regionCount * this.granularityBytes - this.diskBytes
            : 0;
        return this.regionsSet * this.granularityBytes - clip;
    }
    /** The error the map failed with, if it did. */
    get failedWith() {
        return this.failure;
    }
    /** Marks the regions covering the range dirty; resolves once that is durable. */
    mark(offsetBytes, lengthBytes) {
        return this.refusal(offsetBytes, lengthBytes) ?? this.setAndWait(offsetBytes, lengthBytes);
    }
    /** mark() for many ranges, durable together (nothing is marked if one is out of range). */
    markRanges(ranges) {
        for (const r of ranges) {
            const refused = this.refusal(r.offsetBytes, r.lengthBytes);
            if (refused)
                return refused;
        }
        let wait = RESOLVED;
        for (const r of ranges) {
            const flush = this.setAndWait(r.offsetBytes, r.lengthBytes);
            // The next flush ends after the running one: waiting for it covers both.
            if (flush !== RESOLVED && wait !== this.next?.promise)
                wait = flush;
        }
        return wait;
    }
    /** True when every byte of the range lies in a dirty region (true for an empty range). */
    isDirty(offsetBytes, lengthBytes) {
        const outside = this.outOfRange(offsetBytes, lengthBytes);
        if (outside)
            throw outside;
        if (lengthBytes === 0)
            return true;
        const g = this.granularityBytes;
        return allRegionsSet(this.memory, Math.floor(offsetBytes / g), Math.floor((offsetBytes + lengthBytes - 1) / g));
    }
    /** The dirty regions as merged runs, in disk order, clipped to the disk end. */
    regions() {
        return dirtyRuns(this.memory, this.geometry);
    }
    /** Clears every region; resolves once that is durable. */
    clear() {
        return this.clearRange(0, this.diskBytes);
    }
    /** Clears the regions lying entirely inside the range; resolves once that is durable. */
    clearRange(offsetBytes, lengthBytes) {
        const refused = this.refusal(offsetBytes, lengthBytes);
        if (refused)
            return refused;
        const g = this.granularityBytes;
        const endBytes = offsetBytes + lengthBytes;
        const first = Math.ceil(offsetBytes / g);
        const last = (endBytes === this.diskBytes ? this.regionCount : Math.floor(endBytes / g)) - 1;
        if (last < first)
            return RESOLVED;
        this.clearBits(first, last);
        return this.waitFor(first, last);
    }
    /** Lets the flushes already due finish, then closes the file; later calls are refused (ClosedError). */
    close() {
        this.closing ??= (async () => {
            for (let due = this.next ?? this.inFlight; due; due = this.next ?? this.inFlight) {
                await due.promise.catch(() => undefined);
            }
            await this.file.close();
        })();
        return this.closing;
    }
    refusal(offsetBytes, lengthBytes) {
        if (this.failure)
            return Promise.reject(this.failure);
        if (this.closing)
            return Promise.reject(new ClosedError(`dirty map ${this.path} is closed`));
        const outside = this.outOfRange(offsetBytes, lengthBytes);
        return outside ? Promise.reject(outside) : undefined;
    }
    outOfRange(offsetBytes, lengthBytes) {
        const integers = Number.isSafeInteger(offsetBytes) && Number.isSafeInteger(lengthBytes);
        if (integers && offsetBytes >= 0 && lengthBytes >= 0 && offsetBytes + lengthBytes <= this.diskBytes) {
            return undefined;
        }
        return new OutOfRangeError(`${offsetBytes}+${lengthBytes} is outside the ${this.diskBytes}-byte disk`);
    }
    /** The fast path (durable already: no IO, no allocation) or set the bits and join a flush. */
    setAndWait(offsetBytes, lengthBytes) {
        if (lengthBytes === 0)
            return RESOLVED;
        const first = Math.floor(offsetBytes / this.granularityBytes);
        const last = Math.floor((offsetBytes + lengthBytes - 1) / this.granularityBytes);
        if (allRegionsSet(this.durable, first, last))
            return RESOLVED;
        this.setRegions(first, last);
        return this.waitFor(first, last);
    }
    clearBits(first, last) {
        forEachRegionByte(first, last, (index, mask, block) => {
            const cleared = this.memory[index] & mask;
            if (cleared === 0)
                return;
            this.memory[index] &= ~mask;
            this.durable[index] &= ~mask;
            this.regionsSet -= POPCOUNT[cleared];
            this.makePending(block);
        });
    }
    setRegions(first, last) {
        forEachRegionByte(first, last, (index, mask, block) => {
            const added = mask & ~this.memory[index];
            if (added === 0)
                return;
            this.memory[index] |= added;
            this.regionsSet += POPCOUNT[added];
            this.makePending(block);
        });
    }
    makePending(block) {
        if (this.pendingFlags[block] === 1)
            return;
        this.pendingFlags[block] = 1;
        this.pendingBlocks.push(block);
    }
    /**
     * The flush that makes the current content of regions first..last
     * durable: the next one if one of their blocks changed since the running
     * flush took its snapshot, else the running one (its snapshot holds
     * them), else none (they are durable).
     */
    waitFor(first, last) {
        const firstBlock = Math.floor(first / DIRTY_MAP_REGIONS_PER_BLOCK);
        const lastBlock = Math.floor(last / DIRTY_MAP_REGIONS_PER_BLOCK);
        for (let block = firstBlock; block <= lastBlock; block++) {
            if (this.pendingFlags[block] === 1)
                return this.nextFlush();
        }
        return this.inFlight?.promise ?? RESOLVED;
    }
    nextFlush() {
        if (!this.next) {
            const next = deferred();
            // Waiters handle the rejection; this keeps one nobody waits for from being "unhandled".
            next.promise.catch(() => undefined);
            this.next = next;
            if (!this.inFlight)
                this.time.nextTurn(() => this.startFlush());
        }
        return this.next.promise;
    }
    /** One flush: snapshot the pending blocks, write them, one fdatasync, resolve their waiters. */
    startFlush() {
        const done = this.next;
        if (this.failure || this.inFlight || !done)
            return;
        invariant(this.pendingBlocks.length > 0, "a flush is due with nothing to write");
        this.next = undefined;
        this.inFlight = done;
        const blocks = this.pendingBlocks.sort((a, b) => a - b);
        this.pendingBlocks = [];
        for (const block of blocks)
            this.pendingFlags[block] = 0;
        // A copy: marks made while the flush runs must not change what it writes (nor its CRCs).
        const { snapshot, ranges } = encodeBlocks(this.memory, blocks);
        const startMs = this.time.monotonicMs();
        this.file
            .writeRanges(ranges)
            .then(() => this.file.datasync())
            .then(() => this.flushed(blocks, snapshot, (this.time.monotonicMs() - startMs) / 1000), (err) => this.fail(err));
    }
    flushed(blocks, snapshot, seconds) {
        blocks.forEach((block, i) => {
            // Durable and still set: a bit cleared since the snapshot is pending again, and not durable.
            const base = block * DIRTY_MAP_BLOCK_BYTES;
            for (let j = CRC_BYTES; j < DIRTY_MAP_BLOCK_BYTES; j++) {
                this.durable[base + j] = snapshot[i * DIRTY_MAP_BLOCK_BYTES + j] & this.memory[base + j];
            }
        });
        const done = this.inFlight;
        this.inFlight = undefined;
        this.observer?.flushed(snapshot.length, seconds);
        done?.resolve();
        if (this.next)
            this.startFlush();
    }
    fail(err) {
        if (this.failure)
            return;
        const failure = new DirtyMapFailedError(`dirty map ${this.path}: ${errorMessage(err)}; not retried, reopen it from disk`, { cause: err });
        this.failure = failure;
        for (const waiting of [this.inFlight, this.next])
            waiting?.reject(failure);
        this.inFlight = this.next = undefined;
        this.observer?.failed(failure);
    }
    /** Reads and checks the header and every block; corrupt blocks become all dirty and are rewritten. */
    async load() {
        const header = new Uint8Array(DIRTY_MAP_BLOCK_BYTES);
        await readExactly(this.file, header, 0);
        checkHeader(header, this.geometry, this.path);
        if ((await this.file.sizeBytes()) !== this.mapBytes) {
            throw new DirtyMapHeaderError(`dirty map ${this.path} is not ${this.mapBytes} bytes long`, "size");
        }
        await readExactly(this.file, this.memory, DIRTY_MAP_BLOCK_BYTES);
        this.regionsSet = maskAndCount(this.memory, this.geometry);
        for (let block = 0; block < this.geometry.blockCount; block++) {
            if (blockIntact(this.memory, block))
                continue;
            const first = block * DIRTY_MAP_REGIONS_PER_BLOCK;
            const last = Math.min(this.regionCount, first + DIRTY_MAP_REGIONS_PER_BLOCK) - 1;
            const offsetBytes = first * this.granularityBytes;
            const lengthBytes = Math.min((last + 1) * this.granularityBytes, this.diskBytes) - offsetBytes;
            this.observer?.corruptBlock({ path: this.path, blockIndex: block, offsetBytes, lengthBytes });
            // Garbage is not bits: count it out, then set every region (not durable until rewritten below).
            this.clearBits(first, last);
            this.setRegions(first, last);
        }
        this.durable.set(this.memory);
        for (const block of this.pendingBlocks) {
            this.durable.fill(0, block * DIRTY_MAP_BLOCK_BYTES, (block + 1) * DIRTY_MAP_BLOCK_BYTES);
        }
        if (this.pendingBlocks.length > 0)
            await this.nextFlush();
    }
}
//# sourceMappingURL=dirty-map.js.map
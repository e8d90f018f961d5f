/**
 * The dirty-region map: one persisted bit per region of a disk (region =
 * granularityBytes, a power of two from 4 KiB to 64 MiB), set for every
 * region that a member must resync because the log does not carry it
 * (emergency mode writes, log files deleted under a lagging member).
 *
 * Contract:
 * - mark()/markRanges() resolve only once every bit covering the range is
 *   durable (written and fdatasync'ed). When those bits are durable already
 *   (the common case in emergency mode) they resolve without IO and
 *   without allocating: a few array reads and one shared resolved promise.
 * - Group commit: one flush at a time writes every block changed since
 *   the last one, then ONE fdatasync, and resolves every waiter whose bits
 *   it carried. A flush starts at the end of the event-loop turn that made
 *   the first change (so one turn's marks share it); changes made while a
 *   flush runs go into the next, which starts when it ends.
 * - clear()/clearRange() are durable when they resolve; clearRange clears
 *   only the regions entirely inside the range (the disk end counts as a
 *   region end), never a region it covers only in part.
 * - A failed write or fdatasync is never retried (after a failed fsync the
 *   kernel may have dropped the dirty pages; see src/log/writer.ts): the
 *   map fails, every pending and later mark/clear rejects with one
 *   DirtyMapFailedError (the errno error in `cause`), and the owner fails
 *   the resource and reopens the map from disk.
 * - Bounded: at most MAX_DIRTY_MAP_REGIONS regions; the file is
 *   `mapBytes` long, memory is twice that (the bits as they are and the
 *   bits known durable). mapBytes and dirtyBytes are the metrics. A bad
 *   geometry is a bug (InternalError): check configuration with
 *   dirtyMapGranularityProblem().
 * - For callers: mark a range and await it BEFORE writing its data to the
 *   disk (a write-intent bitmap). Written first, a crash could leave data
 *   on this disk, unacknowledged, in a region no map records, which a
 *   region resync would then never copy. Clear a region only once the
 *   member holds it and no write hit it since the resync read it.
 *
 * File layout (dirty-map-format.ts): a header block, then 4 KiB blocks of
 * a CRC32C and 4092 bytes of bits. The file is created whole under a
 * temporary name and renamed, so it exists complete or not at all.
 *
 * Why torn block writes are safe: while marking, bits only go 0 -> 1, so
 * any mix of a block's old and new sectors holds every bit that was
 * durable before the write (only bits not yet acknowledged can be lost).
 * Bits go 1 -> 0 only in a clear, and a torn clear leaves extra dirty
 * bits: a resync too many, never a region forgotten. A torn or rotten
 * block fails its CRC at open and is read as ALL DIRTY (reported through
 * the observer), then rewritten that way before open() returns. The
 * header is written once; if it fails its check or does not describe the
 * expected disk, open() throws DirtyMapHeaderError and the caller decides.
 */
import type { Clock } from "../platform/clock.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import { invariant } from "../util/assert.js";
import { deferred, type Deferred } from "../util/deferred.js";
import { ClosedError, OutOfRangeError, errorMessage, isErrno } from "../util/errors.js";
import {
  CRC_BYTES,
  DIRTY_MAP_BLOCK_BYTES,
  DIRTY_MAP_REGIONS_PER_BLOCK,
  DirtyMapFailedError,
  DirtyMapHeaderError,
  POPCOUNT,
  allRegionsSet,
  blockIntact,
  checkHeader,
  createMapFile,
  dirtyRuns,
  encodeBlocks,
  forEachRegionByte,
  geometryOf,
  maskAndCount,
  readExactly,
  regionIsSet,
  type DirtyRegion,
  type Geometry,
} from "./dirty-map-format.js";

export {
  DEFAULT_DIRTY_MAP_GRANULARITY_BYTES,
  DIRTY_MAP_BLOCK_BYTES,
  DIRTY_MAP_REGIONS_PER_BLOCK,
  DirtyMapFailedError,
  DirtyMapHeaderError,
  MAX_DIRTY_MAP_GRANULARITY_BYTES,
  MAX_DIRTY_MAP_REGIONS,
  MIN_DIRTY_MAP_GRANULARITY_BYTES,
  dirtyMapGranularityProblem,
  type DirtyRegion,
} from "./dirty-map-format.js";

const RESOLVED: Promise<void> = Promise.resolve();

/** Hooks for metrics and logs; the map does not know about Prometheus. */
export interface DirtyMapObserver {
  /** A flush made `bytesWritten` of map blocks durable in `seconds` (writes plus the fdatasync). */
  flushed(bytesWritten: number, seconds: number): void;
  /** A block failed its CRC at open: the disk range it covers is now all dirty. */
  corruptBlock(info: { path: string; blockIndex: number; offsetBytes: number; lengthBytes: number }): void;
  /** The map failed for good. */
  failed(err: DirtyMapFailedError): void;
}

export interface DirtyMapOptions {
  diskBytes: number;
  granularityBytes: number;
  time: Clock;
  observer?: DirtyMapObserver;
}

export class DirtyMap {
  /** The bits as they are, in the file's block layout (CRC slots unused). */
  private readonly memory: Uint8Array;
  /** The bits known durable and kept so (a subset of `memory`): the fast path reads these. */
  private readonly durable: Uint8Array;
  /** 1 for blocks changed since the last flush took its snapshot. */
  private readonly pendingFlags: Uint8Array;
  private pendingBlocks: number[] = [];
  /** The flush writing now, and the one that will write the pending blocks. */
  private inFlight: Deferred<void> | undefined;
  private next: Deferred<void> | undefined;
  private failure: DirtyMapFailedError | undefined;
  private closing: Promise<void> | undefined;
  private regionsSet = 0;
  readonly regionCount: number;
  readonly granularityBytes: number;
  readonly diskBytes: number;

  private constructor(
    readonly path: string,
    private readonly file: RandomAccessFile,
    private readonly geometry: Geometry,
    private readonly time: Clock,
    private readonly observer: DirtyMapObserver | undefined,
  ) {
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
  static async open(storage: Storage, file: string, options: DirtyMapOptions): Promise<DirtyMap> {
    const geometry = geometryOf(options.diskBytes, options.granularityBytes);
    let handle: RandomAccessFile;
    try {
      handle = await storage.open(file, "readwrite");
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
      await createMapFile(storage, file, geometry);
      handle = await storage.open(file, "readwrite");
    }
    const map = new DirtyMap(file, handle, geometry, options.time, options.observer);
    try {
      await map.load();
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return map;
  }

  /** Size of the map file. */
  get mapBytes(): number {
    return (this.geometry.blockCount + 1) * DIRTY_MAP_BLOCK_BYTES;
  }

  /** Bytes of the disk in dirty regions (the last region clipped to the disk end). */
  get dirtyBytes(): number {
    const last = this.regionCount - 1;
    const clip = regionIsSet(this.memory, last)
      ? this.regionCount * this.granularityBytes - this.diskBytes
      : 0;
    return this.regionsSet * this.granularityBytes - clip;
  }

  /** The error the map failed with, if it did. */
  get failedWith(): DirtyMapFailedError | undefined {
    return this.failure;
  }

  /** Marks the regions covering the range dirty; resolves once that is durable. */
  mark(offsetBytes: number, lengthBytes: number): Promise<void> {
    return this.refusal(offsetBytes, lengthBytes) ?? this.setAndWait(offsetBytes, lengthBytes);
  }

  /** mark() for many ranges, durable together (nothing is marked if one is out of range). */
  markRanges(ranges: readonly DirtyRegion[]): Promise<void> {
    for (const r of ranges) {
      const refused = this.refusal(r.offsetBytes, r.lengthBytes);
      if (refused) return refused;
    }
    let wait = RESOLVED;
    for (const r of ranges) {
      const flush = this.setAndWait(r.offsetBytes, r.lengthBytes);
      // The next flush ends after the running one: waiting for it covers both.
      if (flush !== RESOLVED && wait !== this.next?.promise) wait = flush;
    }
    return wait;
  }

  /** True when every byte of the range lies in a dirty region (true for an empty range). */
  isDirty(offsetBytes: number, lengthBytes: number): boolean {
    const outside = this.outOfRange(offsetBytes, lengthBytes);
    if (outside) throw outside;
    if (lengthBytes === 0) return true;
    const g = this.granularityBytes;
    return allRegionsSet(
      this.memory,
      Math.floor(offsetBytes / g),
      Math.floor((offsetBytes + lengthBytes - 1) / g),
    );
  }

  /** The dirty regions as merged runs, in disk order, clipped to the disk end. */
  regions(): DirtyRegion[] {
    return dirtyRuns(this.memory, this.geometry);
  }

  /** Clears every region; resolves once that is durable. */
  clear(): Promise<void> {
    return this.clearRange(0, this.diskBytes);
  }

  /** Clears the regions lying entirely inside the range; resolves once that is durable. */
  clearRange(offsetBytes: number, lengthBytes: number): Promise<void> {
    const refused = this.refusal(offsetBytes, lengthBytes);
    if (refused) return refused;
    const g = this.granularityBytes;
    const endBytes = offsetBytes + lengthBytes;
    const first = Math.ceil(offsetBytes / g);
    const last = (endBytes === this.diskBytes ? this.regionCount : Math.floor(endBytes / g)) - 1;
    if (last < first) return RESOLVED;
    this.clearBits(first, last);
    return this.waitFor(first, last);
  }

  /** Lets the flushes already due finish, then closes the file; later calls are refused (ClosedError). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (let due = this.next ?? this.inFlight; due; due = this.next ?? this.inFlight) {
        await due.promise.catch(() => undefined);
      }
      await this.file.close();
    })();
    return this.closing;
  }

  private refusal(offsetBytes: number, lengthBytes: number): Promise<never> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new ClosedError(`dirty map ${this.path} is closed`));
    const outside = this.outOfRange(offsetBytes, lengthBytes);
    return outside ? Promise.reject(outside) : undefined;
  }

  private outOfRange(offsetBytes: number, lengthBytes: number): OutOfRangeError | undefined {
    const integers = Number.isSafeInteger(offsetBytes) && Number.isSafeInteger(lengthBytes);
    if (integers && offsetBytes >= 0 && lengthBytes >= 0 && offsetBytes + lengthBytes <= this.diskBytes) {
      return undefined;
    }
    return new OutOfRangeError(`${offsetBytes}+${lengthBytes} is outside the ${this.diskBytes}-byte disk`);
  }

  /** The fast path (durable already: no IO, no allocation) or set the bits and join a flush. */
  private setAndWait(offsetBytes: number, lengthBytes: number): Promise<void> {
    if (lengthBytes === 0) return RESOLVED;
    const first = Math.floor(offsetBytes / this.granularityBytes);
    const last = Math.floor((offsetBytes + lengthBytes - 1) / this.granularityBytes);
    if (allRegionsSet(this.durable, first, last)) return RESOLVED;
    this.setRegions(first, last);
    return this.waitFor(first, last);
  }

  private clearBits(first: number, last: number): void {
    forEachRegionByte(first, last, (index, mask, block) => {
      const cleared = this.memory[index]! & mask;
      if (cleared === 0) return;
      this.memory[index]! &= ~mask;
      this.durable[index]! &= ~mask;
      this.regionsSet -= POPCOUNT[cleared]!;
      this.makePending(block);
    });
  }

  private setRegions(first: number, last: number): void {
    forEachRegionByte(first, last, (index, mask, block) => {
      const added = mask & ~this.memory[index]!;
      if (added === 0) return;
      this.memory[index]! |= added;
      this.regionsSet += POPCOUNT[added]!;
      this.makePending(block);
    });
  }

  private makePending(block: number): void {
    if (this.pendingFlags[block] === 1) return;
    this.pendingFlags[block] = 1;
    this.pendingBlocks.push(block);
  }

  /**
   * The flush that makes the current content of regions first..last
   * durable: the next one if one of their blocks changed since the running
   * flush took its snapshot, else the running one (its snapshot holds
   * them), else none (they are durable).
   */
  private waitFor(first: number, last: number): Promise<void> {
    const firstBlock = Math.floor(first / DIRTY_MAP_REGIONS_PER_BLOCK);
    const lastBlock = Math.floor(last / DIRTY_MAP_REGIONS_PER_BLOCK);
    for (let block = firstBlock; block <= lastBlock; block++) {
      if (this.pendingFlags[block] === 1) return this.nextFlush();
    }
    return this.inFlight?.promise ?? RESOLVED;
  }

  private nextFlush(): Promise<void> {
    if (!this.next) {
      const next = deferred<void>();
      // Waiters handle the rejection; this keeps one nobody waits for from being "unhandled".
      next.promise.catch(() => undefined);
      this.next = next;
      if (!this.inFlight) this.time.nextTurn(() => this.startFlush());
    }
    return this.next.promise;
  }

  /** One flush: snapshot the pending blocks, write them, one fdatasync, resolve their waiters. */
  private startFlush(): void {
    const done = this.next;
    if (this.failure || this.inFlight || !done) return;
    invariant(this.pendingBlocks.length > 0, "a flush is due with nothing to write");
    this.next = undefined;
    this.inFlight = done;
    const blocks = this.pendingBlocks.sort((a, b) => a - b);
    this.pendingBlocks = [];
    for (const block of blocks) this.pendingFlags[block] = 0;
    // A copy: marks made while the flush runs must not change what it writes (nor its CRCs).
    const { snapshot, ranges } = encodeBlocks(this.memory, blocks);
    const startMs = this.time.monotonicMs();
    this.file
      .writeRanges(ranges)
      .then(() => this.file.datasync())
      .then(
        () => this.flushed(blocks, snapshot, (this.time.monotonicMs() - startMs) / 1000),
        (err) => this.fail(err),
      );
  }

  private flushed(blocks: number[], snapshot: Uint8Array, seconds: number): void {
    blocks.forEach((block, i) => {
      // Durable and still set: a bit cleared since the snapshot is pending again, and not durable.
      const base = block * DIRTY_MAP_BLOCK_BYTES;
      for (let j = CRC_BYTES; j < DIRTY_MAP_BLOCK_BYTES; j++) {
        this.durable[base + j] = snapshot[i * DIRTY_MAP_BLOCK_BYTES + j]! & this.memory[base + j]!;
      }
    });
    const done = this.inFlight;
    this.inFlight = undefined;
    this.observer?.flushed(snapshot.length, seconds);
    done?.resolve();
    if (this.next) this.startFlush();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    const failure = new DirtyMapFailedError(
      `dirty map ${this.path}: ${errorMessage(err)}; not retried, reopen it from disk`,
      { cause: err },
    );
    this.failure = failure;
    for (const waiting of [this.inFlight, this.next]) waiting?.reject(failure);
    this.inFlight = this.next = undefined;
    this.observer?.failed(failure);
  }

  /** Reads and checks the header and every block; corrupt blocks become all dirty and are rewritten. */
  private async load(): Promise<void> {
    const header = new Uint8Array(DIRTY_MAP_BLOCK_BYTES);
    await readExactly(this.file, header, 0);
    checkHeader(header, this.geometry, this.path);
    if ((await this.file.sizeBytes()) !== this.mapBytes) {
      throw new DirtyMapHeaderError(`dirty map ${this.path} is not ${this.mapBytes} bytes long`, "size");
    }
    await readExactly(this.file, this.memory, DIRTY_MAP_BLOCK_BYTES);
    this.regionsSet = maskAndCount(this.memory, this.geometry);
    for (let block = 0; block < this.geometry.blockCount; block++) {
      if (blockIntact(this.memory, block)) continue;
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
    if (this.pendingBlocks.length > 0) await this.nextFlush();
  }
}

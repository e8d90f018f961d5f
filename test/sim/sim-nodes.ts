/**
 * The inodes of SimStorage (sim-storage.ts): a directory with volatile and
 * durable entries, a file with a volatile and a durable image.
 *
 * A file tracks which 512-byte sectors changed since they were last made
 * durable: a sync copies just those, and a crash may let some of them
 * through (tearing) before the volatile image is replaced by the durable
 * one. Sectors are the unit a disk writes atomically, so a tear never
 * splits one.
 */
import type { TearMode } from "./sim-disk.js";

export const SECTOR_BYTES = 512;

export class DirNode {
  entries = new Map<string, Node>();
  /** The entries a crash leaves (as of the last syncDirectory). */
  durableEntries = new Map<string, Node>();
  readonly modifiedMs = 0;

  constructor(readonly inode: bigint) {}
}

export type Node = DirNode | FileNode;

export class FileNode {
  private data: Uint8Array = new Uint8Array(0);
  private size = 0;
  private durable: Uint8Array = new Uint8Array(0);
  private durableSize = 0;
  private readonly dirty = new Set<number>();
  /** The last write not yet durable: the one a "last-write" tear cuts. */
  lastWrite: { offsetBytes: number; lengthBytes: number } | undefined;
  modifiedMs = 0;

  constructor(
    readonly inode: bigint,
    readonly kind: "file" | "block-device",
    /** Block devices have a fixed size and start zeroed (and durable). */
    deviceSizeBytes = 0,
  ) {
    if (kind === "block-device") {
      this.size = deviceSizeBytes;
      this.durableSize = deviceSizeBytes;
      this.data = new Uint8Array(deviceSizeBytes);
      this.durable = new Uint8Array(deviceSizeBytes);
    }
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** Sectors written but not yet durable (for tests and metrics of the simulator). */
  get dirtySectors(): number {
    return this.dirty.size;
  }

  read(target: Uint8Array, positionBytes: number): number {
    const n = Math.max(0, Math.min(target.length, this.size - positionBytes));
    target.set(this.data.subarray(positionBytes, positionBytes + n));
    return n;
  }

  readAll(): Uint8Array {
    // A Buffer, as Node's readFile gives (callers decode it with toString).
    return Buffer.from(this.data.subarray(0, this.size));
  }

  write(bytes: Uint8Array, atBytes: number, nowMs: number): void {
    if (bytes.length === 0) return;
    const end = atBytes + bytes.length;
    this.data = grow(this.data, end);
    this.data.set(bytes, atBytes);
    this.size = Math.max(this.size, end);
    this.markDirty(atBytes, end);
    this.modifiedMs = nowMs;
  }

  truncate(lengthBytes: number, nowMs: number): void {
    if (lengthBytes < this.size) {
      this.data.fill(0, lengthBytes, this.size);
      const firstGone = Math.ceil(lengthBytes / SECTOR_BYTES);
      for (const s of [...this.dirty]) if (s >= firstGone) this.dirty.delete(s);
      if (lengthBytes % SECTOR_BYTES !== 0) this.dirty.add(Math.floor(lengthBytes / SECTOR_BYTES));
    } else {
      this.data = grow(this.data, lengthBytes);
    }
    this.size = lengthBytes;
    this.modifiedMs = nowMs;
  }

  /** Copies the dirty sectors overlapping [fromBytes, toBytes) to the durable image. */
  makeDurable(fromBytes: number, toBytes: number): void {
    const whole = toBytes === Infinity;
    const first = Math.floor(fromBytes / SECTOR_BYTES);
    const last = whole ? Infinity : Math.ceil(toBytes / SECTOR_BYTES) - 1;
    for (const s of [...this.dirty]) {
      if (s < first || s > last) continue;
      this.persistSector(s);
      this.dirty.delete(s);
    }
    if (whole) {
      this.setDurableSize(this.size);
      this.lastWrite = undefined;
    } else {
      this.setDurableSize(Math.max(this.durableSize, Math.min(this.size, toBytes)));
      const w = this.lastWrite;
      if (w && w.offsetBytes >= fromBytes && w.offsetBytes + w.lengthBytes <= toBytes)
        this.lastWrite = undefined;
    }
  }

  /** After a failed sync: what was not durable is gone (reads see the durable image again). */
  dropUnsynced(): void {
    for (const s of this.dirty) {
      const start = s * SECTOR_BYTES;
      this.data.set(this.durable.subarray(start, Math.min(start + SECTOR_BYTES, this.durable.length)), start);
    }
    this.dirty.clear();
    if (this.size > this.durableSize) this.data.fill(0, this.durableSize, this.size);
    this.data = grow(this.data, this.durableSize);
    this.size = this.durableSize;
    this.lastWrite = undefined;
  }

  /** Power loss: some unsynced sectors may reach the disk (`tear`), then only the durable image is left. */
  loseVolatile(tear: TearMode, random: () => number): void {
    if (tear === "last-write" && this.lastWrite && this.dirty.size > 0) {
      const { offsetBytes, lengthBytes } = this.lastWrite;
      const end = offsetBytes + lengthBytes;
      // Possible cuts: nothing, every sector boundary inside the write, all of it.
      const cuts = [offsetBytes];
      for (let b = (Math.floor(offsetBytes / SECTOR_BYTES) + 1) * SECTOR_BYTES; b < end; b += SECTOR_BYTES) {
        cuts.push(b);
      }
      cuts.push(end);
      const cut = cuts[Math.floor(random() * cuts.length)] as number;
      if (cut > offsetBytes) {
        const lastSector = Math.ceil(cut / SECTOR_BYTES) - 1;
        for (let s = Math.floor(offsetBytes / SECTOR_BYTES); s <= lastSector; s++) {
          if (this.dirty.has(s)) this.persistSector(s);
        }
        this.setDurableSize(Math.max(this.durableSize, Math.min(this.size, cut)));
      }
    } else if (tear === "any-sectors") {
      for (const s of [...this.dirty].sort((a, b) => a - b)) {
        if (random() < 0.5) continue;
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

  private markDirty(fromBytes: number, toBytes: number): void {
    const last = Math.ceil(toBytes / SECTOR_BYTES) - 1;
    for (let s = Math.floor(fromBytes / SECTOR_BYTES); s <= last; s++) this.dirty.add(s);
  }

  private persistSector(s: number): void {
    const start = s * SECTOR_BYTES;
    const end = Math.min(start + SECTOR_BYTES, this.data.length);
    this.durable = grow(this.durable, end);
    this.durable.set(this.data.subarray(start, end), start);
  }

  private setDurableSize(sizeBytes: number): void {
    // Bytes beyond the durable size read as zeroes if the file grows again.
    if (sizeBytes < this.durableSize) this.durable.fill(0, sizeBytes, this.durableSize);
    this.durable = grow(this.durable, sizeBytes);
    this.durableSize = sizeBytes;
  }
}

/** `buf` with room for at least `minBytes` (doubling, zero-filled). */
function grow(buf: Uint8Array, minBytes: number): Uint8Array {
  if (buf.length >= minBytes) return buf;
  const bigger = new Uint8Array(Math.max(minBytes, buf.length * 2, 4096));
  bigger.set(buf);
  return bigger;
}

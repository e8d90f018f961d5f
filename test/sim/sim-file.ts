/**
 * An open file of a SimStorage (see sim-storage.ts for the rules): every
 * call is one simulated operation, its effect applied at once to the
 * file's volatile image, made durable only by a sync.
 */
import type { RandomAccessFile, WriteRange } from "../../src/platform/storage/types.js";
import { posixError, type SimOp } from "./sim-disk.js";
import { SECTOR_BYTES, type FileNode } from "./sim-nodes.js";
import type { SimStorage } from "./sim-storage.js";

/** An open file of a SimStorage. */
export class SimFile implements RandomAccessFile {
  private closed = false;

  constructor(
    private readonly storage: SimStorage,
    private readonly node: FileNode,
    readonly path: string,
    private readonly readOnly: boolean,
    readonly syncWrites: boolean,
  ) {}

  read(target: Uint8Array, positionBytes: number): Promise<number> {
    return this.operation("read", false, () => this.node.read(target, positionBytes));
  }

  writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void> {
    return this.operation("writev", true, () => {
      const lengthBytes = buffers.reduce((n, b) => n + b.length, 0);
      // Out of space, Linux writes what fits and then fails (a short write, then ENOSPC).
      const endBytes = Math.min(positionBytes + lengthBytes, this.writableEndBytes());
      let at = positionBytes;
      for (const b of buffers) {
        if (at >= endBytes) break;
        this.node.write(b.subarray(0, endBytes - at), at, this.storage.nowMs);
        at += b.length;
      }
      if (endBytes > positionBytes) {
        this.node.lastWrite = { offsetBytes: positionBytes, lengthBytes: endBytes - positionBytes };
      }
      if (endBytes < positionBytes + lengthBytes) throw posixError("ENOSPC", "writev", this.path);
      if (this.syncWrites) return this.sync(positionBytes, positionBytes + lengthBytes);
    });
  }

  writeRanges(ranges: readonly WriteRange[]): Promise<void> {
    return this.operation("writeRanges", true, () => {
      const endBytes = ranges.reduce((n, r) => Math.max(n, r.offsetBytes + r.lengthBytes), 0);
      this.checkWrite("writeRanges", endBytes);
      for (const r of ranges) {
        this.node.write(r.data ?? new Uint8Array(r.lengthBytes), r.offsetBytes, this.storage.nowMs);
        this.node.lastWrite = { offsetBytes: r.offsetBytes, lengthBytes: r.lengthBytes };
      }
    });
  }

  datasync(): Promise<void> {
    // Its faults are injected by sync(), which must drop the unsynced data when it fails.
    return this.operation("datasync", false, () => this.sync(0, Infinity), false);
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.operation("truncate", true, () => {
      if (this.node.kind === "block-device") throw posixError("EINVAL", "ftruncate", this.path);
      this.checkWrite("truncate", lengthBytes);
      this.node.truncate(lengthBytes, this.storage.nowMs);
    });
  }

  sizeBytes(): Promise<number> {
    return this.operation("read", false, () => this.node.sizeBytes);
  }

  close(): Promise<void> {
    return this.storage.operation(
      "open",
      this.path,
      () => {
        this.closed = true;
      },
      false,
    );
  }

  private operation<T>(
    op: SimOp,
    writes: boolean,
    effect: () => T | Promise<T>,
    injectFault = true,
  ): Promise<T> {
    return this.storage.operation(
      op,
      this.path,
      () => {
        if (this.closed || (writes && this.readOnly)) throw posixError("EBADF", op, this.path);
        return effect();
      },
      injectFault,
    );
  }

  /** How far this file can be written before the disk (or the device) is full. */
  private writableEndBytes(): number {
    if (this.node.kind === "block-device") return this.node.sizeBytes;
    const allocatedBytes = Math.ceil(this.node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
    return allocatedBytes + Math.floor(this.storage.freeBytes() / SECTOR_BYTES) * SECTOR_BYTES;
  }

  private checkWrite(op: SimOp, endBytes: number): void {
    if (this.node.kind === "block-device") {
      if (endBytes > this.node.sizeBytes) throw posixError("ENOSPC", op, this.path);
      return;
    }
    const grow =
      Math.ceil(endBytes / SECTOR_BYTES) * SECTOR_BYTES -
      Math.ceil(this.node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
    this.storage.checkSpace(grow, op, this.path);
  }

  /** Makes [fromBytes, toBytes) durable (Infinity: every dirty sector), or drops it if the sync fails. */
  private sync(fromBytes: number, toBytes: number): void | Promise<void> {
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

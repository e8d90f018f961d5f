/**
 * A fault-injecting Storage for tests. It wraps the real one (NodeFile on
 * real files), so everything that is not a fault is real IO; for the files
 * a plan matches it can fail fdatasync or writev from the n-th call on,
 * tear a write (only a prefix of the bytes reaches the file, then EIO, as
 * a crash in the middle of a write would leave it), or hold an operation
 * at a gate the test opens later.
 *
 * Injected errors look like Node's system errors (code "EIO", errno -5),
 * so the code under test cannot tell them from a failing disk.
 */
import { nodeStorage } from "../../src/platform/storage/node-file.js";
import type {
  FileFacts,
  FilesystemSpace,
  OpenMode,
  OpenOptions,
  RandomAccessFile,
  Storage,
  WriteRange,
} from "../../src/platform/storage/types.js";

export type FaultOp = "writev" | "datasync" | "read";

export interface FaultPlan {
  /** Files the plan applies to (default: every file). */
  match?: (path: string) => boolean;
  /** The n-th datasync (1-based, counted over matching files) and every later one fail. */
  failDatasyncFrom?: number;
  /** The n-th writev and every later one fail (nothing is written). */
  failWritevFrom?: number;
  /** The n-th writev writes only its first keepBytes bytes, then fails. */
  tearWritev?: { at: number; keepBytes: number };
  /**
   * Report syncWrites = false even when the file was opened with O_DSYNC,
   * so the log writer issues an explicit datasync the plan can fail.
   * Default true; set false to test the O_DSYNC path itself.
   */
  hideSyncWrites?: boolean;
  /** Awaited before every operation on a matching file (delays, gates); `range` for reads and writes. */
  beforeOp?: (
    op: FaultOp,
    path: string,
    n: number,
    range?: { positionBytes: number; lengthBytes: number },
  ) => Promise<void> | void;
  /** Called after a writev or datasync on a matching file succeeded (n as in beforeOp). */
  afterOp?: (op: FaultOp, path: string, n: number) => void;
  /**
   * What statfs reports instead of the real filesystem's numbers (a full
   * log area without filling a disk); `fail` makes it fail with EIO. Read
   * at every call, so a test may change it between samples.
   */
  statfs?: { sizeBytes?: number; availableBytes?: number; fail?: boolean };
}

export function injectedError(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EIO: i/o error, ${syscall} '${path}' (injected)`), {
    code: "EIO",
    errno: -5,
    syscall,
    path,
  });
}

export class FaultyStorage implements Storage {
  /** Calls seen on matching files, including failed ones. */
  readonly calls: Record<FaultOp, number> = { writev: 0, datasync: 0, read: 0 };
  /** writev/datasync calls on matching files after the first injected failure ("never retried" means 0). */
  callsAfterFailure = 0;
  failures = 0;

  constructor(
    readonly plan: FaultPlan,
    private readonly inner: Storage = nodeStorage,
  ) {}

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<RandomAccessFile> {
    const file = await this.inner.open(path, mode, options);
    if (this.plan.match && !this.plan.match(path)) return file;
    return new FaultyFile(file, this);
  }

  /** Directory operations are not faulted: they go straight to the wrapped storage. */
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  syncDirectory(dir: string): Promise<void> {
    return this.inner.syncDirectory(dir);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  stat(path: string, options?: { followLinks?: boolean }): Promise<FileFacts> {
    return this.inner.stat(path, options);
  }

  /** The real filesystem's numbers, with the plan's overrides (free = available when overridden). */
  async statfs(path: string): Promise<FilesystemSpace> {
    const override = this.plan.statfs;
    if (override?.fail) throw injectedError("statfs", path);
    const real = await this.inner.statfs(path);
    if (!override) return real;
    const sizeBytes = override.sizeBytes ?? real.sizeBytes;
    if (override.availableBytes === undefined) return { ...real, sizeBytes };
    return { sizeBytes, freeBytes: override.availableBytes, availableBytes: override.availableBytes };
  }

  realPath(path: string): Promise<string> {
    return this.inner.realPath(path);
  }

  makeDirectory(dir: string, options?: { mode?: number }): Promise<void> {
    return this.inner.makeDirectory(dir, options);
  }

  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(path);
  }

  /** Counts the call and decides: "ok", "fail" or "tear". */
  async admit(
    op: FaultOp,
    path: string,
    range?: { positionBytes: number; lengthBytes: number },
  ): Promise<number> {
    if (this.failures > 0 && op !== "read") this.callsAfterFailure += 1;
    this.calls[op] += 1;
    const n = this.calls[op];
    await this.plan.beforeOp?.(op, path, n, range);
    return n;
  }
}

class FaultyFile implements RandomAccessFile {
  constructor(
    private readonly inner: RandomAccessFile,
    private readonly storage: FaultyStorage,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  get syncWrites(): boolean {
    return (this.storage.plan.hideSyncWrites ?? true) ? false : (this.inner.syncWrites ?? false);
  }

  async read(target: Uint8Array, positionBytes: number): Promise<number> {
    await this.storage.admit("read", this.path, { positionBytes, lengthBytes: target.length });
    return this.inner.read(target, positionBytes);
  }

  async writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void> {
    const lengthBytes = buffers.reduce((sum, b) => sum + b.length, 0);
    const n = await this.storage.admit("writev", this.path, { positionBytes, lengthBytes });
    const { failWritevFrom, tearWritev } = this.storage.plan;
    if (failWritevFrom !== undefined && n >= failWritevFrom) {
      this.storage.failures += 1;
      throw injectedError("write", this.path);
    }
    if (tearWritev && n === tearWritev.at) {
      const whole = Buffer.concat(buffers);
      await this.inner.writev([whole.subarray(0, tearWritev.keepBytes)], positionBytes);
      this.storage.failures += 1;
      throw injectedError("write", this.path);
    }
    await this.inner.writev(buffers, positionBytes);
    this.storage.plan.afterOp?.("writev", this.path, n);
  }

  /** One writev per range, so every range is subject to the plan (counts, failures, gates). */
  async writeRanges(ranges: readonly WriteRange[]): Promise<void> {
    for (const r of ranges) {
      await this.writev([r.data ?? new Uint8Array(r.lengthBytes)], r.offsetBytes);
    }
  }

  async datasync(): Promise<void> {
    const n = await this.storage.admit("datasync", this.path);
    const { failDatasyncFrom } = this.storage.plan;
    if (failDatasyncFrom !== undefined && n >= failDatasyncFrom) {
      this.storage.failures += 1;
      throw injectedError("fdatasync", this.path);
    }
    await this.inner.datasync();
    this.storage.plan.afterOp?.("datasync", this.path, n);
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.inner.truncate(lengthBytes);
  }

  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A gate: operations wait at it until the test opens it. */
export class Gate {
  private opened = false;
  private waiters: Array<() => void> = [];
  /** How many are waiting right now. */
  waiting = 0;

  wait(): Promise<void> {
    if (this.opened) return Promise.resolve();
    this.waiting += 1;
    return new Promise((resolve) =>
      this.waiters.push(() => {
        this.waiting -= 1;
        resolve();
      }),
    );
  }

  open(): void {
    this.opened = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  close(): void {
    this.opened = false;
  }
}

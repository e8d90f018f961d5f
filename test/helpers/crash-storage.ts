/**
 * A Storage that models a kill -9 at a chosen step. Every operation that
 * changes a file or a directory is a step with a name, e.g.
 * "create log-000000003-alpha", "writev log-000000003-alpha",
 * "datasync checkpoint.json", "rename .tmp.checkpoint.json.1a2b3c4d",
 * "remove log-000000001-alpha", "syncDirectory res". The first step the
 * plan picks fails, and so does every operation after it (reads included):
 * the code under test stops exactly there, as a killed process would. The
 * files keep what the steps before it wrote, which is what a process crash
 * leaves (the page cache survives it). A crashing writev can write a prefix
 * of its bytes first (a write torn by the crash).
 *
 * It wraps the real storage, so everything before the crash is real IO on
 * real files, and recovery then runs on exactly what is left, with the
 * real storage.
 */
import path from "node:path";
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

export type CrashOp =
  | "create"
  | "writev"
  | "datasync"
  | "truncate"
  | "rename"
  | "remove"
  | "syncDirectory"
  | "makeDirectory"
  | "removeTree";

export interface CrashStep {
  op: CrashOp;
  /** The file (for rename: the source) the step works on. */
  path: string;
  /** `${op} ${basename}`. */
  name: string;
  /** 1-based number of this step among all steps. */
  n: number;
  /** 1-based number of this step among the steps with the same name. */
  nthOfName: number;
}

export interface CrashPlan {
  /** Crash at the first step for which this is true (never: record the steps only). */
  at?: (step: CrashStep) => boolean;
  /** If the crashing step is a writev, this many of its bytes reach the file first. */
  tearBytes?: number;
}

export class CrashedError extends Error {
  readonly code = "ECRASHED";
}

export class CrashStorage implements Storage {
  /** Names of the steps taken, in order (the crashing one last). */
  readonly steps: string[] = [];
  /** The step the crash happened at. */
  crashedAt: CrashStep | undefined;
  private readonly counts = new Map<string, number>();

  constructor(
    private plan: CrashPlan = {},
    private readonly inner: Storage = nodeStorage,
  ) {}

  /** Arms (or re-arms) the crash; steps already taken are not re-examined. */
  arm(plan: CrashPlan): void {
    this.plan = plan;
  }

  get crashed(): boolean {
    return this.crashedAt !== undefined;
  }

  /** Fails if the process is already dead; otherwise counts the step and crashes if the plan says so. */
  step(op: CrashOp, filePath: string): { crash: boolean } {
    this.refuseIfCrashed(op, filePath);
    const name = `${op} ${path.basename(filePath)}`;
    const nthOfName = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, nthOfName);
    const step: CrashStep = { op, path: filePath, name, n: this.steps.length + 1, nthOfName };
    this.steps.push(name);
    if (this.plan.at?.(step)) {
      this.crashedAt = step;
      return { crash: true };
    }
    return { crash: false };
  }

  refuseIfCrashed(op: string, filePath: string): void {
    if (this.crashed) throw new CrashedError(`crashed: ${op} ${filePath} after the crash`);
  }

  crashError(): CrashedError {
    return new CrashedError(`crashed at step ${this.crashedAt?.n}: ${this.crashedAt?.name}`);
  }

  async open(filePath: string, mode: OpenMode, options?: OpenOptions): Promise<RandomAccessFile> {
    if (mode === "create") {
      if (this.step("create", filePath).crash) throw this.crashError();
    } else {
      this.refuseIfCrashed("open", filePath);
    }
    return new CrashFile(await this.inner.open(filePath, mode, options), this);
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    if (this.step("rename", fromPath).crash) throw this.crashError();
    await this.inner.rename(fromPath, toPath);
  }

  async remove(filePath: string): Promise<void> {
    if (this.step("remove", filePath).crash) throw this.crashError();
    await this.inner.remove(filePath);
  }

  async syncDirectory(dir: string): Promise<void> {
    if (this.step("syncDirectory", dir).crash) throw this.crashError();
    await this.inner.syncDirectory(dir);
  }

  // Reads after the crash are refused like every other call; creating and removing whole trees are steps.
  async readFile(filePath: string): Promise<Uint8Array> {
    this.refuseIfCrashed("readFile", filePath);
    return this.inner.readFile(filePath);
  }

  async list(dir: string): Promise<string[]> {
    this.refuseIfCrashed("list", dir);
    return this.inner.list(dir);
  }

  async stat(filePath: string, options?: { followLinks?: boolean }): Promise<FileFacts> {
    this.refuseIfCrashed("stat", filePath);
    return this.inner.stat(filePath, options);
  }

  async statfs(filePath: string): Promise<FilesystemSpace> {
    this.refuseIfCrashed("statfs", filePath);
    return this.inner.statfs(filePath);
  }

  async realPath(filePath: string): Promise<string> {
    this.refuseIfCrashed("realPath", filePath);
    return this.inner.realPath(filePath);
  }

  async makeDirectory(dir: string, options?: { mode?: number }): Promise<void> {
    if (this.step("makeDirectory", dir).crash) throw this.crashError();
    await this.inner.makeDirectory(dir, options);
  }

  async removeTree(filePath: string): Promise<void> {
    if (this.step("removeTree", filePath).crash) throw this.crashError();
    await this.inner.removeTree(filePath);
  }

  get tearBytes(): number | undefined {
    return this.plan.tearBytes;
  }
}

class CrashFile implements RandomAccessFile {
  constructor(
    private readonly inner: RandomAccessFile,
    private readonly storage: CrashStorage,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  /** Always false, so the writer issues explicit datasyncs: each one is a step a crash can hit. */
  get syncWrites(): boolean {
    return false;
  }

  async read(target: Uint8Array, positionBytes: number): Promise<number> {
    this.storage.refuseIfCrashed("read", this.path);
    return this.inner.read(target, positionBytes);
  }

  async writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void> {
    if (this.storage.step("writev", this.path).crash) {
      const keep = this.storage.tearBytes ?? 0;
      if (keep > 0) await this.inner.writev([Buffer.concat(buffers).subarray(0, keep)], positionBytes);
      throw this.storage.crashError();
    }
    await this.inner.writev(buffers, positionBytes);
  }

  async writeRanges(ranges: readonly WriteRange[]): Promise<void> {
    for (const r of ranges) await this.writev([r.data ?? new Uint8Array(r.lengthBytes)], r.offsetBytes);
  }

  async datasync(): Promise<void> {
    if (this.storage.step("datasync", this.path).crash) throw this.storage.crashError();
    await this.inner.datasync();
  }

  async truncate(lengthBytes: number): Promise<void> {
    if (this.storage.step("truncate", this.path).crash) throw this.storage.crashError();
    await this.inner.truncate(lengthBytes);
  }

  async sizeBytes(): Promise<number> {
    this.storage.refuseIfCrashed("fstat", this.path);
    return this.inner.sizeBytes();
  }

  /** A killed process's descriptors are closed by the kernel: closing is never refused. */
  close(): Promise<void> {
    return this.inner.close();
  }
}

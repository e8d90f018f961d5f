/**
 * An in-memory Storage (src/platform/storage/types.ts) with the durability
 * rules of a Linux filesystem, for the simulator and for crash tests of the
 * real log code: what survives a crash is only what was made durable.
 *
 * Contract:
 * - Every file has a volatile image (what reads see) and a durable image
 *   (what a crash leaves). writev/writeRanges/truncate change the volatile
 *   image; datasync (or a writev on a file opened with syncWrites) copies
 *   the file's dirty sectors to the durable image. Durability is tracked
 *   per 512-byte sector, so a datasync costs what it syncs, not the file.
 * - Every directory has volatile and durable entries; creations, renames
 *   and removals change the volatile ones; syncDirectory copies them to the
 *   durable ones. A new file whose directory was not synced is gone after a
 *   crash, however much of its data was synced (strict POSIX: the point is
 *   to catch a missing directory fsync).
 * - crash() is a power loss: the tree is rebuilt from the durable entries
 *   and images. Depending on the tear mode, part of the unsynced data
 *   reaches the disk first: "last-write" keeps a sector-aligned prefix of
 *   each file's last unsynced write, "any-sectors" keeps each dirty sector
 *   with probability 1/2 (writeback order is arbitrary), "none" keeps
 *   nothing. The choices come from the seed. kill() is a process crash:
 *   the page cache (volatile state) survives.
 * - A SimStorage is one process's view: crash()/kill() return the view
 *   for the restarted process, and the old view is dead: its pending and
 *   later operations never settle, as a killed process observes nothing.
 * - Faults come from a plan: rules that fail matching operations with a
 *   POSIX code (seeded probability), a capacity beyond which growing a
 *   file fails with ENOSPC, and slow syncs that complete only after
 *   virtual time passes on a SimClock. A failed datasync drops the file's
 *   unsynced data (Linux may have dropped the dirty pages; reads then see
 *   the old data), so a retry cannot pretend it was written.
 * - Errors are Errors with `code`, `errno`, `syscall` and `path`, like
 *   Node's fs errors.
 */
import path from "node:path";
import type {
  FileFacts,
  FileKind,
  OpenMode,
  OpenOptions,
  RandomAccessFile,
  Storage,
  WriteRange,
} from "../../src/platform/storage/types.js";
import { prng } from "../helpers/prng.js";
import type { SimClock } from "./sim-clock.js";
import { DirNode, FileNode, SECTOR_BYTES, type Node } from "./sim-nodes.js";

export type SimOp =
  | "open"
  | "read"
  | "writev"
  | "writeRanges"
  | "datasync"
  | "truncate"
  | "readFile"
  | "rename"
  | "remove"
  | "removeTree"
  | "makeDirectory"
  | "syncDirectory";

export interface SimFaultRule {
  /** The operations it applies to. */
  ops: SimOp[];
  /** Paths it applies to (tested on the absolute path); all when absent. */
  path?: RegExp;
  /** POSIX code of the failure. */
  code: "EIO" | "ENOSPC" | "EROFS" | "EACCES";
  /** Chance that a matching operation fails (drawn from the seed); 1 when absent. */
  probability?: number;
  /** Matching operations that pass before the rule starts failing them. */
  afterMatches?: number;
  /** Failures left (the rule retires at 0); unlimited when absent. */
  times?: number;
}

export type TearMode = "none" | "last-write" | "any-sectors";

export interface SimFaultPlan {
  rules?: SimFaultRule[];
  /** Bytes all files together may occupy (sizes, rounded up to sectors); writes that grow beyond fail ENOSPC. */
  capacityBytes?: number;
  /** datasync and syncDirectory of matching paths take this much virtual time (on `clock`). */
  slowSync?: { clock: SimClock; delayMs: number; path?: RegExp };
  /** How unsynced data may reach the disk at a crash (default "last-write"). */
  tear?: TearMode;
  /** Whether files opened with syncWrites get O_DSYNC writes (default true), as NodeFile does. */
  honourSyncWrites?: boolean;
}

export interface SimStorageOptions extends SimFaultPlan {
  /** Seeds fault probabilities and tearing. */
  seed: number;
  /** Stamps for stat's modifiedMs (0 without it). */
  clock?: SimClock;
}

/** The state of the simulated disk, shared by the views of successive processes. */
class SimDisk {
  root = new DirNode(0n);
  generation = 0;
  private nextInode = 1n;
  readonly random: () => number;
  plan: SimFaultPlan;
  private readonly ruleMatches = new Map<SimFaultRule, number>();
  private readonly ruleFailures = new Map<SimFaultRule, number>();
  /** An operation count at which the disk loses power (see SimStorage.crashAtOperation). */
  crashAtOperation: number | undefined;
  operations = 0;
  onCrash: ((next: SimStorage) => void) | undefined;

  constructor(
    seed: number,
    plan: SimFaultPlan,
    readonly clock: SimClock | undefined,
  ) {
    this.random = prng(seed);
    this.plan = plan;
  }

  newInode(): bigint {
    return this.nextInode++;
  }

  /** The error the plan injects into this operation, if any. */
  fault(op: SimOp, filePath: string): Error | undefined {
    for (const rule of this.plan.rules ?? []) {
      if (!rule.ops.includes(op) || (rule.path && !rule.path.test(filePath))) continue;
      const failures = this.ruleFailures.get(rule) ?? 0;
      if (rule.times !== undefined && failures >= rule.times) continue;
      const matches = (this.ruleMatches.get(rule) ?? 0) + 1;
      this.ruleMatches.set(rule, matches);
      if (matches <= (rule.afterMatches ?? 0)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      this.ruleFailures.set(rule, failures + 1);
      return posixError(rule.code, op, filePath, "injected");
    }
    return undefined;
  }

  /** Bytes in use: every file reachable from the root, in whole sectors. */
  usedBytes(): number {
    let used = 0;
    const walk = (dir: DirNode): void => {
      for (const node of dir.entries.values()) {
        if (node instanceof DirNode) walk(node);
        else used += Math.ceil(node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
      }
    };
    walk(this.root);
    return used;
  }

  /** Power loss: everything rebuilt from the durable entries and images. */
  crash(tear: TearMode): void {
    this.generation += 1;
    const seen = new Set<Node>();
    const rebuild = (dir: DirNode): void => {
      if (seen.has(dir)) return;
      seen.add(dir);
      dir.entries = new Map(dir.durableEntries);
      for (const node of dir.entries.values()) {
        if (node instanceof DirNode) rebuild(node);
        else if (!seen.has(node)) {
          seen.add(node);
          node.loseVolatile(tear, this.random);
        }
      }
    };
    rebuild(this.root);
  }
}

export class SimStorage implements Storage {
  private readonly disk: SimDisk;
  private readonly generation: number;

  constructor(options: SimStorageOptions | SimDisk) {
    if (options instanceof SimDisk) {
      this.disk = options;
    } else {
      const { seed, clock, ...plan } = options;
      this.disk = new SimDisk(seed, plan, clock);
    }
    this.generation = this.disk.generation;
  }

  /** False once this view's process crashed or was killed. */
  get alive(): boolean {
    return this.generation === this.disk.generation;
  }

  /** Replaces the fault plan (e.g. a disk that starts failing mid-run). */
  setFaults(plan: SimFaultPlan): void {
    this.disk.plan = plan;
  }

  /** Operations started so far on this disk (every view). */
  get operations(): number {
    return this.disk.operations;
  }

  /**
   * Loses power when the `n`th operation (counting every operation on this
   * disk, reads included) starts: it and everything after never settle.
   * `onCrash` receives the view for the restarted process.
   */
  crashAtOperation(n: number, onCrash: (next: SimStorage) => void): void {
    this.disk.crashAtOperation = n;
    this.disk.onCrash = onCrash;
  }

  /** Power loss now. Returns the view for the restarted process. */
  crash(tear: TearMode = this.disk.plan.tear ?? "last-write"): SimStorage {
    this.disk.crash(tear);
    return new SimStorage(this.disk);
  }

  /** The process dies, the machine does not: the page cache survives. */
  kill(): SimStorage {
    this.disk.generation += 1;
    return new SimStorage(this.disk);
  }

  async open(filePath: string, mode: OpenMode, options: OpenOptions = {}): Promise<RandomAccessFile> {
    const p = await this.begin("open", filePath);
    const { parent, name, node } = this.lookup(p, "open");
    let file: FileNode;
    if (mode === "create") {
      if (node) throw posixError("EEXIST", "open", p);
      file = new FileNode(this.disk.newInode(), "file");
      parent.entries.set(name, file);
    } else {
      if (!node) throw posixError("ENOENT", "open", p);
      if (node instanceof DirNode) throw posixError("EISDIR", "open", p);
      file = node;
    }
    const syncWrites =
      options.syncWrites === true && mode !== "read" && this.disk.plan.honourSyncWrites !== false;
    return new SimFile(this, file, p, mode === "read", syncWrites);
  }

  async readFile(filePath: string): Promise<Uint8Array> {
    const p = await this.begin("readFile", filePath);
    const node = this.lookup(p, "open").node;
    if (!node) throw posixError("ENOENT", "open", p);
    if (node instanceof DirNode) throw posixError("EISDIR", "read", p);
    return node.readAll();
  }

  async list(dir: string): Promise<string[]> {
    const p = await this.begin("read", dir);
    return [...this.directory(p, "scandir").entries.keys()];
  }

  async stat(filePath: string): Promise<FileFacts> {
    const p = await this.begin("read", filePath);
    const node = this.lookup(p, "stat").node;
    if (!node) throw posixError("ENOENT", "stat", p);
    const kind: FileKind = node instanceof DirNode ? "directory" : node.kind;
    return {
      kind,
      sizeBytes: node instanceof DirNode ? 4096 : node.sizeBytes,
      device: 1n,
      inode: node.inode,
      rdev: 0n,
      modifiedMs: node.modifiedMs,
    };
  }

  async realPath(filePath: string): Promise<string> {
    const p = await this.begin("read", filePath);
    if (!this.lookup(p, "realpath").node) throw posixError("ENOENT", "realpath", p);
    return p;
  }

  async makeDirectory(dir: string): Promise<void> {
    const p = await this.begin("makeDirectory", dir);
    let current = this.disk.root;
    for (const part of p.split("/").filter((s) => s !== "")) {
      const next = current.entries.get(part);
      if (next instanceof DirNode) {
        current = next;
      } else if (next) {
        throw posixError("EEXIST", "mkdir", p);
      } else {
        const created = new DirNode(this.disk.newInode());
        current.entries.set(part, created);
        current = created;
      }
    }
  }

  async removeTree(target: string): Promise<void> {
    const p = await this.begin("removeTree", target);
    const { parent, name } = this.lookup(p, "rm", true);
    parent?.entries.delete(name);
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    const from = await this.begin("rename", fromPath);
    const to = resolve(toPath);
    const source = this.lookup(from, "rename");
    if (!source.node) throw posixError("ENOENT", "rename", from);
    const target = this.lookup(to, "rename");
    if (target.node instanceof DirNode && !(source.node instanceof DirNode)) {
      throw posixError("EISDIR", "rename", to);
    }
    if (target.node instanceof DirNode && target.node.entries.size > 0) {
      throw posixError("ENOTEMPTY", "rename", to);
    }
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, source.node);
  }

  async remove(filePath: string): Promise<void> {
    const p = await this.begin("remove", filePath);
    const { parent, name, node } = this.lookup(p, "unlink", true);
    if (node instanceof DirNode) throw posixError("EISDIR", "unlink", p);
    if (node) parent?.entries.delete(name);
  }

  async syncDirectory(dir: string): Promise<void> {
    const p = await this.begin("syncDirectory", dir);
    const node = this.directory(p, "fsync");
    await this.slowSync(p);
    node.durableEntries = new Map(node.entries);
  }

  /**
   * Every operation starts here: counts it, loses power if the plan says
   * so, never settles on a dead view, injects the planned fault.
   */
  async begin(op: SimOp, filePath: string, injectFault = true): Promise<string> {
    const p = resolve(filePath);
    await this.live();
    this.disk.operations += 1;
    if (this.disk.crashAtOperation === this.disk.operations) {
      this.disk.crashAtOperation = undefined;
      const next = this.crash();
      this.disk.onCrash?.(next);
      await this.live();
    }
    const fault = injectFault ? this.disk.fault(op, p) : undefined;
    if (fault) throw fault;
    return p;
  }

  /** Settles only while this view's process is alive. */
  async live(): Promise<void> {
    await Promise.resolve();
    if (!this.alive) await new Promise<never>(() => undefined);
  }

  async slowSync(p: string): Promise<void> {
    const slow = this.disk.plan.slowSync;
    if (slow && (!slow.path || slow.path.test(p))) {
      await slow.clock.sleep(slow.delayMs);
      await this.live();
    }
  }

  get random(): () => number {
    return this.disk.random;
  }

  get nowMs(): number {
    return this.disk.clock?.nowMs() ?? 0;
  }

  /** Throws ENOSPC if growing files by `growBytes` would pass the capacity. */
  checkSpace(growBytes: number, op: SimOp, p: string): void {
    const capacity = this.disk.plan.capacityBytes;
    if (capacity === undefined || growBytes <= 0) return;
    if (this.disk.usedBytes() + growBytes > capacity) throw posixError("ENOSPC", op, p);
  }

  fault(op: SimOp, p: string): Error | undefined {
    return this.disk.fault(op, p);
  }

  private lookup(
    p: string,
    syscall: string,
    parentMayBeMissing: true,
  ): { parent: DirNode | undefined; name: string; node: Node | undefined };
  private lookup(p: string, syscall: string): { parent: DirNode; name: string; node: Node | undefined };
  private lookup(
    p: string,
    syscall: string,
    parentMayBeMissing = false,
  ): { parent: DirNode | undefined; name: string; node: Node | undefined } {
    const dirPath = path.posix.dirname(p);
    const name = path.posix.basename(p);
    if (p === "/") return { parent: undefined, name: "", node: this.disk.root };
    const parent = this.find(dirPath);
    if (!(parent instanceof DirNode)) {
      if (parentMayBeMissing && !parent) return { parent: undefined, name, node: undefined };
      throw posixError(parent ? "ENOTDIR" : "ENOENT", syscall, p);
    }
    return { parent, name, node: parent.entries.get(name) };
  }

  private directory(p: string, syscall: string): DirNode {
    const node = this.find(p);
    if (!node) throw posixError("ENOENT", syscall, p);
    if (!(node instanceof DirNode)) throw posixError("ENOTDIR", syscall, p);
    return node;
  }

  private find(p: string): Node | undefined {
    let node: Node | undefined = this.disk.root;
    for (const part of p.split("/").filter((s) => s !== "")) {
      if (!(node instanceof DirNode)) return undefined;
      node = node.entries.get(part);
    }
    return node;
  }

  /** A block device of a fixed size (a node's backing disk), created durable. */
  async createBlockDevice(devicePath: string, sizeBytes: number): Promise<void> {
    const p = resolve(devicePath);
    const { parent, name, node } = this.lookup(p, "mknod");
    if (node) throw posixError("EEXIST", "mknod", p);
    const device = new FileNode(this.disk.newInode(), "block-device", sizeBytes);
    parent.entries.set(name, device);
    parent.durableEntries.set(name, device);
    await this.live();
  }
}

/** An open file of a SimStorage. */
class SimFile implements RandomAccessFile {
  private closed = false;

  constructor(
    private readonly storage: SimStorage,
    private readonly node: FileNode,
    readonly path: string,
    private readonly readOnly: boolean,
    readonly syncWrites: boolean,
  ) {}

  async read(target: Uint8Array, positionBytes: number): Promise<number> {
    await this.begin("read");
    return this.node.read(target, positionBytes);
  }

  async writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void> {
    await this.begin("writev", true);
    const lengthBytes = buffers.reduce((n, b) => n + b.length, 0);
    this.checkWrite("writev", positionBytes + lengthBytes);
    let at = positionBytes;
    for (const b of buffers) {
      this.node.write(b, at, this.storage.nowMs);
      at += b.length;
    }
    this.node.lastWrite = { offsetBytes: positionBytes, lengthBytes };
    if (this.syncWrites) await this.sync(positionBytes, positionBytes + lengthBytes);
  }

  async writeRanges(ranges: readonly WriteRange[]): Promise<void> {
    await this.begin("writeRanges", true);
    const endBytes = ranges.reduce((n, r) => Math.max(n, r.offsetBytes + r.lengthBytes), 0);
    this.checkWrite("writeRanges", endBytes);
    for (const r of ranges) {
      this.node.write(r.data ?? new Uint8Array(r.lengthBytes), r.offsetBytes, this.storage.nowMs);
      this.node.lastWrite = { offsetBytes: r.offsetBytes, lengthBytes: r.lengthBytes };
    }
  }

  async datasync(): Promise<void> {
    // Its faults are injected by sync(), which must drop the unsynced data when it fails.
    await this.begin("datasync", false, false);
    await this.sync(0, Infinity);
  }

  async truncate(lengthBytes: number): Promise<void> {
    await this.begin("truncate", true);
    if (this.node.kind === "block-device") throw posixError("EINVAL", "ftruncate", this.path);
    this.checkWrite("truncate", lengthBytes);
    this.node.truncate(lengthBytes, this.storage.nowMs);
  }

  async sizeBytes(): Promise<number> {
    await this.begin("read");
    return this.node.sizeBytes;
  }

  async close(): Promise<void> {
    await this.storage.live();
    this.closed = true;
  }

  private async begin(op: SimOp, writes = false, injectFault = true): Promise<void> {
    if (this.closed) {
      await this.storage.live();
      throw posixError("EBADF", op, this.path);
    }
    await this.storage.begin(op, this.path, injectFault);
    if (writes && this.readOnly) throw posixError("EBADF", op, this.path);
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
  private async sync(fromBytes: number, toBytes: number): Promise<void> {
    await this.storage.slowSync(this.path);
    const fault = this.storage.fault("datasync", this.path);
    if (fault) {
      // Linux marks the pages clean after a failed writeback: they are gone at the next eviction.
      this.node.dropUnsynced();
      throw fault;
    }
    this.node.makeDurable(fromBytes, toBytes);
  }
}

function resolve(p: string): string {
  return path.posix.resolve("/", p);
}

const ERRNO: Record<string, number> = {
  ENOENT: -2,
  EIO: -5,
  EBADF: -9,
  EACCES: -13,
  EEXIST: -17,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  ENOSPC: -28,
  EROFS: -30,
  ENOTEMPTY: -39,
};

/** An Error shaped like Node's fs errors. */
export function posixError(code: string, syscall: string, p: string, detail?: string): Error {
  const message = `${code}: ${detail ? `${detail} ` : ""}${syscall} '${p}'`;
  return Object.assign(new Error(message), { code, errno: ERRNO[code] ?? -1, syscall, path: p });
}

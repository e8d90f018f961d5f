/**
 * The shared state of a simulated disk (see sim-storage.ts): the directory
 * tree, the fault plan with its seeded random stream, and the generation
 * that tells a live process's view from a dead one's. Also the shapes of
 * the fault plan and the Node-like errors the simulated storage throws.
 */
import { prng } from "../helpers/prng.js";
import type { SimClock } from "./sim-clock.js";
import { DirNode, SECTOR_BYTES, type Node } from "./sim-nodes.js";
import type { SimStorage } from "./sim-storage.js";

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
  /**
   * Every operation takes a seeded time below `maxMs` on `clock` and takes
   * effect when it completes: concurrent operations finish out of order.
   */
  latency?: { clock: SimClock; maxMs: number };
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
export class SimDisk {
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

/** What a dead process's operations return: they never settle. */
export function never(): Promise<never> {
  // A new one each time: reactions attached to a shared never-settling
  // promise would pile up, and keep every dead run's disks alive with them.
  return new Promise<never>(() => undefined);
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

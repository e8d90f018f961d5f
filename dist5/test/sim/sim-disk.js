/**
 * The shared state of a simulated disk (see sim-storage.ts): the directory
 * tree, the fault plan with its seeded random stream, and the generation
 * that tells a live process's view from a dead one's. Also the shapes of
 * the fault plan and the Node-like errors the simulated storage throws.
 */
import { prng } from "../helpers/prng.js";
import { DirNode, SECTOR_BYTES } from "./sim-nodes.js";
/** The state of the simulated disk, shared by the views of successive processes. */
export class SimDisk {
    clock;
    root = new DirNode(0n);
    generation = 0;
    nextInode = 1n;
    random;
    plan;
    ruleMatches = new Map();
    ruleFailures = new Map();
    /** An operation count at which the disk loses power (see SimStorage.crashAtOperation). */
    crashAtOperation;
    operations = 0;
    onCrash;
    constructor(seed, plan, clock) {
        this.clock = clock;
        this.random = prng(seed);
        this.plan = plan;
    }
    newInode() {
        return this.nextInode++;
    }
    /** The error the plan injects into this operation, if any. */
    fault(op, filePath) {
        for (const rule of this.plan.rules ?? []) {
            if (!rule.ops.includes(op) || (rule.path && !rule.path.test(filePath)))
                continue;
            const failures = this.ruleFailures.get(rule) ?? 0;
            if (rule.times !== undefined && failures >= rule.times)
                continue;
            const matches = (this.ruleMatches.get(rule) ?? 0) + 1;
            this.ruleMatches.set(rule, matches);
            if (matches <= (rule.afterMatches ?? 0))
                continue;
            if (rule.probability !== undefined && this.random() >= rule.probability)
                continue;
            this.ruleFailures.set(rule, failures + 1);
            return posixError(rule.code, op, filePath, "injected");
        }
        return undefined;
    }
    /** Bytes in use: every file reachable from the root, in whole sectors. */
    usedBytes() {
        let used = 0;
        const walk = (dir) => {
            for (const node of dir.entries.values()) {
                if (node instanceof DirNode)
                    walk(node);
                else
                    used += Math.ceil(node.sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
            }
        };
        walk(this.root);
        return used;
    }
    /** Power loss: everything rebuilt from the durable entries and images. */
    crash(tear) {
        this.generation += 1;
        const seen = new Set();
        const rebuild = (dir) => {
            if (seen.has(dir))
                return;
            seen.add(dir);
            dir.entries = new Map(dir.durableEntries);
            for (const node of dir.entries.values()) {
                if (node instanceof DirNode)
                    rebuild(node);
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
export function never() {
    // A new one each time: reactions attached to a shared never-settling
    // promise would pile up, and keep every dead run's disks alive with them.
    return new Promise(() => undefined);
}
const ERRNO = {
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
export function posixError(code, syscall, p, detail) {
    const message = `${code}: ${detail ? `${detail} ` : ""}${syscall} '${p}'`;
    return Object.assign(new Error(message), { code, errno: ERRNO[code] ?? -1, syscall, path: p });
}
//# sourceMappingURL=sim-disk.js.map
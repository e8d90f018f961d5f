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
 *   file fails with ENOSPC, slow syncs that complete only after virtual
 *   time passes on a SimClock, and a seeded latency for every operation
 *   (its effect lands when it completes, so concurrent operations finish
 *   out of order). A failed datasync drops the file's
 *   unsynced data (Linux may have dropped the dirty pages; reads then see
 *   the old data), so a retry cannot pretend it was written.
 * - Errors are Errors with `code`, `errno`, `syscall` and `path`, like
 *   Node's fs errors.
 */
import path from "node:path";
import { never, SimDisk, posixError, } from "./sim-disk.js";
import { SimFile } from "./sim-file.js";
import { DirNode, FileNode } from "./sim-nodes.js";
export { posixError } from "./sim-disk.js";
/** The size statfs reports for a disk without a capacity (1 TiB: far from any threshold). */
export const SIM_UNBOUNDED_BYTES = 2 ** 40;
export class SimStorage {
    disk;
    generation;
    constructor(options) {
        if (options instanceof SimDisk) {
            this.disk = options;
        }
        else {
            const { seed, clock, ...plan } = options;
            this.disk = new SimDisk(seed, plan, clock);
        }
        this.generation = this.disk.generation;
    }
    /** False once this view's process crashed or was killed. */
    get alive() {
        return this.generation === this.disk.generation;
    }
    /** Replaces the fault plan (e.g. a disk that starts failing mid-run). */
    setFaults(plan) {
        this.disk.plan = plan;
    }
    /** Adds one fault rule to the disk's plan (everything else in the plan stays). */
    addFaultRule(rule) {
        this.disk.plan = { ...this.disk.plan, rules: [...(this.disk.plan.rules ?? []), rule] };
    }
    /** Drops the fault rules not yet fired (the faults end; latency and tearing stay). */
    clearFaultRules() {
        this.disk.plan = { ...this.disk.plan, rules: [] };
    }
    /** Operations started so far on this disk (every view). */
    get operations() {
        return this.disk.operations;
    }
    /**
     * Loses power when the `n`th operation (counting every operation on this
     * disk, reads included) starts: it and everything after never settle.
     * `onCrash` receives the view for the restarted process.
     */
    crashAtOperation(n, onCrash) {
        this.disk.crashAtOperation = n;
        this.disk.onCrash = onCrash;
    }
    /** Power loss now (a crash armed with crashAtOperation is called off). Returns the view for the restarted process. */
    crash(tear = this.disk.plan.tear ?? "last-write") {
        this.disk.crashAtOperation = undefined;
        this.disk.crash(tear);
        return new SimStorage(this.disk);
    }
    /** The process dies, the machine does not: the page cache survives. */
    kill() {
        this.disk.generation += 1;
        return new SimStorage(this.disk);
    }
    open(filePath, mode, options = {}) {
        return this.operation("open", filePath, (p) => {
            const { parent, name, node } = this.lookup(p, "open");
            let file;
            if (mode === "create") {
                if (node)
                    throw posixError("EEXIST", "open", p);
                file = new FileNode(this.disk.newInode(), "file");
                parent.entries.set(name, file);
            }
            else {
                if (!node)
                    throw posixError("ENOENT", "open", p);
                if (node instanceof DirNode)
                    throw posixError("EISDIR", "open", p);
                file = node;
            }
            const syncWrites = options.syncWrites === true && mode !== "read" && this.disk.plan.honourSyncWrites !== false;
            return new SimFile(this, file, p, mode === "read", syncWrites);
        });
    }
    readFile(filePath) {
        return this.operation("readFile", filePath, (p) => {
            const node = this.lookup(p, "open").node;
            if (!node)
                throw posixError("ENOENT", "open", p);
            if (node instanceof DirNode)
                throw posixError("EISDIR", "read", p);
            return node.readAll();
        });
    }
    list(dir) {
        return this.operation("read", dir, (p) => [...this.directory(p, "scandir").entries.keys()]);
    }
    stat(filePath) {
        return this.operation("read", filePath, (p) => {
            const node = this.lookup(p, "stat").node;
            if (!node)
                throw posixError("ENOENT", "stat", p);
            const kind = node instanceof DirNode ? "directory" : node.kind;
            return {
                kind,
                sizeBytes: node instanceof DirNode ? 4096 : node.sizeBytes,
                device: 1n,
                inode: node.inode,
                rdev: 0n,
                // No hard links here (Storage cannot make them): one name per file.
                links: node instanceof DirNode ? 2 : 1,
                modifiedMs: node.modifiedMs,
            };
        });
    }
    realPath(filePath) {
        return this.operation("read", filePath, (p) => {
            if (!this.lookup(p, "realpath").node)
                throw posixError("ENOENT", "realpath", p);
            return p;
        });
    }
    makeDirectory(dir) {
        return this.operation("makeDirectory", dir, (p) => {
            let current = this.disk.root;
            for (const part of p.split("/").filter((x) => x !== "")) {
                const next = current.entries.get(part);
                if (next instanceof DirNode) {
                    current = next;
                }
                else if (next) {
                    throw posixError("EEXIST", "mkdir", p);
                }
                else {
                    const created = new DirNode(this.disk.newInode());
                    current.entries.set(part, created);
                    current = created;
                }
            }
        });
    }
    removeTree(target) {
        return this.operation("removeTree", target, (p) => {
            const { parent, name } = this.lookup(p, "rm", true);
            parent?.entries.delete(name);
        });
    }
    rename(fromPath, toPath) {
        return this.operation("rename", fromPath, (from) => {
            const to = resolve(toPath);
            const source = this.lookup(from, "rename");
            if (!source.node)
                throw posixError("ENOENT", "rename", from);
            const target = this.lookup(to, "rename");
            if (target.node instanceof DirNode && !(source.node instanceof DirNode)) {
                throw posixError("EISDIR", "rename", to);
            }
            if (target.node instanceof DirNode && target.node.entries.size > 0) {
                throw posixError("ENOTEMPTY", "rename", to);
            }
            source.parent.entries.delete(source.name);
            target.parent.entries.set(target.name, source.node);
        });
    }
    remove(filePath) {
        return this.operation("remove", filePath, (p) => {
            const { parent, name, node } = this.lookup(p, "unlink", true);
            if (node instanceof DirNode)
                throw posixError("EISDIR", "unlink", p);
            if (node)
                parent?.entries.delete(name);
        });
    }
    syncDirectory(dir) {
        return this.operation("syncDirectory", dir, (p) => {
            const node = this.directory(p, "fsync");
            return this.afterSlowSync(p, () => {
                node.durableEntries = new Map(node.entries);
            });
        });
    }
    /**
     * The disk's capacity and what its files take (SIM_UNBOUNDED_BYTES
     * without a capacity). Not an operation: it neither counts nor faults,
     * so sampling free space does not change which operation a planned
     * crash or fault hits (seeds replay as before).
     */
    statfs() {
        if (!this.alive)
            return never();
        const sizeBytes = this.disk.plan.capacityBytes ?? SIM_UNBOUNDED_BYTES;
        const free = Math.max(0, sizeBytes - this.disk.usedBytes());
        return Promise.resolve({ sizeBytes, freeBytes: free, availableBytes: free });
    }
    /**
     * Every operation goes through here: counts it, loses power if the plan
     * says so, never settles on a dead view, injects the planned fault, and
     * runs `effect`. The liveness check and the effect run in one
     * synchronous step, so a dead process can never change the disk (an
     * await between them would let a crash slip in).
     */
    operation(op, filePath, effect, injectFault = true) {
        const p = resolve(filePath);
        return Promise.resolve().then(() => {
            if (!this.alive)
                return never();
            this.disk.operations += 1;
            if (this.disk.crashAtOperation === this.disk.operations) {
                const next = this.crash();
                this.disk.onCrash?.(next);
                return never();
            }
            const apply = () => {
                const fault = injectFault ? this.disk.fault(op, p) : undefined;
                if (fault)
                    throw fault;
                return effect(p);
            };
            const latency = this.disk.plan.latency;
            if (!latency)
                return apply();
            // The effect lands when the operation completes, so concurrent operations complete in a seeded order.
            const delayMs = Math.floor(this.disk.random() * latency.maxMs);
            return latency.clock.sleep(delayMs).then(() => (this.alive ? apply() : never()));
        });
    }
    /** Runs `effect` now, or after the plan's slow-sync delay if it applies to `p` (and the process still lives). */
    afterSlowSync(p, effect) {
        const slow = this.disk.plan.slowSync;
        if (!slow || (slow.path && !slow.path.test(p)))
            return effect();
        return slow.clock.sleep(slow.delayMs).then(() => (this.alive ? effect() : never()));
    }
    get random() {
        return this.disk.random;
    }
    get nowMs() {
        return this.disk.clock?.nowMs() ?? 0;
    }
    /** Throws ENOSPC if growing files by `growBytes` would pass the capacity. */
    checkSpace(growBytes, op, p) {
        const capacity = this.disk.plan.capacityBytes;
        if (capacity === undefined || growBytes <= 0)
            return;
        if (this.disk.usedBytes() + growBytes > capacity)
            throw posixError("ENOSPC", op, p);
    }
    /** Bytes left before the capacity (Infinity without one). */
    freeBytes() {
        const capacity = this.disk.plan.capacityBytes;
        return capacity === undefined ? Infinity : Math.max(0, capacity - this.disk.usedBytes());
    }
    fault(op, p) {
        return this.disk.fault(op, p);
    }
    lookup(p, syscall, parentMayBeMissing = false) {
        const dirPath = path.posix.dirname(p);
        const name = path.posix.basename(p);
        if (p === "/")
            return { parent: undefined, name: "", node: this.disk.root };
        const parent = this.find(dirPath);
        if (!(parent instanceof DirNode)) {
            if (parentMayBeMissing && !parent)
                return { parent: undefined, name, node: undefined };
            throw posixError(parent ? "ENOTDIR" : "ENOENT", syscall, p);
        }
        return { parent, name, node: parent.entries.get(name) };
    }
    directory(p, syscall) {
        const node = this.find(p);
        if (!node)
            throw posixError("ENOENT", syscall, p);
        if (!(node instanceof DirNode))
            throw posixError("ENOTDIR", syscall, p);
        return node;
    }
    find(p) {
        let node = this.disk.root;
        for (const part of p.split("/").filter((s) => s !== "")) {
            if (!(node instanceof DirNode))
                return undefined;
            node = node.entries.get(part);
        }
        return node;
    }
    /** A block device of a fixed size (a node's backing disk), created durable. */
    createBlockDevice(devicePath, sizeBytes) {
        return this.operation("makeDirectory", devicePath, (p) => {
            const { parent, name, node } = this.lookup(p, "mknod");
            if (node)
                throw posixError("EEXIST", "mknod", p);
            const device = new FileNode(this.disk.newInode(), "block-device", sizeBytes);
            parent.entries.set(name, device);
            parent.durableEntries.set(name, device);
        });
    }
}
function resolve(p) {
    return path.posix.resolve("/", p);
}
//# sourceMappingURL=sim-storage.js.map
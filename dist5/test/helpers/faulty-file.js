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
export function injectedError(syscall, path) {
    return Object.assign(new Error(`EIO: i/o error, ${syscall} '${path}' (injected)`), {
        code: "EIO",
        errno: -5,
        syscall,
        path,
    });
}
export class FaultyStorage {
    plan;
    inner;
    /** Calls seen on matching files, including failed ones. */
    calls = { writev: 0, datasync: 0, read: 0 };
    /** writev/datasync calls on matching files after the first injected failure ("never retried" means 0). */
    callsAfterFailure = 0;
    failures = 0;
    constructor(plan, inner = nodeStorage) {
        this.plan = plan;
        this.inner = inner;
    }
    async open(path, mode, options) {
        const file = await this.inner.open(path, mode, options);
        if (this.plan.match && !this.plan.match(path))
            return file;
        return new FaultyFile(file, this);
    }
    /** Directory operations are not faulted: they go straight to the wrapped storage. */
    rename(fromPath, toPath) {
        return this.inner.rename(fromPath, toPath);
    }
    remove(path) {
        return this.inner.remove(path);
    }
    syncDirectory(dir) {
        return this.inner.syncDirectory(dir);
    }
    readFile(path) {
        return this.inner.readFile(path);
    }
    list(dir) {
        return this.inner.list(dir);
    }
    stat(path, options) {
        return this.inner.stat(path, options);
    }
    /** The real filesystem's numbers, with the plan's overrides (free = available when overridden). */
    async statfs(path) {
        const override = this.plan.statfs;
        if (override?.fail)
            throw injectedError("statfs", path);
        const real = await this.inner.statfs(path);
        if (!override)
            return real;
        const sizeBytes = override.sizeBytes ?? real.sizeBytes;
        if (override.availableBytes === undefined)
            return { ...real, sizeBytes };
        return { sizeBytes, freeBytes: override.availableBytes, availableBytes: override.availableBytes };
    }
    realPath(path) {
        return this.inner.realPath(path);
    }
    makeDirectory(dir, options) {
        return this.inner.makeDirectory(dir, options);
    }
    removeTree(path) {
        return this.inner.removeTree(path);
    }
    /** Counts the call and decides: "ok", "fail" or "tear". */
    async admit(op, path, range) {
        if (this.failures > 0 && op !== "read")
            this.callsAfterFailure += 1;
        this.calls[op] += 1;
        const n = this.calls[op];
        await this.plan.beforeOp?.(op, path, n, range);
        return n;
    }
}
class FaultyFile {
    inner;
    storage;
    constructor(inner, storage) {
        this.inner = inner;
        this.storage = storage;
    }
    get path() {
        return this.inner.path;
    }
    get syncWrites() {
        return (this.storage.plan.hideSyncWrites ?? true) ? false : (this.inner.syncWrites ?? false);
    }
    async read(target, positionBytes) {
        await this.storage.admit("read", this.path, { positionBytes, lengthBytes: target.length });
        return this.inner.read(target, positionBytes);
    }
    async writev(buffers, positionBytes) {
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
    async writeRanges(ranges) {
        for (const r of ranges) {
            await this.writev([r.data ?? new Uint8Array(r.lengthBytes)], r.offsetBytes);
        }
    }
    async datasync() {
        const n = await this.storage.admit("datasync", this.path);
        const { failDatasyncFrom } = this.storage.plan;
        if (failDatasyncFrom !== undefined && n >= failDatasyncFrom) {
            this.storage.failures += 1;
            throw injectedError("fdatasync", this.path);
        }
        await this.inner.datasync();
        this.storage.plan.afterOp?.("datasync", this.path, n);
    }
    truncate(lengthBytes) {
        return this.inner.truncate(lengthBytes);
    }
    sizeBytes() {
        return this.inner.sizeBytes();
    }
    close() {
        return this.inner.close();
    }
}
/** A gate: operations wait at it until the test opens it. */
export class Gate {
    opened = false;
    waiters = [];
    /** How many are waiting right now. */
    waiting = 0;
    wait() {
        if (this.opened)
            return Promise.resolve();
        this.waiting += 1;
        return new Promise((resolve) => this.waiters.push(() => {
            this.waiting -= 1;
            resolve();
        }));
    }
    open() {
        this.opened = true;
        for (const wake of this.waiters.splice(0))
            wake();
    }
    close() {
        this.opened = false;
    }
}
//# sourceMappingURL=faulty-file.js.map
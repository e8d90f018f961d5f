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
export class CrashedError extends Error {
    code = "ECRASHED";
}
export class CrashStorage {
    plan;
    inner;
    /** Names of the steps taken, in order (the crashing one last). */
    steps = [];
    /** The step the crash happened at. */
    crashedAt;
    counts = new Map();
    constructor(plan = {}, inner = nodeStorage) {
        this.plan = plan;
        this.inner = inner;
    }
    /** Arms (or re-arms) the crash; steps already taken are not re-examined. */
    arm(plan) {
        this.plan = plan;
    }
    get crashed() {
        return this.crashedAt !== undefined;
    }
    /** Fails if the process is already dead; otherwise counts the step and crashes if the plan says so. */
    step(op, filePath) {
        this.refuseIfCrashed(op, filePath);
        const name = `${op} ${path.basename(filePath)}`;
        const nthOfName = (this.counts.get(name) ?? 0) + 1;
        this.counts.set(name, nthOfName);
        const step = { op, path: filePath, name, n: this.steps.length + 1, nthOfName };
        this.steps.push(name);
        if (this.plan.at?.(step)) {
            this.crashedAt = step;
            return { crash: true };
        }
        return { crash: false };
    }
    refuseIfCrashed(op, filePath) {
        if (this.crashed)
            throw new CrashedError(`crashed: ${op} ${filePath} after the crash`);
    }
    crashError() {
        return new CrashedError(`crashed at step ${this.crashedAt?.n}: ${this.crashedAt?.name}`);
    }
    async open(filePath, mode, options) {
        if (mode === "create") {
            if (this.step("create", filePath).crash)
                throw this.crashError();
        }
        else {
            this.refuseIfCrashed("open", filePath);
        }
        return new CrashFile(await this.inner.open(filePath, mode, options), this);
    }
    async rename(fromPath, toPath) {
        if (this.step("rename", fromPath).crash)
            throw this.crashError();
        await this.inner.rename(fromPath, toPath);
    }
    async remove(filePath) {
        if (this.step("remove", filePath).crash)
            throw this.crashError();
        await this.inner.remove(filePath);
    }
    async syncDirectory(dir) {
        if (this.step("syncDirectory", dir).crash)
            throw this.crashError();
        await this.inner.syncDirectory(dir);
    }
    // Reads after the crash are refused like every other call; creating and removing whole trees are steps.
    async readFile(filePath) {
        this.refuseIfCrashed("readFile", filePath);
        return this.inner.readFile(filePath);
    }
    async list(dir) {
        this.refuseIfCrashed("list", dir);
        return this.inner.list(dir);
    }
    async stat(filePath, options) {
        this.refuseIfCrashed("stat", filePath);
        return this.inner.stat(filePath, options);
    }
    async statfs(filePath) {
        this.refuseIfCrashed("statfs", filePath);
        return this.inner.statfs(filePath);
    }
    async realPath(filePath) {
        this.refuseIfCrashed("realPath", filePath);
        return this.inner.realPath(filePath);
    }
    async makeDirectory(dir, options) {
        if (this.step("makeDirectory", dir).crash)
            throw this.crashError();
        await this.inner.makeDirectory(dir, options);
    }
    async removeTree(filePath) {
        if (this.step("removeTree", filePath).crash)
            throw this.crashError();
        await this.inner.removeTree(filePath);
    }
    get tearBytes() {
        return this.plan.tearBytes;
    }
}
class CrashFile {
    inner;
    storage;
    constructor(inner, storage) {
        this.inner = inner;
        this.storage = storage;
    }
    get path() {
        return this.inner.path;
    }
    /** Always false, so the writer issues explicit datasyncs: each one is a step a crash can hit. */
    get syncWrites() {
        return false;
    }
    async read(target, positionBytes) {
        this.storage.refuseIfCrashed("read", this.path);
        return this.inner.read(target, positionBytes);
    }
    async writev(buffers, positionBytes) {
        if (this.storage.step("writev", this.path).crash) {
            const keep = this.storage.tearBytes ?? 0;
            if (keep > 0)
                await this.inner.writev([Buffer.concat(buffers).subarray(0, keep)], positionBytes);
            throw this.storage.crashError();
        }
        await this.inner.writev(buffers, positionBytes);
    }
    async writeRanges(ranges) {
        for (const r of ranges)
            await this.writev([r.data ?? new Uint8Array(r.lengthBytes)], r.offsetBytes);
    }
    async datasync() {
        if (this.storage.step("datasync", this.path).crash)
            throw this.storage.crashError();
        await this.inner.datasync();
    }
    async truncate(lengthBytes) {
        if (this.storage.step("truncate", this.path).crash)
            throw this.storage.crashError();
        await this.inner.truncate(lengthBytes);
    }
    async sizeBytes() {
        this.storage.refuseIfCrashed("fstat", this.path);
        return this.inner.sizeBytes();
    }
    /** A killed process's descriptors are closed by the kernel: closing is never refused. */
    close() {
        return this.inner.close();
    }
}
//# sourceMappingURL=crash-storage.js.map
export class FailStopFile {
    inner;
    failure;
    failed = false;
    constructor(inner) {
        this.inner = inner;
    }
    get path() {
        return this.inner.path;
    }
    get syncWrites() {
        return this.inner.syncWrites;
    }
    get directWrites() {
        return this.inner.directWrites;
    }
    /** The first failure of a write or sync, if any. */
    get failedWith() {
        return this.failure;
    }
    read(target, positionBytes) {
        return this.inner.read(target, positionBytes);
    }
    writev(buffers, positionBytes) {
        return this.guard(() => this.inner.writev(buffers, positionBytes));
    }
    writeRanges(ranges) {
        return this.guard(() => this.inner.writeRanges(ranges));
    }
    datasync() {
        return this.guard(() => this.inner.datasync());
    }
    truncate(lengthBytes) {
        return this.guard(() => this.inner.truncate(lengthBytes));
    }
    sizeBytes() {
        return this.inner.sizeBytes();
    }
    close() {
        return this.inner.close();
    }
    async guard(op) {
        if (this.failed)
            throw this.failure;
        try {
            await op();
        }
        catch (err) {
            if (!this.failed) {
                this.failed = true;
                this.failure = err;
            }
            throw err;
        }
    }
}
//# sourceMappingURL=fail-stop-file.js.map
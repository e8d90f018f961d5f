import { deferred } from "../util/deferred.js";
/** Zero ranges are written in pieces of this size (bounded memory per request). */
const ZERO_PIECE_BYTES = 1024 * 1024;
const ZEROES = new Uint8Array(ZERO_PIECE_BYTES);
export class DirectWrites {
    disk;
    map;
    now;
    observer;
    inFlight = 0;
    idleWaiters = [];
    failure;
    /** Writes whose data is written, waiting for the next fdatasync. */
    waiting = [];
    syncing = false;
    constructor(disk, map, now, observer) {
        this.disk = disk;
        this.map = map;
        this.now = now;
        this.observer = observer;
    }
    get failed() {
        return this.failure;
    }
    get inFlightCount() {
        return this.inFlight;
    }
    /** Writes `data` (or zeroes, without data) durably; resolves when it may be acknowledged. */
    async write(op) {
        if (this.failure)
            throw this.failure;
        this.inFlight += 1;
        try {
            await this.map.mark(op.offsetBytes, op.lengthBytes);
            this.check();
            await this.writeData(op);
            this.check();
            const synced = deferred();
            this.waiting.push(synced);
            this.startSync();
            await synced.promise;
        }
        catch (err) {
            this.fail(err);
            throw this.failure ?? err;
        }
        finally {
            this.inFlight -= 1;
            if (this.inFlight === 0)
                for (const wake of this.idleWaiters.splice(0))
                    wake();
        }
    }
    /** Resolves when no write is in progress. */
    idle() {
        if (this.inFlight === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }
    async writeData(op) {
        if (op.data) {
            await this.disk.writev([op.data], op.offsetBytes);
            return;
        }
        for (let at = 0; at < op.lengthBytes; at += ZERO_PIECE_BYTES) {
            const length = Math.min(ZERO_PIECE_BYTES, op.lengthBytes - at);
            await this.disk.writev([ZEROES.subarray(0, length)], op.offsetBytes + at);
        }
    }
    /** One fdatasync at a time; writes that finish meanwhile share the next one. */
    startSync() {
        if (this.syncing || this.waiting.length === 0)
            return;
        this.syncing = true;
        const batch = this.waiting.splice(0);
        const startMs = this.now();
        this.disk.datasync().then(() => {
            this.syncing = false;
            this.observer?.synced(batch.length, this.now() - startMs);
            for (const d of batch)
                d.resolve();
            this.startSync();
        }, (err) => {
            this.syncing = false;
            this.fail(err);
            const reason = this.failure;
            for (const d of [...batch, ...this.waiting.splice(0)])
                d.reject(reason);
        });
    }
    check() {
        if (this.failure)
            throw this.failure;
    }
    fail(err) {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
    }
}
//# sourceMappingURL=direct-writes.js.map
/**
 * The primary's data path: every write goes to the log and is acknowledged
 * once it is durable there; then it is applied to the backing disk in the
 * background, in log order (as MARS's trans_logger does). Reads come from
 * the backing disk, but first wait for any in-flight apply that overlaps
 * them, so a read always sees every acknowledged write.
 *
 * Applying off the acknowledgement path takes a disk write (a threadpool
 * round trip) out of every write's latency; durability is unchanged, since
 * recovery replays from the log whatever had not reached the disk. The
 * backlog of unapplied writes is bounded: beyond maxApplyBacklogBytes (or
 * MAX_APPLY_BACKLOG_OPS) a write is acknowledged only after its own apply
 * (backpressure).
 *
 * Emergency mode (resource/emergency.ts): when an append fails because the
 * log area is full, the volume does not fail: the write, and every write
 * after it, goes straight to the disk through DirectWrites (durable, its
 * region recorded in the dirty map) until logging resumes.
 */
import { RecordKind } from "../log/record.js";
import { OutOfRangeError } from "../util/errors.js";
import { ReadOnlyError } from "./block-volume.js";
export const DEFAULT_VOLUME_OPTIONS = {
    maxRecordPayloadBytes: 1024 * 1024,
    maxZeroRecordBytes: 64 * 1024 * 1024,
    maxApplyBacklogBytes: 64 * 1024 * 1024,
};
/**
 * Bound on logged-but-unapplied operations, beside the byte bound: the
 * apply queue checks overlaps by a linear scan, which must stay short.
 */
export const MAX_APPLY_BACKLOG_OPS = 1024;
export class PrimaryVolume {
    name;
    sizeValue;
    backing;
    log;
    applier;
    options;
    onFatal;
    accepting = true;
    refusal;
    /** Set once the files are about to close: reads are refused too, with this. */
    closing;
    active = 0;
    idleWaiters = [];
    /** Set while writes go straight to the disk (emergency mode). */
    direct;
    /** A switch to or from the direct path in progress: new writes wait for it. */
    switching;
    entering;
    emergency;
    constructor(name, sizeValue, backing, log, applier, options, 
    /** Called when the log or the disk failed for good. */
    onFatal) {
        this.name = name;
        this.sizeValue = sizeValue;
        this.backing = backing;
        this.log = log;
        this.applier = applier;
        this.options = options;
        this.onFatal = onFatal;
    }
    get writable() {
        return this.accepting;
    }
    get sizeBytes() {
        return this.sizeValue;
    }
    /**
     * IO may reach `sizeBytes` from now on (resource/resize.ts calls this only
     * once the new size is durable in the config and the cluster state).
     */
    grow(sizeBytes) {
        if (sizeBytes > this.sizeValue)
            this.sizeValue = sizeBytes;
    }
    /** Whether writes go straight to the disk (emergency mode). */
    get writingDirect() {
        return this.direct !== undefined;
    }
    /** What to do when the log area is full; without it a failed append fails the resource. */
    setEmergencySwitch(emergency) {
        this.emergency = emergency;
    }
    /** Enters emergency mode now (free space below the last level): the same path as a full log. */
    writeDirect(cause) {
        return this.toDirect(cause);
    }
    /**
     * Leaves emergency mode: new writes wait, the direct ones in flight end,
     * then `start` opens the new log (after the gap) and writes use it.
     */
    async resumeLogging(start) {
        const direct = this.direct;
        if (!direct)
            return;
        while (this.switching)
            await this.switching;
        const switched = (async () => {
            await direct.idle();
            this.log = await start();
            this.direct = undefined;
        })();
        this.switching = switched;
        try {
            await switched;
        }
        finally {
            this.switching = undefined;
        }
    }
    /**
     * Refuse new writes from now on (shutdown, handover, failure). `reason` is
     * what refused writes are rejected with (default: ReadOnlyError), so a
     * frontend can tell "read-only" from "stopping" from "failed".
     */
    stopWrites(reason) {
        this.accepting = false;
        this.refusal = reason;
    }
    /**
     * Refuse every new operation, reads included, with `reason`: the backing
     * file is about to be closed (failure, shutdown), and a read admitted
     * after that would fail with a raw EBADF instead of saying why.
     */
    stopAll(reason) {
        this.stopWrites(reason);
        this.closing = reason;
    }
    /** Resolves when no operation is in progress. */
    idle() {
        if (this.active === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }
    async read(offsetBytes, target) {
        this.checkRange(offsetBytes, target.length);
        if (this.closing)
            throw this.closing;
        const n = await this.track(this.readApplied(offsetBytes, target));
        // A file-backed disk may be shorter than the volume (sparse tail): reads as zeroes.
        if (n < target.length)
            target.fill(0, n);
    }
    async write(offsetBytes, data) {
        this.checkWrite(offsetBytes, data.length);
        if (data.length === 0)
            return;
        const entries = [];
        const max = this.options.maxRecordPayloadBytes;
        for (let at = 0; at < data.length; at += max) {
            const payload = data.subarray(at, Math.min(at + max, data.length));
            entries.push({
                kind: RecordKind.Write,
                offsetBytes: offsetBytes + at,
                lengthBytes: payload.length,
                payload,
            });
        }
        await this.track(this.writeOp(entries, { offsetBytes, lengthBytes: data.length, data }));
    }
    async writeZeroes(offsetBytes, lengthBytes) {
        this.checkWrite(offsetBytes, lengthBytes);
        if (lengthBytes === 0)
            return;
        const entries = [];
        const max = this.options.maxZeroRecordBytes;
        for (let at = 0; at < lengthBytes; at += max) {
            entries.push({
                kind: RecordKind.Zero,
                offsetBytes: offsetBytes + at,
                lengthBytes: Math.min(max, lengthBytes - at),
            });
        }
        await this.track(this.writeOp(entries, { offsetBytes, lengthBytes }));
    }
    trim(offsetBytes, lengthBytes) {
        // Advisory (the NBD spec lets the range read back unchanged). Leaving
        // the data alone keeps primary and secondaries identical without
        // logging anything; punching holes needs fallocate(), which Node lacks.
        // A throw in the executor becomes a rejection, like every other operation's errors.
        return new Promise((resolve) => {
            this.checkWrite(offsetBytes, lengthBytes);
            resolve();
        });
    }
    flush() {
        // A flush must cover every write acknowledged before it (on any
        // connection), and writes are acknowledged only once durable: there is
        // nothing to wait for. Waiting for writes still queued (other clients'
        // writes, not yet acknowledged) would make every flush pay for them and
        // serialise clients that flush after each write. A failed log is still
        // reported, so a client learns that the device is broken.
        // Direct writes are durable when acknowledged, like logged ones; the
        // failed log behind them is what made the volume write direct.
        const failure = this.direct ? this.direct.failed : this.log.currentWriter.failed;
        return failure ? Promise.reject(failure) : Promise.resolve();
    }
    async readApplied(offsetBytes, target) {
        const pending = this.applier.rangeApplied(offsetBytes, target.length);
        if (pending)
            await pending;
        return this.backing.read(target, offsetBytes);
    }
    async writeOp(entries, op) {
        while (this.switching)
            await this.switching;
        if (this.direct)
            return this.writeDirectly(this.direct, op);
        return this.logAndApply(entries, op);
    }
    async writeDirectly(direct, op) {
        try {
            await direct.write(op);
        }
        catch (err) {
            this.onFatal(err);
            throw err;
        }
    }
    /** One switch to the direct path; the writes that found the log full share it. */
    toDirect(cause) {
        if (this.direct)
            return Promise.resolve(this.direct);
        if (this.entering)
            return this.entering;
        const emergency = this.emergency;
        if (!emergency)
            return Promise.reject(cause instanceof Error ? cause : new Error(String(cause)));
        const entering = emergency.enter(cause).then((direct) => {
            this.direct = direct;
            return direct;
        });
        const settled = entering.then(() => undefined, () => undefined);
        this.entering = entering;
        this.switching = settled;
        void settled.then(() => {
            this.entering = undefined;
            if (this.switching === settled)
                this.switching = undefined;
        });
        return entering;
    }
    async logAndApply(entries, op) {
        let appended;
        try {
            appended = await this.log.append(entries);
        }
        catch (err) {
            // A full log area, or any append the switch to the direct path cut off.
            const redo = this.emergency?.isLogSpaceFailure(err) || this.entering !== undefined || this.direct;
            if (redo && this.accepting) {
                // Not acknowledged yet: written straight to the disk instead.
                let direct;
                try {
                    direct = await this.toDirect(err);
                }
                catch (switchErr) {
                    this.onFatal(switchErr);
                    throw switchErr;
                }
                return this.writeDirectly(direct, op);
            }
            this.onFatal(err);
            throw err;
        }
        // Durable from here on. The apply runs in the background (tracked, so
        // idle() waits for it); a failed apply is fatal for the resource.
        const applied = this.applier.apply(op, appended.position);
        void this.track(applied.catch((err) => this.onFatal(err)));
        const backlogFull = this.applier.inFlightBytes > this.options.maxApplyBacklogBytes ||
            this.applier.inFlightCount > MAX_APPLY_BACKLOG_OPS;
        if (backlogFull)
            await applied;
    }
    checkRange(offsetBytes, lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > this.sizeBytes) {
            throw new OutOfRangeError(`${this.name}: ${lengthBytes} bytes at ${offsetBytes} are outside the volume of ${this.sizeBytes} bytes`);
        }
    }
    checkWrite(offsetBytes, lengthBytes) {
        this.checkRange(offsetBytes, lengthBytes);
        if (!this.accepting)
            throw this.refusal ?? new ReadOnlyError(`${this.name} does not accept writes`);
    }
    async track(work) {
        this.active += 1;
        try {
            return await work;
        }
        finally {
            this.active -= 1;
            if (this.active === 0)
                for (const wake of this.idleWaiters.splice(0))
                    wake();
        }
    }
}
//# sourceMappingURL=volume.js.map
/**
 * Replay protection across restarts.
 *
 * Within one process the nonce cache (auth.ts) refuses a request seen
 * before. It lives in memory, so after a restart a request captured within
 * the time window could be replayed (a removed node's join, an old pull).
 *
 * Design: a durable floor per sender. Before a request from `host` signed at
 * `timeMs` (the sender's own clock) is acted on, a value >= timeMs must be
 * durable in the floor file; we write timeMs + leaseMs so that one write
 * covers the sender's next leaseMs of requests (at most about one write per
 * sender per lease, concurrent requests share a write). At start-up the file
 * is read once: a request whose timeMs is at or below its sender's floor was
 * possibly accepted by an earlier incarnation, so it is refused. Everything
 * an earlier incarnation acted on is at or below that floor, so no replay of
 * it passes; an honest sender is refused for at most leaseMs after its last
 * request before our restart (it retries), and only its own clock counts,
 * so clock skew between nodes does not widen that.
 *
 * Why not a restart epoch (refuse everything signed before our start time):
 * a sender whose clock is ahead of ours would sign requests before our
 * restart with a time after it, and those would replay.
 *
 * Only senders whose signature was verified are recorded, so the file grows
 * with the members the cluster ever had, not with what strangers send.
 */
import path from "node:path";
import { makeDirectoryDurable, readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { MalformedFileError } from "../util/errors.js";
export class ReplayFloors {
    storage;
    file;
    beforeStart;
    leaseMs;
    observer;
    /** Durable floors: every accepted request's time is at or below its sender's value. */
    durable;
    /** Values to include in the next write. */
    pending = new Map();
    writing;
    constructor(storage, file, 
    /** The floors as an earlier incarnation left them (fixed for this process). */
    beforeStart, leaseMs, observer) {
        this.storage = storage;
        this.file = file;
        this.beforeStart = beforeStart;
        this.leaseMs = leaseMs;
        this.observer = observer;
        this.durable = new Map(beforeStart);
    }
    static async load(storage, file, leaseMs, observer) {
        await makeDirectoryDurable(path.dirname(file), storage);
        const raw = (await readJsonFile(file, storage));
        const floors = new Map();
        if (raw !== undefined) {
            if (raw.format !== 1 || typeof raw.floors !== "object" || raw.floors === null) {
                // Refusing to start is better than silently forgetting what protects against replays.
                throw new MalformedFileError(`${file} is not a replay floor file (format 1)`);
            }
            for (const [host, value] of Object.entries(raw.floors))
                if (typeof value === "number" && Number.isFinite(value))
                    floors.set(host, value);
        }
        return new ReplayFloors(storage, file, floors, leaseMs, observer);
    }
    /** True when a request this old from this sender may have been acted on before this process started. */
    signedBeforeStart(host, timeMs) {
        const floor = this.beforeStart.get(host);
        return floor !== undefined && timeMs <= floor;
    }
    /** Resolves once a floor at or above `timeMs` is durable for `host`. */
    async cover(host, timeMs) {
        for (;;) {
            if ((this.durable.get(host) ?? -Infinity) >= timeMs)
                return;
            this.pending.set(host, Math.max(this.pending.get(host) ?? -Infinity, timeMs + this.leaseMs));
            if (this.writing) {
                // Someone else's write may or may not include our value: look again after it.
                await this.writing.catch(() => undefined);
                continue;
            }
            this.writing = this.writeOnce();
            try {
                await this.writing;
            }
            finally {
                this.writing = undefined;
            }
        }
    }
    async writeOnce() {
        const next = new Map(this.durable);
        for (const [host, value] of this.pending)
            next.set(host, Math.max(next.get(host) ?? -Infinity, value));
        this.pending.clear();
        const content = { format: 1, floors: Object.fromEntries(next) };
        await writeFileAtomic(this.file, JSON.stringify(content), this.storage);
        this.durable = next;
        this.observer.written();
    }
}
//# sourceMappingURL=replay-floor.js.map
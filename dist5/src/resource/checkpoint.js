/**
 * The checkpoint says how far the log is applied to the backing disk *and*
 * synced there: restart replays the log from this point. It is advanced in
 * the background (sync the disk, then persist the position atomically), so
 * the write path never waits for it. Replaying from an older checkpoint is
 * harmless: records carry absolute offsets and are re-applied in order.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { LogCorruptError, isErrno } from "../util/errors.js";
export const CHECKPOINT_FILE = "checkpoint.json";
export async function readCheckpoint(dir, storage) {
    const raw = (await readJsonFile(path.join(dir, CHECKPOINT_FILE), storage));
    if (raw === undefined)
        return undefined;
    const numbers = [raw.fileNumber, raw.offsetBytes, raw.nextSeq, raw.streamBytes];
    if (raw.format !== 1 || typeof raw.host !== "string" || !numbers.every((n) => Number.isSafeInteger(n))) {
        throw new LogCorruptError(`${path.join(dir, CHECKPOINT_FILE)} is malformed`);
    }
    return raw;
}
/**
 * Replaces the checkpoint atomically. A crash in the middle leaves the old
 * checkpoint (and maybe a temporary file, removed at the next load): the
 * next start replays from the older position, which is harmless.
 */
export async function writeCheckpoint(dir, position, storage) {
    const checkpoint = { format: 1, ...position };
    await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), JSON.stringify(checkpoint) + "\n", storage);
}
export function samePosition(a, b) {
    return a?.fileNumber === b?.fileNumber && a?.host === b?.host && a?.offsetBytes === b?.offsetBytes;
}
/**
 * Persists the applied position every `intervalMs` when it moved.
 * A failure (the disk cannot sync) is reported through onError; the
 * checkpoint then simply stops advancing.
 */
export class Checkpointer {
    time;
    storage;
    dir;
    backing;
    appliedPosition;
    intervalMs;
    onPersisted;
    onError;
    timer;
    running;
    persisted;
    constructor(time, storage, dir, backing, appliedPosition, intervalMs, onPersisted, onError, initial) {
        this.time = time;
        this.storage = storage;
        this.dir = dir;
        this.backing = backing;
        this.appliedPosition = appliedPosition;
        this.intervalMs = intervalMs;
        this.onPersisted = onPersisted;
        this.onError = onError;
        this.persisted = initial;
    }
    get position() {
        return this.persisted;
    }
    start() {
        this.timer ??= this.time
            .setRepeating(this.intervalMs, () => {
            this.checkpointNow({ tolerateNoSpace: true }).catch((err) => this.onError(err));
        })
            .unref();
    }
    async stop() {
        this.timer?.cancel();
        this.timer = undefined;
        await this.running?.catch(() => undefined);
    }
    /**
     * Syncs the backing disk and persists the applied position, if it moved.
     * One at a time. `tolerateNoSpace`: a checkpoint file that cannot be
     * written for lack of space (ENOSPC, EDQUOT: a fresh temporary file each
     * time, so nothing is retried on a failed descriptor) leaves the older
     * checkpoint in force (replay starts earlier, nothing is lost) and
     * resolves false; a failed sync of the disk always throws.
     */
    async checkpointNow(options = {}) {
        while (this.running)
            await this.running.catch(() => undefined);
        const position = this.appliedPosition();
        if (!position || samePosition(position, this.persisted))
            return true;
        let written = true;
        this.running = (async () => {
            await this.backing.datasync();
            try {
                await writeCheckpoint(this.dir, position, this.storage);
            }
            catch (err) {
                if (!options.tolerateNoSpace || !(isErrno(err, "ENOSPC") || isErrno(err, "EDQUOT")))
                    throw err;
                written = false;
                return;
            }
            this.persisted = position;
            this.onPersisted(position);
        })();
        try {
            await this.running;
        }
        finally {
            this.running = undefined;
        }
        return written;
    }
}
//# sourceMappingURL=checkpoint.js.map
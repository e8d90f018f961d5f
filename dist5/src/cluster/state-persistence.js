/**
 * Keeps the cluster state durable: a snapshot file plus a journal of the
 * changes since (state-journal.ts).
 *
 * Every change is appended to the journal and made durable; changes queued
 * while an append runs share its fdatasync. Once the journal is large (or
 * after a clear, or when the journal file failed) the whole state is written
 * as a snapshot of a new generation instead (write, fsync, rename, fsync dir)
 * and the journal emptied to that generation; a failed journal file is never
 * written again but replaced by a fresh one. `flush()` resolves once every
 * change queued before it is on disk, and rethrows (once) a persistence
 * failure.
 *
 * Recovery replays the snapshot, then the journal, unless the journal
 * belongs to an older generation (a crash between the snapshot and emptying
 * the journal): its content is in the snapshot, and replayed, an entry
 * dropped since would come back, so it is emptied instead.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { invariant } from "../util/assert.js";
import { MalformedFileError } from "../util/errors.js";
import { JOURNAL_FILE, StateJournal } from "./state-journal.js";
export const STATE_FILE = "state.json";
export const DEFAULT_MAX_JOURNAL_BYTES = 4 * 1024 * 1024;
export class StatePersistence {
    options;
    journal;
    journalOps;
    journalGeneration;
    target;
    persisting;
    /** Changes not yet in the journal. */
    pending = [];
    persistError;
    constructor(options, journal, 
    /** The journal's operations as read at open, until recover() replays them. */
    journalOps, journalGeneration) {
        this.options = options;
        this.journal = journal;
        this.journalOps = journalOps;
        this.journalGeneration = journalGeneration;
    }
    /** Opens the journal (cutting a torn tail); recover() then loads the state. */
    static async open(options) {
        const { journal, ops, generation } = await StateJournal.open(options.storage, path.join(options.dir, JOURNAL_FILE));
        return new StatePersistence(options, journal, ops, generation);
    }
    /** Replays the persisted state into `target`, which later snapshots are taken from. */
    async recover(target) {
        const { dir, storage, logger } = this.options;
        this.target = target;
        const raw = (await readJsonFile(path.join(dir, STATE_FILE), storage));
        if (raw) {
            if (raw.format !== 1 || !Array.isArray(raw.entries))
                throw new MalformedFileError(`${path.join(dir, STATE_FILE)} is malformed`);
            for (const e of raw.entries)
                target.replay({ put: e });
            for (const [owner, stamp] of Object.entries(raw.seen ?? {}))
                target.replay({ seen: { [owner]: stamp } });
        }
        // Since snapshots have generations, every journal behind one starts with its generation; one
        // without (the journal written before the first snapshot) or with another is older than it.
        const generation = this.journalGeneration;
        const stale = raw?.generation !== undefined && generation !== raw.generation;
        if (stale) {
            // A crash hit between the snapshot and emptying the journal: all of it is in the snapshot.
            logger.info({ journal: generation, snapshot: raw?.generation }, "ignoring the journal of an older snapshot");
            await this.journal.reset(raw?.generation);
        }
        else {
            for (const op of this.journalOps)
                target.replay(op);
        }
        this.journalOps.length = 0;
    }
    /** Queues a change for the journal; changes of one tick and of the time an append takes share a sync. */
    persist(op) {
        this.pending.push(op);
        if (!this.persisting && this.pending.length === 1)
            queueMicrotask(() => this.startPersist());
    }
    /** Resolves when every change queued so far is durable. */
    async flush() {
        while (this.pending.length > 0 || this.persisting) {
            if (!this.persisting)
                this.startPersist();
            await this.persisting;
        }
        if (this.persistError) {
            const err = this.persistError;
            this.persistError = undefined;
            throw err;
        }
    }
    /** Closes the journal (after a final flush). */
    async close() {
        await this.flush().catch(() => undefined);
        await this.journal.close();
    }
    startPersist() {
        if (this.persisting || this.pending.length === 0)
            return;
        const ops = this.pending;
        this.pending = [];
        this.persisting = this.write(ops)
            .catch((err) => {
            this.persistError = err instanceof Error ? err : new Error(String(err));
            this.options.logger.error({ err }, "persisting the cluster state failed");
        })
            .finally(() => {
            this.persisting = undefined;
            if (this.pending.length > 0)
                this.startPersist();
        });
    }
    /**
     * Appends to the journal, or, once it is large (or after a clear, or when
     * the journal file failed), writes a snapshot of a new generation and
     * empties the journal to it (a failed journal file is replaced instead).
     */
    async write(ops) {
        const { dir, storage, random, maxJournalBytes } = this.options;
        const snapshotNeeded = this.journal.failed !== undefined ||
            this.journal.sizeBytes >= maxJournalBytes ||
            ops.some((op) => "clear" in op);
        if (!snapshotNeeded) {
            await this.journal.append(ops);
            return;
        }
        invariant(this.target, "a snapshot is written only after recovery");
        const generation = random.bytes(8).toString("hex");
        const snapshot = { format: 1, ...this.target.snapshot(), generation };
        await writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(snapshot), storage);
        if (this.journal.failed) {
            const failed = this.journal;
            this.journal = await StateJournal.replace(storage, failed.path, generation);
            await failed.close().catch(() => undefined);
        }
        else {
            await this.journal.reset(generation);
        }
    }
}
//# sourceMappingURL=state-persistence.js.map
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
import type { Logger } from "pino";
import type { StampUs } from "../log/lamport-clock.js";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { Random } from "../platform/random.js";
import type { Storage } from "../platform/storage/types.js";
import { invariant } from "../util/assert.js";
import { MalformedFileError } from "../util/errors.js";
import type { StateEntry } from "./state-entry.js";
import { JOURNAL_FILE, StateJournal, type JournalOp } from "./state-journal.js";

export const STATE_FILE = "state.json";
export const DEFAULT_MAX_JOURNAL_BYTES = 4 * 1024 * 1024;

interface PersistedState {
  format: 1;
  entries: StateEntry[];
  seen: Record<string, StampUs>;
  /** The journal generation that continues this snapshot (absent in snapshots written before generations). */
  generation?: string;
}

/** The in-memory state the persistence restores into and snapshots from. */
export interface PersistedStateTarget {
  /** Applies a persisted operation at load time (the merge rule makes replays harmless). */
  replay(op: JournalOp): void;
  /** The whole state as it is now, for a snapshot. */
  snapshot(): { entries: StateEntry[]; seen: Record<string, StampUs> };
}

export interface StatePersistenceOptions {
  dir: string;
  logger: Logger;
  storage: Storage;
  /** Draws the snapshot generations. */
  random: Random;
  /** Beyond this journal size the next persistence writes a snapshot instead. */
  maxJournalBytes: number;
}

export class StatePersistence {
  private target: PersistedStateTarget | undefined;
  private persisting: Promise<void> | undefined;
  /** Changes not yet in the journal. */
  private pending: JournalOp[] = [];
  private persistError: Error | undefined;

  private constructor(
    private readonly options: StatePersistenceOptions,
    private journal: StateJournal,
    /** The journal's operations as read at open, until recover() replays them. */
    private readonly journalOps: JournalOp[],
    private readonly journalGeneration: string | undefined,
  ) {}

  /** Opens the journal (cutting a torn tail); recover() then loads the state. */
  static async open(options: StatePersistenceOptions): Promise<StatePersistence> {
    const { journal, ops, generation } = await StateJournal.open(
      options.storage,
      path.join(options.dir, JOURNAL_FILE),
    );
    return new StatePersistence(options, journal, ops, generation);
  }

  /** Replays the persisted state into `target`, which later snapshots are taken from. */
  async recover(target: PersistedStateTarget): Promise<void> {
    const { dir, storage, logger } = this.options;
    this.target = target;
    const raw = (await readJsonFile(path.join(dir, STATE_FILE), storage)) as PersistedState | undefined;
    if (raw) {
      if (raw.format !== 1 || !Array.isArray(raw.entries))
        throw new MalformedFileError(`${path.join(dir, STATE_FILE)} is malformed`);
      for (const e of raw.entries) target.replay({ put: e });
      for (const [owner, stamp] of Object.entries(raw.seen ?? {}))
        target.replay({ seen: { [owner]: stamp } });
    }
    // Since snapshots have generations, every journal behind one starts with its generation; one
    // without (the journal written before the first snapshot) or with another is older than it.
    const generation = this.journalGeneration;
    const stale = raw?.generation !== undefined && generation !== raw.generation;
    if (stale) {
      // A crash hit between the snapshot and emptying the journal: all of it is in the snapshot.
      logger.info(
        { journal: generation, snapshot: raw?.generation },
        "ignoring the journal of an older snapshot",
      );
      await this.journal.reset(raw?.generation as string);
    } else {
      for (const op of this.journalOps) target.replay(op);
    }
    this.journalOps.length = 0;
  }

  /** Queues a change for the journal; changes of one tick and of the time an append takes share a sync. */
  persist(op: JournalOp): void {
    this.pending.push(op);
    if (!this.persisting && this.pending.length === 1) queueMicrotask(() => this.startPersist());
  }

  /** Resolves when every change queued so far is durable. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.persisting) {
      if (!this.persisting) this.startPersist();
      await this.persisting;
    }
    if (this.persistError) {
      const err = this.persistError;
      this.persistError = undefined;
      throw err;
    }
  }

  /** Closes the journal (after a final flush). */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.journal.close();
  }

  private startPersist(): void {
    if (this.persisting || this.pending.length === 0) return;
    const ops = this.pending;
    this.pending = [];
    this.persisting = this.write(ops)
      .catch((err: unknown) => {
        this.persistError = err instanceof Error ? err : new Error(String(err));
        this.options.logger.error({ err }, "persisting the cluster state failed");
      })
      .finally(() => {
        this.persisting = undefined;
        if (this.pending.length > 0) this.startPersist();
      });
  }

  /**
   * Appends to the journal, or, once it is large (or after a clear, or when
   * the journal file failed), writes a snapshot of a new generation and
   * empties the journal to it (a failed journal file is replaced instead).
   */
  private async write(ops: JournalOp[]): Promise<void> {
    const { dir, storage, random, maxJournalBytes } = this.options;
    const snapshotNeeded =
      this.journal.failed !== undefined ||
      this.journal.sizeBytes >= maxJournalBytes ||
      ops.some((op) => "clear" in op);
    if (!snapshotNeeded) {
      await this.journal.append(ops);
      return;
    }
    invariant(this.target, "a snapshot is written only after recovery");
    const generation = random.bytes(8).toString("hex");
    const snapshot: PersistedState = { format: 1, ...this.target.snapshot(), generation };
    await writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(snapshot), storage);
    if (this.journal.failed) {
      const failed = this.journal;
      this.journal = await StateJournal.replace(storage, failed.path, generation);
      await failed.close().catch(() => undefined);
    } else {
      await this.journal.reset(generation);
    }
  }
}

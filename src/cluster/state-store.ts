/**
 * The replicated cluster state on one node: key -> entry, where an entry
 * carries its value, the Lamport stamp of its last write and the writer
 * (owner). It replaces MARS's /mars symlink tree.
 *
 * Rules:
 * - merge: an incoming entry replaces the local one iff it is newer (higher
 *   stamp; ties broken by owner, then by content, so every node decides the
 *   same way). Only an allowed writer may write a key (keys.ts).
 * - deletion is a tombstone (an entry with `deleted: true`) so it spreads
 *   like any write; tombstones are collected only once every member has seen
 *   them (see `collectTombstones`).
 * - completeness: `seen[owner]` is a stamp up to which this node holds every
 *   entry written by `owner` (or a newer version of it). Pulls ask peers for
 *   entries newer than `seen`, which keeps each exchange a delta.
 * - persistence: every change is appended to a journal and made durable
 *   (state-journal.ts; changes made meanwhile share one fdatasync); once the
 *   journal is large, the whole state is written as a snapshot (write,
 *   fsync, rename, fsync dir) and the journal emptied. `flush()` waits until
 *   what is in memory now is on disk. A snapshot names a generation, and
 *   the emptied journal starts with it: a crash between the two leaves a
 *   journal of an older generation, which load() ignores (its content is
 *   in the snapshot; replayed, an entry dropped since would come back). A
 *   journal whose write or sync failed is never written again: the next
 *   change goes to a snapshot and a fresh journal file.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";
import type { Logger } from "pino";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { Random } from "../platform/random.js";
import type { Storage } from "../platform/storage/types.js";
import { JOURNAL_FILE, StateJournal, type JournalOp } from "./state-journal.js";
import type { LamportClock, StampUs } from "../log/lamport-clock.js";
import { keyOwnership, mayWrite } from "./keys.js";
import { MalformedFileError, MarsError } from "../util/errors.js";

/** A write this node may not make: a key it does not own, or a value over the size bound. */
export class StateWriteError extends MarsError {
  constructor(message: string) {
    super("STATE_WRITE_REFUSED", message);
  }
}

export interface StateEntry {
  key: string;
  value: unknown;
  stampUs: StampUs;
  owner: string;
  deleted?: true;
}

export type ChangeSource = "local" | "remote";

export interface StateStoreEvents {
  change: [entry: StateEntry, source: ChangeSource];
}

export const MAX_VALUE_BYTES = 64 * 1024;
export const STATE_FILE = "state.json";
export const DEFAULT_MAX_JOURNAL_BYTES = 4 * 1024 * 1024;

interface PersistedState {
  format: 1;
  entries: StateEntry[];
  seen: Record<string, StampUs>;
  /** The journal generation that continues this snapshot (absent in snapshots written before generations). */
  generation?: string;
}

/** Deterministic order of two versions of the same key: >0 if a is newer. */
export function compareVersions(a: StateEntry, b: StateEntry): number {
  if (a.stampUs !== b.stampUs) return a.stampUs - b.stampUs;
  if (a.owner !== b.owner) return a.owner > b.owner ? 1 : -1;
  const x = JSON.stringify([a.deleted ?? false, a.value]);
  const y = JSON.stringify([b.deleted ?? false, b.value]);
  return x === y ? 0 : x > y ? 1 : -1;
}

/** Why an incoming entry is refused, or undefined if it is acceptable. */
export function entryProblem(e: unknown, clock: LamportClock): string | undefined {
  if (typeof e !== "object" || e === null) return "not an object";
  const entry = e as Partial<StateEntry>;
  if (typeof entry.key !== "string" || !keyOwnership(entry.key)) return `invalid key ${String(entry.key)}`;
  if (typeof entry.owner !== "string" || !mayWrite(entry.key, entry.owner)) {
    return `${String(entry.owner)} may not write ${entry.key}`;
  }
  if (typeof entry.stampUs !== "number" || !clock.isPlausible(entry.stampUs))
    return `implausible stamp on ${entry.key}`;
  if (entry.deleted !== undefined && entry.deleted !== true) return "bad deleted flag";
  if (entry.deleted && entry.value !== null) return "tombstone with a value";
  if (entry.value === undefined) return "missing value";
  if (JSON.stringify(entry.value).length > MAX_VALUE_BYTES) return `value of ${entry.key} too large`;
  return undefined;
}

export class StateStore extends EventEmitter<StateStoreEvents> {
  private readonly entries = new Map<string, StateEntry>();
  /** The same entries by writer, with each writer's newest stamp: deltas skip quiet writers cheaply. */
  private readonly byOwner = new Map<string, { entries: Map<string, StateEntry>; maxStampUs: StampUs }>();
  private readonly seenMap = new Map<string, StampUs>();
  private persisting: Promise<void> | undefined;
  /** Changes not yet in the journal. */
  private pending: JournalOp[] = [];
  private persistError: Error | undefined;

  private constructor(
    private readonly dir: string,
    private readonly host: string,
    private readonly clock: LamportClock,
    private readonly logger: Logger,
    private journal: StateJournal,
    /** Beyond this journal size the next persistence writes a snapshot instead. */
    private readonly maxJournalBytes: number,
    private readonly storage: Storage,
    /** Draws the snapshot generations. */
    private readonly random: Random,
  ) {
    super();
  }

  /** Loads the persisted state (or starts empty). */
  static async load(
    dir: string,
    host: string,
    clock: LamportClock,
    logger: Logger,
    storage: Storage,
    random: Random,
    maxJournalBytes = DEFAULT_MAX_JOURNAL_BYTES,
  ): Promise<StateStore> {
    const { journal, ops, generation } = await StateJournal.open(storage, path.join(dir, JOURNAL_FILE));
    const store = new StateStore(dir, host, clock, logger, journal, maxJournalBytes, storage, random);
    const raw = (await readJsonFile(path.join(dir, STATE_FILE), storage)) as PersistedState | undefined;
    if (raw) {
      if (raw.format !== 1 || !Array.isArray(raw.entries))
        throw new MalformedFileError(`${path.join(dir, STATE_FILE)} is malformed`);
      for (const e of raw.entries) store.replay({ put: e });
      for (const [owner, stamp] of Object.entries(raw.seen ?? {})) store.replay({ seen: { [owner]: stamp } });
    }
    // Since snapshots have generations, every journal behind one starts with its generation; one
    // without (the journal written before the first snapshot) or with another is older than it.
    const stale = raw?.generation !== undefined && generation !== raw.generation;
    if (stale) {
      // A crash hit between the snapshot and emptying the journal: all of it is in the snapshot.
      logger.info(
        { journal: generation, snapshot: raw?.generation },
        "ignoring the journal of an older snapshot",
      );
      await journal.reset(raw?.generation as string);
    } else {
      for (const op of ops) store.replay(op);
    }
    return store;
  }

  /** Applies a persisted operation at load time (the merge rule makes replays harmless). */
  private replay(op: JournalOp): void {
    if ("put" in op) {
      const e = op.put;
      // Stamps we issued before a restart must never be reissued.
      if (e.owner === this.host) this.clock.restore(e.stampUs);
      else this.clock.observe(e.stampUs);
      const current = this.entries.get(e.key);
      if (!current || compareVersions(e, current) > 0) this.index(e);
    } else if ("drop" in op) {
      const current = this.entries.get(op.drop.key);
      if (current && current.stampUs <= op.drop.stampUs) this.unindex(current);
    } else if ("seen" in op) {
      for (const [owner, stamp] of Object.entries(op.seen)) {
        if (stamp > (this.seenMap.get(owner) ?? 0)) this.seenMap.set(owner, stamp);
      }
    } else if ("generation" in op) {
      // Only ever a journal's first line, taken off by StateJournal.open.
    } else {
      this.entries.clear();
      this.byOwner.clear();
      this.seenMap.clear();
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get tombstoneCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.deleted) n += 1;
    return n;
  }

  /** Everything, tombstones included (for tests and diagnostics). */
  allEntries(): StateEntry[] {
    return [...this.entries.values()];
  }

  /** The live entry of a key (tombstones read as absent). */
  get(key: string): StateEntry | undefined {
    const e = this.entries.get(key);
    return e && !e.deleted ? e : undefined;
  }

  value<T>(key: string): T | undefined {
    return this.get(key)?.value as T | undefined;
  }

  /** Live entries whose key starts with prefix, sorted by key. */
  list(prefix = ""): StateEntry[] {
    const out: StateEntry[] = [];
    for (const e of this.entries.values()) if (!e.deleted && e.key.startsWith(prefix)) out.push(e);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Writes a key as this node. Returns the new entry, or undefined if the value was already that. */
  set(key: string, value: unknown): StateEntry | undefined {
    if (!mayWrite(key, this.host)) throw new StateWriteError(`${this.host} may not write ${key}`);
    if (JSON.stringify(value).length > MAX_VALUE_BYTES)
      throw new StateWriteError(`value of ${key} is too large`);
    const current = this.get(key);
    if (current && isDeepStrictEqual(current.value, value)) return undefined;
    const entry: StateEntry = { key, value, stampUs: this.clock.now(), owner: this.host };
    this.install(entry, "local");
    return entry;
  }

  /** Deletes a key as this node (a tombstone). Undefined if it was absent. */
  delete(key: string): StateEntry | undefined {
    if (!mayWrite(key, this.host)) throw new StateWriteError(`${this.host} may not write ${key}`);
    if (!this.get(key)) return undefined;
    const entry: StateEntry = {
      key,
      value: null,
      stampUs: this.clock.now(),
      owner: this.host,
      deleted: true,
    };
    this.install(entry, "local");
    return entry;
  }

  /**
   * Merges entries received from a peer. Invalid entries are skipped and
   * reported (never applied); returns the entries that changed our state.
   */
  merge(incoming: unknown[], from: string, refuse?: (entry: StateEntry) => boolean): StateEntry[] {
    const applied: StateEntry[] = [];
    for (const raw of incoming) {
      const problem = entryProblem(raw, this.clock);
      if (problem) {
        this.logger.warn({ from, problem }, "refused a state entry");
        continue;
      }
      const entry = raw as StateEntry;
      if (refuse?.(entry)) continue;
      this.clock.observe(entry.stampUs);
      const current = this.entries.get(entry.key);
      if (current && compareVersions(entry, current) <= 0) continue;
      const clean: StateEntry = {
        key: entry.key,
        value: entry.value,
        stampUs: entry.stampUs,
        owner: entry.owner,
      };
      if (entry.deleted) clean.deleted = true;
      this.install(clean, "remote");
      applied.push(clean);
    }
    return applied;
  }

  /** Every entry (tombstones included) newer than `since[owner]` for its owner. */
  entriesSince(since: Record<string, StampUs>): StateEntry[] {
    const out: StateEntry[] = [];
    for (const [owner, group] of this.byOwner) {
      const after = since[owner] ?? 0;
      if (group.maxStampUs <= after) continue;
      for (const e of group.entries.values()) if (e.stampUs > after) out.push(e);
    }
    return out;
  }

  /** The newest stamp of anything this node wrote (0 if nothing): how far its own writes go. */
  ownMaxStampUs(): StampUs {
    return this.byOwner.get(this.host)?.maxStampUs ?? 0;
  }

  /** Entries written by this node with a stamp above `afterUs`. */
  ownEntriesAfter(afterUs: StampUs): StateEntry[] {
    const group = this.byOwner.get(this.host);
    if (!group || group.maxStampUs <= afterUs) return [];
    return [...group.entries.values()].filter((e) => e.stampUs > afterUs);
  }

  /** The newest stamp this node has issued or observed. */
  clockLatest(): StampUs {
    return this.clock.latest();
  }

  /**
   * A short fingerprint of `seen` without the given owners, with every
   * stamp clipped at `horizonUs`. Two nodes with equal fingerprints hold the
   * same writes of every other owner up to the horizon, so a pull between
   * them only has to compare their own entries (see peer-link.ts). Writes
   * newer than the horizon travel by push; clipping keeps a push that is
   * still on its way from making every pull look out of sync.
   */
  seenDigest(exclude: readonly string[], horizonUs: StampUs): string {
    const parts = [...this.seenMap]
      .filter(([owner]) => !exclude.includes(owner))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([owner, stamp]) => `${owner}=${Math.min(stamp, horizonUs)}`);
    return createHash("sha256").update(parts.join("\n")).digest("base64url").slice(0, 22);
  }

  seen(): Record<string, StampUs> {
    return Object.fromEntries(this.seenMap);
  }

  /** Records that we hold everything `owner` wrote up to `stampUs`. */
  noteComplete(owner: string, stampUs: StampUs): void {
    if (stampUs > (this.seenMap.get(owner) ?? 0)) {
      this.seenMap.set(owner, stampUs);
      this.persist({ seen: { [owner]: stampUs } });
    }
  }

  /**
   * Removes tombstones that every member has seen (`seenBy` holds each
   * member's completeness map as last reported to us) and are older than
   * `minAgeUs`. Returns how many were collected.
   */
  collectTombstones(
    members: string[],
    seenBy: Map<string, Record<string, StampUs>>,
    minAgeUs: number,
  ): number {
    const nowUs = this.clock.latest();
    let collected = 0;
    for (const e of [...this.entries.values()]) {
      if (!e.deleted || nowUs - e.stampUs < minAgeUs) continue;
      const everyoneSaw = members.every(
        (m) => m === this.host || (seenBy.get(m)?.[e.owner] ?? 0) >= e.stampUs,
      );
      if (everyoneSaw) {
        this.unindex(e);
        this.persist({ drop: { key: e.key, stampUs: e.stampUs } });
        collected += 1;
      }
    }
    return collected;
  }

  /**
   * Drops every entry written by a removed host, except removal records:
   * they must outlive the host's other entries so that stale copies relayed
   * by slower nodes are refused instead of resurrecting the host.
   */
  forgetOwner(owner: string): number {
    let n = 0;
    for (const e of [...(this.byOwner.get(owner)?.entries.values() ?? [])]) {
      if (!e.key.startsWith("cluster/removed/")) {
        this.unindex(e);
        this.persist({ drop: { key: e.key, stampUs: e.stampUs } });
        n += 1;
      }
    }
    this.seenMap.delete(owner);
    return n;
  }

  /** Forgets everything (this node left the cluster) and persists the empty state. */
  async clear(): Promise<void> {
    this.entries.clear();
    this.byOwner.clear();
    this.seenMap.clear();
    this.persist({ clear: true });
    await this.flush();
  }

  /** Resolves when the state as it is now is durable. */
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

  private index(entry: StateEntry): void {
    const previous = this.entries.get(entry.key);
    if (previous) this.unindex(previous);
    this.entries.set(entry.key, entry);
    let group = this.byOwner.get(entry.owner);
    if (!group) {
      group = { entries: new Map(), maxStampUs: 0 };
      this.byOwner.set(entry.owner, group);
    }
    group.entries.set(entry.key, entry);
    group.maxStampUs = Math.max(group.maxStampUs, entry.stampUs);
  }

  private unindex(entry: StateEntry): void {
    this.entries.delete(entry.key);
    const group = this.byOwner.get(entry.owner);
    group?.entries.delete(entry.key);
    if (group?.entries.size === 0) this.byOwner.delete(entry.owner);
  }

  private install(entry: StateEntry, source: ChangeSource): void {
    this.index(entry);
    this.persist({ put: entry });
    this.emit("change", entry, source);
  }

  /** Queues a change for the journal; changes of one tick and of the time an append takes share a sync. */
  private persist(op: JournalOp): void {
    this.pending.push(op);
    if (!this.persisting && this.pending.length === 1) queueMicrotask(() => this.startPersist());
  }

  private startPersist(): void {
    if (this.persisting || this.pending.length === 0) return;
    const ops = this.pending;
    this.pending = [];
    this.persisting = this.write(ops)
      .catch((err: unknown) => {
        this.persistError = err instanceof Error ? err : new Error(String(err));
        this.logger.error({ err }, "persisting the cluster state failed");
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
    const snapshotNeeded =
      this.journal.failed !== undefined ||
      this.journal.sizeBytes >= this.maxJournalBytes ||
      ops.some((op) => "clear" in op);
    if (!snapshotNeeded) {
      await this.journal.append(ops);
      return;
    }
    const generation = this.random.bytes(8).toString("hex");
    const snapshot: PersistedState = {
      format: 1,
      entries: [...this.entries.values()],
      seen: this.seen(),
      generation,
    };
    await writeFileAtomic(path.join(this.dir, STATE_FILE), JSON.stringify(snapshot), this.storage);
    if (this.journal.failed) {
      const failed = this.journal;
      this.journal = await StateJournal.replace(this.storage, failed.path, generation);
      await failed.close().catch(() => undefined);
    } else {
      await this.journal.reset(generation);
    }
  }

  /** Closes the journal (after a final flush). */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.journal.close();
  }
}

/**
 * The replicated cluster state on one node: key -> entry, where an entry
 * carries its value, the Lamport stamp of its last write and the writer
 * (owner). It replaces MARS's /mars symlink tree.
 *
 * Rules:
 * - merge: an incoming entry replaces the local one iff it is newer (higher
 *   stamp; ties broken by owner, then by content, so every node decides the
 *   same way: state-entry.ts). Only an allowed writer may write a key
 *   (keys.ts).
 * - deletion is a tombstone (an entry with `deleted: true`) so it spreads
 *   like any write; tombstones are collected only once every member has seen
 *   them (see `collectTombstones`).
 * - completeness: `seen[owner]` is a stamp up to which this node holds every
 *   entry written by `owner` (or a newer version of it). Pulls ask peers for
 *   entries newer than `seen`, which keeps each exchange a delta.
 * - persistence: every change is handed to state-persistence.ts (a journal
 *   plus snapshots); `flush()` waits until what is in memory now is on disk.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { isDeepStrictEqual } from "node:util";
import { mayWrite } from "./keys.js";
import { MAX_VALUE_BYTES, StateWriteError, compareVersions, entryProblem, } from "./state-entry.js";
import { DEFAULT_MAX_JOURNAL_BYTES, StatePersistence } from "./state-persistence.js";
export class StateStore extends EventEmitter {
    host;
    clock;
    logger;
    persistence;
    entries = new Map();
    /** The same entries by writer, with each writer's newest stamp: deltas skip quiet writers cheaply. */
    byOwner = new Map();
    seenMap = new Map();
    constructor(host, clock, logger, persistence) {
        super();
        this.host = host;
        this.clock = clock;
        this.logger = logger;
        this.persistence = persistence;
    }
    /** Loads the persisted state (or starts empty). */
    static async load(dir, host, clock, logger, storage, random, maxJournalBytes = DEFAULT_MAX_JOURNAL_BYTES) {
        const persistence = await StatePersistence.open({ dir, logger, storage, random, maxJournalBytes });
        const store = new StateStore(host, clock, logger, persistence);
        await persistence.recover({
            replay: (op) => store.replay(op),
            snapshot: () => ({ entries: [...store.entries.values()], seen: store.seen() }),
        });
        return store;
    }
    /** Applies a persisted operation at load time (the merge rule makes replays harmless). */
    replay(op) {
        if ("put" in op) {
            const e = op.put;
            // Stamps we issued before a restart must never be reissued.
            if (e.owner === this.host)
                this.clock.restore(e.stampUs);
            else
                this.clock.observe(e.stampUs);
            const current = this.entries.get(e.key);
            if (!current || compareVersions(e, current) > 0)
                this.index(e);
        }
        else if ("drop" in op) {
            const current = this.entries.get(op.drop.key);
            if (current && current.stampUs <= op.drop.stampUs)
                this.unindex(current);
        }
        else if ("seen" in op) {
            for (const [owner, stamp] of Object.entries(op.seen)) {
                if (stamp > (this.seenMap.get(owner) ?? 0))
                    this.seenMap.set(owner, stamp);
            }
        }
        else if ("generation" in op) {
            // Only ever a journal's first line, taken off by StateJournal.open.
        }
        else {
            this.entries.clear();
            this.byOwner.clear();
            this.seenMap.clear();
        }
    }
    get size() {
        return this.entries.size;
    }
    get tombstoneCount() {
        let n = 0;
        for (const e of this.entries.values())
            if (e.deleted)
                n += 1;
        return n;
    }
    /** Everything, tombstones included (for tests and diagnostics). */
    allEntries() {
        return [...this.entries.values()];
    }
    /** The live entry of a key (tombstones read as absent). */
    get(key) {
        const e = this.entries.get(key);
        return e && !e.deleted ? e : undefined;
    }
    value(key) {
        return this.get(key)?.value;
    }
    /** Live entries whose key starts with prefix, sorted by key. */
    list(prefix = "") {
        const out = [];
        for (const e of this.entries.values())
            if (!e.deleted && e.key.startsWith(prefix))
                out.push(e);
        return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    /** Writes a key as this node. Returns the new entry, or undefined if the value was already that. */
    set(key, value) {
        if (!mayWrite(key, this.host))
            throw new StateWriteError(`${this.host} may not write ${key}`);
        if (JSON.stringify(value).length > MAX_VALUE_BYTES)
            throw new StateWriteError(`value of ${key} is too large`);
        const current = this.get(key);
        if (current && isDeepStrictEqual(current.value, value))
            return undefined;
        const entry = { key, value, stampUs: this.clock.now(), owner: this.host };
        this.install(entry, "local");
        return entry;
    }
    /** Deletes a key as this node (a tombstone). Undefined if it was absent. */
    delete(key) {
        if (!mayWrite(key, this.host))
            throw new StateWriteError(`${this.host} may not write ${key}`);
        if (!this.get(key))
            return undefined;
        const entry = {
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
    merge(incoming, from, refuse) {
        const applied = [];
        for (const raw of incoming) {
            const problem = entryProblem(raw, this.clock);
            if (problem) {
                this.logger.warn({ from, problem }, "refused a state entry");
                continue;
            }
            const entry = raw;
            if (refuse?.(entry))
                continue;
            this.clock.observe(entry.stampUs);
            const current = this.entries.get(entry.key);
            if (current && compareVersions(entry, current) <= 0)
                continue;
            const clean = {
                key: entry.key,
                value: entry.value,
                stampUs: entry.stampUs,
                owner: entry.owner,
            };
            if (entry.deleted)
                clean.deleted = true;
            this.install(clean, "remote");
            applied.push(clean);
        }
        return applied;
    }
    /** Every entry (tombstones included) newer than `since[owner]` for its owner. */
    entriesSince(since) {
        const out = [];
        for (const [owner, group] of this.byOwner) {
            const after = since[owner] ?? 0;
            if (group.maxStampUs <= after)
                continue;
            for (const e of group.entries.values())
                if (e.stampUs > after)
                    out.push(e);
        }
        return out;
    }
    /** The newest stamp of anything this node wrote (0 if nothing): how far its own writes go. */
    ownMaxStampUs() {
        return this.byOwner.get(this.host)?.maxStampUs ?? 0;
    }
    /** Entries written by this node with a stamp above `afterUs`. */
    ownEntriesAfter(afterUs) {
        const group = this.byOwner.get(this.host);
        if (!group || group.maxStampUs <= afterUs)
            return [];
        return [...group.entries.values()].filter((e) => e.stampUs > afterUs);
    }
    /** The newest stamp this node has issued or observed. */
    clockLatest() {
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
    seenDigest(exclude, horizonUs) {
        const parts = [...this.seenMap]
            .filter(([owner]) => !exclude.includes(owner))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([owner, stamp]) => `${owner}=${Math.min(stamp, horizonUs)}`);
        return createHash("sha256").update(parts.join("\n")).digest("base64url").slice(0, 22);
    }
    seen() {
        return Object.fromEntries(this.seenMap);
    }
    /** Records that we hold everything `owner` wrote up to `stampUs`. */
    noteComplete(owner, stampUs) {
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
    collectTombstones(members, seenBy, minAgeUs) {
        const nowUs = this.clock.latest();
        let collected = 0;
        for (const e of [...this.entries.values()]) {
            if (!e.deleted || nowUs - e.stampUs < minAgeUs)
                continue;
            const everyoneSaw = members.every((m) => m === this.host || (seenBy.get(m)?.[e.owner] ?? 0) >= e.stampUs);
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
    forgetOwner(owner) {
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
    async clear() {
        this.entries.clear();
        this.byOwner.clear();
        this.seenMap.clear();
        this.persist({ clear: true });
        await this.flush();
    }
    /** Resolves when the state as it is now is durable. */
    async flush() {
        await this.persistence.flush();
    }
    index(entry) {
        const previous = this.entries.get(entry.key);
        if (previous)
            this.unindex(previous);
        this.entries.set(entry.key, entry);
        let group = this.byOwner.get(entry.owner);
        if (!group) {
            group = { entries: new Map(), maxStampUs: 0 };
            this.byOwner.set(entry.owner, group);
        }
        group.entries.set(entry.key, entry);
        group.maxStampUs = Math.max(group.maxStampUs, entry.stampUs);
    }
    unindex(entry) {
        this.entries.delete(entry.key);
        const group = this.byOwner.get(entry.owner);
        group?.entries.delete(entry.key);
        if (group?.entries.size === 0)
            this.byOwner.delete(entry.owner);
    }
    install(entry, source) {
        this.index(entry);
        this.persist({ put: entry });
        this.emit("change", entry, source);
    }
    persist(op) {
        this.persistence.persist(op);
    }
    /** Closes the journal (after a final flush). */
    async close() {
        await this.persistence.close();
    }
}
//# sourceMappingURL=state-store.js.map
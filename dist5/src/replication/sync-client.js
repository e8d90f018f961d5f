import { PeerCallError } from "../peer/client.js";
import { PeerProtocolError, readPeerErrorBody } from "../peer/error-codes.js";
import { ByteBudget } from "../util/byte-budget.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { acceptedCodecs } from "./compression.js";
import { FrameType } from "./frames.js";
import { openFrameStream } from "./fetch-stream.js";
import { ReplayLimit, endPosition } from "./replay-limit.js";
import { DIGEST_BYTES, hashLeaves, leafAt, rangeDigest, rangesFrom } from "./sync-digest.js";
import { SYNC_CHUNK_BYTES, syncedBytesBelow } from "./sync-regions.js";
import { SYNC_DIGEST_RANGES, SYNC_WINDOW_CHUNKS } from "./sync-server.js";
const MAX_DIGESTS_IN_FLIGHT = 2;
/** Ranges per digest request (256 MiB): few round trips for equal disks, still a fine pipeline. */
const RANGES_PER_DIGEST = 4;
const MAX_WINDOWS_IN_FLIGHT = 8;
/** Chunks per data window: 8 MiB, so that 8 windows fill the default bytes in flight. */
const DATA_WINDOW_CHUNKS = Math.min(8, SYNC_WINDOW_CHUNKS);
/** Bytes of one data window at most. */
export const SYNC_DATA_WINDOW_BYTES = DATA_WINDOW_CHUNKS * SYNC_CHUNK_BYTES;
/**
 * Ranges hashed and asked about but not yet done: bounds the member's
 * bookkeeping when data moves slower than digests (a different disk on a
 * slow link); equal ranges are done one round trip after they are hashed.
 */
const MAX_AHEAD_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_SYNC_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 1000;
export class SyncClient {
    deps;
    doneBytes;
    onDone;
    stopped = false;
    paused = false;
    running;
    wake;
    /** Aborts the pass in progress (every request of it, see PeerClient.open). */
    passAbort = new AbortController();
    state = "syncing";
    lastError;
    syncEnd;
    /** Bytes that were equal already (not transferred). */
    sameBytes = 0;
    rateWindow = [];
    lastSaveMs = 0;
    /** How far replay may apply meanwhile (replay-limit.ts). */
    limit = new ReplayLimit(() => this.deps.onReplayLimit?.());
    /** Gives the node's sync slot back (held from the first pass until done, paused or stopped). */
    releaseSlot;
    constructor(deps, doneBytes, onDone) {
        this.deps = deps;
        this.doneBytes = doneBytes;
        this.onDone = onDone;
    }
    /** Bytes per second over the last minute of progress. */
    get rateBytesPerSec() {
        const w = this.rateWindow;
        if (w.length < 2)
            return 0;
        const first = w[0];
        const last = w[w.length - 1];
        return last.atMs > first.atMs
            ? ((last.doneBytes - first.doneBytes) * 1000) / (last.atMs - first.atMs)
            : 0;
    }
    start() {
        this.running ??= this.loop();
    }
    /** How far replay may apply while this sync copies (replay-limit.ts). */
    replayLimit() {
        return this.limit.position;
    }
    /** Where the copy ends: the disk's end, or the last region's. */
    get endBytes() {
        const last = this.deps.regions?.[this.deps.regions.length - 1];
        return this.deps.regions ? (last ? last[0] + last[1] : 0) : this.deps.sizeBytes;
    }
    async stop() {
        this.stopped = true;
        this.passAbort.abort();
        this.wake?.();
        await this.running;
    }
    setPaused(paused) {
        this.paused = paused;
        if (paused)
            this.passAbort.abort();
        else
            this.wake?.();
    }
    async loop() {
        let failures = 0;
        // Until the source has said where its log stood at the end (syncEnd):
        // an empty region list still takes one (empty) request for it.
        while (!this.stopped && (this.doneBytes < this.endBytes || !this.syncEnd)) {
            if (this.paused) {
                this.releaseSlot?.();
                this.releaseSlot = undefined;
                this.state = "paused";
                await new Promise((resolve) => (this.wake = resolve));
                continue;
            }
            try {
                this.passAbort = new AbortController();
                if (!this.releaseSlot && this.deps.admission) {
                    this.state = "queued";
                    this.releaseSlot = await this.deps.admission(this.passAbort.signal);
                }
                this.state = "syncing";
                await this.pass(this.passAbort);
                failures = 0;
            }
            catch (err) {
                if (this.stopped || this.paused)
                    continue;
                failures += 1;
                this.lastError = errorMessage(err);
                if (this.deps.maxFailures !== undefined && failures >= this.deps.maxFailures) {
                    this.stopped = true;
                    this.state = "stopped";
                    this.deps.onFailed?.(err);
                    break;
                }
                this.state = "retrying";
                if (failures === 1 || failures % 20 === 0) {
                    this.deps.logger.warn({ resource: this.deps.resource, err: this.lastError, doneBytes: this.doneBytes }, "sync interrupted, retrying");
                }
                const delayMs = Math.min(this.deps.retryMaxMs, 100 * 2 ** Math.min(failures, 10));
                await new Promise((resolve) => {
                    const timer = this.deps.time.setTimer(delayMs, resolve);
                    this.wake = () => {
                        timer.cancel();
                        resolve();
                    };
                });
            }
        }
        this.releaseSlot?.();
        this.releaseSlot = undefined;
        if (!this.stopped && this.doneBytes >= this.endBytes && this.syncEnd) {
            this.state = "done";
            this.onDone(this.syncEnd);
        }
    }
    /**
     * One attempt from the cursor to the end. The first failure aborts every
     * request of the pass; it throws once all have settled (nothing of this
     * pass writes after it returns).
     */
    async pass(abort) {
        const { signal } = abort;
        const { deps } = this;
        const source = deps.source();
        if (!source)
            throw new OperatorError("PRIMARY_UNREACHABLE", "the primary is not reachable");
        const credentials = deps.credentials();
        if (!credentials)
            throw new OperatorError("NOT_IN_CLUSTER", "this node is not in a cluster");
        this.limit.sourceIs(source.host);
        const call = { source, credentials, signal };
        const tasks = [];
        const work = new Set();
        let failure;
        const track = (p) => {
            const tracked = p.catch((err) => {
                failure ??= { err };
                abort.abort();
            });
            work.add(tracked);
            void tracked.finally(() => work.delete(tracked));
        };
        const digests = new ByteBudget(Number.MAX_SAFE_INTEGER, MAX_DIGESTS_IN_FLIGHT);
        const windows = new ByteBudget(deps.maxInFlightBytes?.() ?? DEFAULT_SYNC_IN_FLIGHT_BYTES, MAX_WINDOWS_IN_FLIGHT);
        const ahead = new ByteBudget(MAX_AHEAD_BYTES);
        const advance = () => this.advance(tasks, false, ahead);
        const ranges = rangesFrom(deps.regions, deps.sizeBytes, this.doneBytes);
        for (let batch = takeBatch(ranges); batch.length > 0 && !signal.aborted; batch = takeBatch(ranges)) {
            const leaves = [];
            for (const range of batch) {
                await ahead.acquire(range.endBytes - range.startBytes, signal).catch(() => undefined);
                if (signal.aborted)
                    break;
                const l = await hashLeaves((at, t) => this.readLocal(at, t), range, signal);
                if (!l)
                    break;
                leaves.push(l);
            }
            if (signal.aborted)
                break;
            await digests.acquire(0, signal).catch(() => undefined);
            if (signal.aborted)
                break;
            const batchTasks = batch.map((r) => ({ ...r, pendingWindows: new Set(), answered: false }));
            tasks.push(...batchTasks);
            track(this.digestRequest(call, batchTasks, leaves, (task, theirs, mine) => this.fetchDiffering(call, task, theirs, mine, windows, track, advance))
                .then(advance)
                .finally(() => digests.release(0)));
        }
        while (work.size > 0)
            await Promise.race(work);
        if (failure)
            throw failure.err;
        signal.throwIfAborted();
        await this.advance(tasks, true, ahead);
        if (this.doneBytes < this.endBytes)
            return;
        // Every read of the source is done: where its log stands now is past all of them.
        let end;
        await this.digestRequest(call, [], [], () => undefined, (position) => (end = position));
        if (!end)
            throw new PeerProtocolError("sync end missing");
        this.syncEnd = end;
        await this.save(true);
    }
    /** Reads the local disk for hashing (zero past its end). */
    async readLocal(offsetBytes, target) {
        const n = await this.deps.disk.read(target, offsetBytes);
        if (n < target.length)
            target.fill(0, n);
    }
    /** Sends the ranges' digests; calls `differs` for each range the source holds differently. */
    async digestRequest(call, tasks, leaves, differs, ended = () => undefined) {
        const body = {
            resource: this.deps.resource,
            ranges: tasks.map((t, i) => ({
                offsetBytes: t.startBytes,
                lengthBytes: t.endBytes - t.startBytes,
                digest: rangeDigest(leaves[i]).toString("hex"),
            })),
        };
        let next = 0;
        await this.request(call, "/peer/v1/sync/digest", body, false, (frame) => {
            const task = tasks[next];
            if (frame.type === FrameType.End) {
                if (next !== tasks.length)
                    throw new PeerProtocolError("digest answer ended early");
                ended(endPosition(frame.payload));
                return true;
            }
            if (!task ||
                frame.offsetBytes !== task.startBytes ||
                frame.valueBytes !== task.endBytes - task.startBytes)
                throw new PeerProtocolError(`digest answer for ${frame.offsetBytes}, expected ${task?.startBytes}`);
            next += 1;
            if (frame.type === FrameType.Same) {
                this.sameBytes += task.endBytes - task.startBytes;
            }
            else if (frame.type === FrameType.Digests) {
                const mine = leaves[next - 1];
                if (frame.payload.length !== mine.length)
                    throw new PeerProtocolError("digest answer of another size");
                differs(task, frame.payload, mine);
            }
            else {
                throw new PeerProtocolError(`unexpected frame ${frame.type} in a digest answer`);
            }
            task.answered = true;
            return false;
        });
    }
    /** Requests the chunks of `task` whose leaves differ, in windows of consecutive chunks. */
    fetchDiffering(call, task, theirs, mine, windows, track, advance) {
        const count = mine.length / DIGEST_BYTES;
        for (let i = 0; i < count;) {
            if (leafAt(theirs, i).equals(leafAt(mine, i))) {
                this.sameBytes += Math.min(SYNC_CHUNK_BYTES, task.endBytes - (task.startBytes + i * SYNC_CHUNK_BYTES));
                i += 1;
                continue;
            }
            let j = i + 1;
            while (j < count && j - i < DATA_WINDOW_CHUNKS && !leafAt(theirs, j).equals(leafAt(mine, j)))
                j += 1;
            const startBytes = task.startBytes + i * SYNC_CHUNK_BYTES;
            const endBytes = Math.min(task.endBytes, task.startBytes + j * SYNC_CHUNK_BYTES);
            i = j;
            if (this.deps.compareOnly) {
                this.deps.compareOnly(startBytes, endBytes);
                continue;
            }
            task.pendingWindows.add(startBytes);
            track(this.dataWindow(call, startBytes, endBytes, windows).then(() => {
                task.pendingWindows.delete(startBytes);
                return advance();
            }));
        }
    }
    /** Fetches [startBytes, endBytes) (chunks known to differ) and writes it. */
    async dataWindow(call, startBytes, endBytes, windows) {
        const { deps } = this;
        const bytes = endBytes - startBytes;
        await windows.acquire(bytes, call.signal);
        // Registered before it is asked: the source reads it at or after the position known now.
        const id = this.limit.asking();
        try {
            const hashes = new Array(Math.ceil(bytes / SYNC_CHUNK_BYTES)).fill("");
            let at = startBytes;
            // Every write is awaited before the window settles, even when it fails:
            // a write of this pass landing after the next pass copied the chunk could regress it.
            const writes = [];
            const written = this.request(call, "/peer/v1/sync/window", 
            // Compressed DATA (if this node accepts it) arrives decompressed: FrameDecoder bounds and expands it.
            {
                resource: deps.resource,
                offsetBytes: startBytes,
                hashes,
                compression: acceptedCodecs(!!deps.acceptCompression?.()),
            }, true, (frame) => {
                if (frame.type === FrameType.End) {
                    if (at !== endBytes)
                        throw new PeerProtocolError("sync window ended early");
                    return true;
                }
                if (frame.type !== FrameType.Data && frame.type !== FrameType.Same)
                    throw new PeerProtocolError(`unexpected frame ${frame.type} in a sync window`);
                if (frame.offsetBytes !== at)
                    throw new PeerProtocolError(`sync chunk for ${frame.offsetBytes}, expected ${at}`);
                const length = frame.type === FrameType.Data ? frame.payload.length : frame.valueBytes;
                if (length <= 0 || at + length > endBytes)
                    throw new PeerProtocolError("sync chunk out of range");
                if (frame.type === FrameType.Data) {
                    writes.push(deps.disk.writev([frame.payload], at));
                    deps.metrics.replicationSyncTransferredBytes.labels(deps.resource).inc(length);
                }
                else {
                    this.sameBytes += length;
                }
                at += length;
                return false;
            });
            const settled = await Promise.allSettled([written, ...writes]);
            const failed = settled.find((s) => s.status === "rejected");
            if (failed)
                throw failed.reason;
        }
        finally {
            windows.release(bytes);
            this.limit.written(id);
        }
    }
    /** One signed request; feeds each verified frame to `onFrame` until it returns true (END). */
    async request({ source, credentials, signal }, path, body, 
    /** Data comes: pass the bandwidth limits as it arrives (TCP then slows the source). */
    throttled, onFrame) {
        const { deps } = this;
        const { response, decoder } = await openFrameStream(deps.client, credentials, source, path, body, signal);
        for await (const data of response.body) {
            deps.metrics.peerReceivedBytes.labels(source.host).inc(data.length);
            if (throttled)
                await deps.throttle?.(data.length, signal);
            for (const frame of decoder.push(data)) {
                if (frame.type === FrameType.End)
                    this.limit.reported(endPosition(frame.payload));
                if (frame.type === FrameType.Error) {
                    const e = readPeerErrorBody(JSON.parse(frame.payload.toString("utf8")), "sync refused");
                    throw new PeerCallError(200, e.code, e.message);
                }
                if (onFrame(frame))
                    return;
            }
        }
        throw new PeerProtocolError("sync answer ended early");
    }
    /**
     * Moves the cursor over the ranges done, in order, and into the first
     * one up to its lowest data window not yet written; saves it now and
     * then (always when `force`).
     */
    async advance(tasks, force, ahead) {
        const before = this.doneBytes;
        for (let first = tasks[0]; first?.answered; first = tasks[0]) {
            if (first.pendingWindows.size > 0) {
                this.doneBytes = Math.max(this.doneBytes, Math.min(...first.pendingWindows));
                break;
            }
            tasks.shift();
            this.doneBytes = first.endBytes;
            ahead.release(first.endBytes - first.startBytes);
        }
        if (this.doneBytes > before || force)
            await this.save(force);
    }
    savePending = Promise.resolve();
    /** Persists the cursor (after an fdatasync: what it covers is on disk), one save at a time. */
    save(force) {
        const { deps } = this;
        const nowMs = deps.time.monotonicMs();
        this.rateWindow.push({ atMs: nowMs, doneBytes: this.doneBytes });
        while (this.rateWindow.length > 2 && nowMs - (this.rateWindow[0]?.atMs ?? 0) > 60_000)
            this.rateWindow.shift();
        deps.metrics.replicationSyncDoneBytes
            .labels(deps.resource)
            .set(syncedBytesBelow(deps.regions, deps.sizeBytes, this.doneBytes));
        if (!force && nowMs - this.lastSaveMs < PROGRESS_INTERVAL_MS)
            return this.savePending;
        this.lastSaveMs = nowMs;
        const doneBytes = this.doneBytes;
        // A failed save fails this pass only; the next one saves afresh.
        this.savePending = this.savePending
            .catch(() => undefined)
            .then(async () => {
            await deps.disk.datasync();
            await deps.saveProgress(doneBytes, doneBytes >= this.endBytes ? this.syncEnd : undefined);
        });
        return this.savePending;
    }
}
/** The next ranges for one digest request. */
function takeBatch(ranges) {
    const batch = [];
    while (batch.length < Math.min(RANGES_PER_DIGEST, SYNC_DIGEST_RANGES)) {
        const r = ranges.next();
        if (r.done)
            break;
        batch.push(r.value);
    }
    return batch;
}
//# sourceMappingURL=sync-client.js.map
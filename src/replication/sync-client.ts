/**
 * The member's side of a sync: copies the source's disk, all of it (a
 * joining member: full sync) or a list of regions (a region resync), only
 * where it differs, resumable.
 *
 * Pipelined, in two levels (sync-digest.ts): the member asks the source
 * for the leaves of a batch of ranges and hashes the same ranges while
 * the source does, several requests ahead; where the leaves differ it asks
 * for those chunks (data windows), several at once. So neither the round
 * trip nor one side's hashing bounds the rate, and both ends hash at once
 * from the first batch to the last: equal disks move at hashing speed,
 * different ones at the link's. (Sending our range digests and getting
 * SAME back would cost 32 bytes per range instead of 32 per chunk, but the
 * source could only start hashing once we had finished.)
 *
 * Bounds: MAX_DIGESTS_IN_FLIGHT digest requests, and data windows within
 * `maxInFlightBytes` and MAX_WINDOWS_IN_FLIGHT (each request is a
 * connection: the node's socket pool per peer is shared with fetches and
 * state). Data passes the bandwidth limits as it arrives.
 *
 * Progress: `doneBytes` is the cursor below which every range is copied or
 * found equal. It is persisted (after an fdatasync of the disk) at most
 * every PROGRESS_INTERVAL_MS and at the end, so an interrupted sync (a
 * network fault, a pause, a restart of either side) resumes there; work
 * beyond it is redone, mostly as SAME answers. When the cursor reaches the
 * end, one more (empty) digest request returns the source's log position
 * after every read: `syncEnd`. The replica is consistent only once its
 * replay has passed that point (MARS's syncpos).
 */
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { LogPosition } from "../log/log-stream.js";
import type { Metrics } from "../metrics/metrics.js";
import { PeerCallError, type PeerClient, type PeerCredentials } from "../peer/client.js";
import { PeerProtocolError, readPeerErrorBody } from "../peer/error-codes.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { RandomAccessFile } from "../platform/storage/types.js";
import { ByteBudget } from "../util/byte-budget.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { acceptedCodecs } from "./compression.js";
import { FrameType, type Frame } from "./frames.js";
import { openFrameStream } from "./fetch-stream.js";
import { ReplayLimit, endPosition } from "./replay-limit.js";
import { DIGEST_BYTES, hashLeaves, leafAt, rangesFrom, type SyncRange } from "./sync-digest.js";
import { SYNC_CHUNK_BYTES, syncedBytesBelow, type SyncRegions } from "./sync-regions.js";
import { SYNC_DIGEST_RANGES, SYNC_WINDOW_CHUNKS } from "./sync-server.js";

/**
 * Four: a request is sent when we start hashing its batch and answered
 * after the source hashed it too; at a 200 ms round trip that is about two
 * batches' hashing later, and we hash on meanwhile.
 */
const MAX_DIGESTS_IN_FLIGHT = 4;
/**
 * Ranges per digest request (256 MiB): few round trips for equal disks,
 * still a fine pipeline. A pass starts with one range and doubles up to
 * this, so the first data moves after hashing 64 MiB, not 256 MiB, on each
 * side (it shows on small region resyncs and short syncs over long links).
 */
const RANGES_PER_DIGEST = 4;
/**
 * Twelve: each window costs a round trip without data between its request
 * and its first byte; with 12 of 8 MiB (the default 96 MiB in flight) the
 * others keep a 200 ms link full meanwhile (bench:sync: 8 reached 0.93x of
 * the link in steady state, 12 the link's rate).
 */
const MAX_WINDOWS_IN_FLIGHT = 12;
/** Chunks per data window: 8 MiB, so that 12 windows fill the default bytes in flight. */
const DATA_WINDOW_CHUNKS = Math.min(8, SYNC_WINDOW_CHUNKS);
/** Bytes of one data window at most. */
export const SYNC_DATA_WINDOW_BYTES = DATA_WINDOW_CHUNKS * SYNC_CHUNK_BYTES;
/**
 * Ranges hashed and asked about but not yet done: bounds the member's
 * bookkeeping when data moves slower than digests (a different disk on a
 * slow link); equal ranges are done one round trip after they are hashed.
 */
const MAX_AHEAD_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_SYNC_IN_FLIGHT_BYTES = 96 * 1024 * 1024;
/**
 * Listeners on a pass's abort signal at most: each request in flight (its
 * socket, a bandwidth wait) and each budget wait adds some. Node warns
 * past 10 (MaxListenersExceededWarning in the log on every sync).
 */
const PASS_SIGNAL_LISTENERS = 4 * (MAX_DIGESTS_IN_FLIGHT + MAX_WINDOWS_IN_FLIGHT);
const PROGRESS_INTERVAL_MS = 1000;

export interface SyncClientDeps {
  resource: string;
  disk: RandomAccessFile;
  sizeBytes: number;
  /** Retry back-off and the transfer rate's clock. */
  time: Clock;
  client: PeerClient;
  credentials: () => PeerCredentials | undefined;
  /** The node to copy from and its address, if reachable. */
  source: () => { host: string; address: string } | undefined;
  /** Persists progress (the disk is synced first). */
  saveProgress: (doneBytes: number, syncEnd: LogPosition | undefined) => Promise<void>;
  /** Copy only these (a region resync); undefined: the whole disk. doneBytes is then a cursor over the disk. */
  regions?: SyncRegions;
  /** Waits until `bytes` more sync data may be received (bandwidth limits). */
  throttle?: (bytes: number, signal: AbortSignal) => Promise<void>;
  /** Data bytes requested and not yet written (read at each pass); default DEFAULT_SYNC_IN_FLIGHT_BYTES. */
  maxInFlightBytes?: () => number;
  /** Waits for one of the node's sync slots (SyncSlots); returns its release. */
  admission?: (signal: AbortSignal) => Promise<() => void>;
  /**
   * Compare only (an online verify): chunks that differ are reported here
   * instead of copied; nothing is written to the disk.
   */
  compareOnly?: (startBytes: number, endBytes: number) => void;
  /** The replay limit (replayLimit) moved. */
  onReplayLimit?: () => void;
  /**
   * A write or sync of the local disk failed: the sync stops (it is never
   * retried on the same file; the owner fails the resource, which recovers
   * from disk and resumes from the saved progress).
   */
  onDiskFailure?: (err: unknown) => void;
  /** Give up after this many failed attempts in a row (onFailed); default: retry for ever. */
  maxFailures?: number;
  onFailed?: (err: unknown) => void;
  /** Ask the source for compressed data windows (this node's compression setting for the resource). */
  acceptCompression?: () => boolean;
  metrics: Metrics;
  logger: Logger;
  retryMaxMs: number;
}

export type SyncClientState = "queued" | "syncing" | "paused" | "retrying" | "done" | "stopped";

/** A range on its way: done once found equal or all its differing chunks are written. */
interface RangeTask extends SyncRange {
  /** The start of each data window not yet written (the cursor may move up to the lowest). */
  pendingWindows: Set<number>;
  answered: boolean;
}

export class SyncClient {
  private stopped = false;
  private paused = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Aborts the pass in progress (every request of it, see PeerClient.open). */
  private passAbort = new AbortController();
  /** The local disk's first failed write or sync (see onDiskFailure). */
  private diskFailure: unknown;
  state: SyncClientState = "syncing";
  lastError: string | undefined;
  syncEnd: LogPosition | undefined;
  /** Bytes that were equal already (not transferred). */
  sameBytes = 0;
  private rateWindow: Array<{ atMs: number; doneBytes: number }> = [];
  private lastSaveMs = 0;
  /** How far replay may apply meanwhile (replay-limit.ts). */
  private readonly limit = new ReplayLimit(() => this.deps.onReplayLimit?.());
  /** Gives the node's sync slot back (held from the first pass until done, paused or stopped). */
  private releaseSlot: (() => void) | undefined;

  constructor(
    private readonly deps: SyncClientDeps,
    public doneBytes: number,
    private readonly onDone: (syncEnd: LogPosition) => void,
  ) {}

  /** Bytes per second over the last minute of progress. */
  get rateBytesPerSec(): number {
    const w = this.rateWindow;
    if (w.length < 2) return 0;
    const first = w[0] as { atMs: number; doneBytes: number };
    const last = w[w.length - 1] as { atMs: number; doneBytes: number };
    return last.atMs > first.atMs
      ? ((last.doneBytes - first.doneBytes) * 1000) / (last.atMs - first.atMs)
      : 0;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** How far replay may apply while this sync copies (replay-limit.ts). */
  replayLimit(): LogPosition {
    return this.limit.position;
  }

  /** Where the copy ends: the disk's end, or the last region's. */
  private get endBytes(): number {
    const last = this.deps.regions?.[this.deps.regions.length - 1];
    return this.deps.regions ? (last ? last[0] + last[1] : 0) : this.deps.sizeBytes;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.passAbort.abort();
    this.wake?.();
    await this.running;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.passAbort.abort();
    else this.wake?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    // Until the source has said where its log stood at the end (syncEnd):
    // an empty region list still takes one (empty) request for it.
    while (!this.stopped && (this.doneBytes < this.endBytes || !this.syncEnd)) {
      if (this.paused) {
        this.releaseSlot?.();
        this.releaseSlot = undefined;
        this.state = "paused";
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        this.passAbort = new AbortController();
        setMaxListeners(PASS_SIGNAL_LISTENERS, this.passAbort.signal);
        if (!this.releaseSlot && this.deps.admission) {
          this.state = "queued";
          this.releaseSlot = await this.deps.admission(this.passAbort.signal);
        }
        this.state = "syncing";
        await this.pass(this.passAbort);
        failures = 0;
      } catch (err) {
        if (this.diskFailure !== undefined) {
          this.stopped = true;
          this.state = "stopped";
          this.lastError = errorMessage(this.diskFailure);
          this.deps.onDiskFailure?.(this.diskFailure);
          break;
        }
        if (this.stopped || this.paused) continue;
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
          this.deps.logger.warn(
            { resource: this.deps.resource, err: this.lastError, doneBytes: this.doneBytes },
            "sync interrupted, retrying",
          );
        }
        const delayMs = Math.min(this.deps.retryMaxMs, 100 * 2 ** Math.min(failures, 10));
        await new Promise<void>((resolve) => {
          const timer: TimerHandle = this.deps.time.setTimer(delayMs, resolve);
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
  private async pass(abort: AbortController): Promise<void> {
    const { signal } = abort;
    const { deps } = this;
    const source = deps.source();
    if (!source) throw new OperatorError("PRIMARY_UNREACHABLE", "the primary is not reachable");
    const credentials = deps.credentials();
    if (!credentials) throw new OperatorError("NOT_IN_CLUSTER", "this node is not in a cluster");
    this.limit.sourceIs(source.host);
    const call = { source, credentials, signal };
    const tasks: RangeTask[] = [];
    const work = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    const track = (p: Promise<void>): void => {
      const tracked = p.catch((err: unknown) => {
        failure ??= { err };
        abort.abort();
      });
      work.add(tracked);
      void tracked.finally(() => work.delete(tracked));
    };
    const digests = new ByteBudget(Number.MAX_SAFE_INTEGER, MAX_DIGESTS_IN_FLIGHT);
    const windows = new ByteBudget(
      deps.maxInFlightBytes?.() ?? DEFAULT_SYNC_IN_FLIGHT_BYTES,
      MAX_WINDOWS_IN_FLIGHT,
    );
    const ahead = new ByteBudget(MAX_AHEAD_BYTES);
    const advance = (): Promise<void> => this.advance(tasks, false, ahead);

    const ranges = rangesFrom(deps.regions, deps.sizeBytes, this.doneBytes);
    let batchRanges = 1;
    for (
      let batch = takeBatch(ranges, batchRanges);
      batch.length > 0 && !signal.aborted;
      batch = takeBatch(ranges, batchRanges)
    ) {
      batchRanges = Math.min(batchRanges * 2, RANGES_PER_DIGEST, SYNC_DIGEST_RANGES);
      await digests.acquire(0, signal).catch(() => undefined);
      for (const range of batch)
        await ahead.acquire(range.endBytes - range.startBytes, signal).catch(() => undefined);
      if (signal.aborted) break;
      const batchTasks = batch.map((r): RangeTask => ({ ...r, pendingWindows: new Set(), answered: false }));
      tasks.push(...batchTasks);
      // Asked before we hash: the source hashes the batch while we do, so
      // neither end hashes alone at the start or the end of a sync (and the
      // round trip hides behind our hashing).
      const answer = this.digestRequest(call, batchTasks);
      // Handled from now on (not only once tracked below): a failure ends the pass, and our hashing.
      answer.catch((err: unknown) => {
        failure ??= { err };
        abort.abort();
      });
      const leaves: Buffer[] = [];
      for (const range of batch) {
        const l = await hashLeaves((at, t) => this.readLocal(at, t), range, signal);
        if (!l) break;
        leaves.push(l);
      }
      track(
        answer
          .then((theirs) => {
            // Our hashing stopped (the pass is ending): nothing is compared.
            if (leaves.length < batchTasks.length) return;
            batchTasks.forEach((task, i) => {
              this.compare(call, task, theirs[i], leaves[i] as Buffer, windows, track, advance);
            });
          })
          .then(advance)
          .finally(() => digests.release(0)),
      );
    }
    while (work.size > 0) await Promise.race(work);
    if (failure) throw failure.err;
    signal.throwIfAborted();
    await this.advance(tasks, true, ahead);
    if (this.doneBytes < this.endBytes) return;
    // Every read of the source is done and written here: where its log
    // stands now is past all of them. (The highest position the answers
    // ended with would save this round trip; it lost acknowledged writes
    // in a simulated handover, simulator seed 20069, and is not used.)
    let end: LogPosition | undefined;
    await this.digestRequest(call, [], (position) => (end = position));
    if (!end) throw new PeerProtocolError("sync end missing");
    this.syncEnd = end;
    await this.save(true);
  }

  /** Reads the local disk for hashing (zero past its end). */
  private async readLocal(offsetBytes: number, target: Buffer): Promise<void> {
    const n = await this.deps.disk.read(target, offsetBytes);
    if (n < target.length) target.fill(0, n);
  }

  /**
   * Asks the source for the leaves of `tasks`' ranges (undefined where it
   * answers SAME). The digest sent is empty, so every source answers with
   * its leaves (one that compared a real digest would have needed ours
   * first); `ended` gets the source's log position after its reads.
   */
  private async digestRequest(
    call: Call,
    tasks: RangeTask[],
    ended: (position: LogPosition) => void = () => undefined,
  ): Promise<Array<Buffer | undefined>> {
    const body = {
      resource: this.deps.resource,
      ranges: tasks.map((t) => ({
        offsetBytes: t.startBytes,
        lengthBytes: t.endBytes - t.startBytes,
        digest: "",
      })),
    };
    const theirs: Array<Buffer | undefined> = [];
    await this.request(call, "/peer/v1/sync/digest", body, false, (frame) => {
      const task = tasks[theirs.length];
      if (frame.type === FrameType.End) {
        if (theirs.length !== tasks.length) throw new PeerProtocolError("digest answer ended early");
        ended(endPosition(frame.payload));
        return true;
      }
      if (
        !task ||
        frame.offsetBytes !== task.startBytes ||
        frame.valueBytes !== task.endBytes - task.startBytes
      )
        throw new PeerProtocolError(`digest answer for ${frame.offsetBytes}, expected ${task?.startBytes}`);
      if (frame.type === FrameType.Same) {
        theirs.push(undefined);
      } else if (frame.type === FrameType.Digests) {
        const chunks = Math.ceil((task.endBytes - task.startBytes) / SYNC_CHUNK_BYTES);
        if (frame.payload.length !== chunks * DIGEST_BYTES)
          throw new PeerProtocolError("digest answer of another size");
        theirs.push(frame.payload);
      } else {
        throw new PeerProtocolError(`unexpected frame ${frame.type} in a digest answer`);
      }
      return false;
    });
    return theirs;
  }

  /** Both ends' leaves of `task` are known: equal, or the differing chunks are fetched. */
  private compare(
    call: Call,
    task: RangeTask,
    theirs: Buffer | undefined,
    mine: Buffer,
    windows: ByteBudget,
    track: (p: Promise<void>) => void,
    advance: () => Promise<void>,
  ): void {
    if (theirs === undefined || theirs.equals(mine)) this.sameBytes += task.endBytes - task.startBytes;
    else this.fetchDiffering(call, task, theirs, mine, windows, track, advance);
    task.answered = true;
  }

  /** Requests the chunks of `task` whose leaves differ, in windows of consecutive chunks. */
  private fetchDiffering(
    call: Call,
    task: RangeTask,
    theirs: Buffer,
    mine: Buffer,
    windows: ByteBudget,
    track: (p: Promise<void>) => void,
    advance: () => Promise<void>,
  ): void {
    const count = mine.length / DIGEST_BYTES;
    for (let i = 0; i < count;) {
      if (leafAt(theirs, i).equals(leafAt(mine, i))) {
        this.sameBytes += Math.min(
          SYNC_CHUNK_BYTES,
          task.endBytes - (task.startBytes + i * SYNC_CHUNK_BYTES),
        );
        i += 1;
        continue;
      }
      let j = i + 1;
      while (j < count && j - i < DATA_WINDOW_CHUNKS && !leafAt(theirs, j).equals(leafAt(mine, j))) j += 1;
      const startBytes = task.startBytes + i * SYNC_CHUNK_BYTES;
      const endBytes = Math.min(task.endBytes, task.startBytes + j * SYNC_CHUNK_BYTES);
      i = j;
      if (this.deps.compareOnly) {
        this.deps.compareOnly(startBytes, endBytes);
        continue;
      }
      task.pendingWindows.add(startBytes);
      track(
        this.dataWindow(call, startBytes, endBytes, windows).then(() => {
          task.pendingWindows.delete(startBytes);
          return advance();
        }),
      );
    }
  }

  /** Fetches [startBytes, endBytes) (chunks known to differ) and writes it. */
  private async dataWindow(
    call: Call,
    startBytes: number,
    endBytes: number,
    windows: ByteBudget,
  ): Promise<void> {
    const { deps } = this;
    const bytes = endBytes - startBytes;
    await windows.acquire(bytes, call.signal);
    // Registered before it is asked: the source reads it at or after the position known now.
    const id = this.limit.asking();
    try {
      const hashes = new Array<string>(Math.ceil(bytes / SYNC_CHUNK_BYTES)).fill("");
      let at = startBytes;
      // Every write is awaited before the window settles, even when it fails:
      // a write of this pass landing after the next pass copied the chunk could regress it.
      const writes: Array<Promise<unknown>> = [];
      const written = this.request(
        call,
        "/peer/v1/sync/window",
        // Compressed DATA (if this node accepts it) arrives decompressed: FrameDecoder bounds and expands it.
        {
          resource: deps.resource,
          offsetBytes: startBytes,
          hashes,
          compression: acceptedCodecs(!!deps.acceptCompression?.()),
        },
        true,
        (frame) => {
          if (frame.type === FrameType.End) {
            if (at !== endBytes) throw new PeerProtocolError("sync window ended early");
            return true;
          }
          if (frame.type !== FrameType.Data && frame.type !== FrameType.Same)
            throw new PeerProtocolError(`unexpected frame ${frame.type} in a sync window`);
          if (frame.offsetBytes !== at)
            throw new PeerProtocolError(`sync chunk for ${frame.offsetBytes}, expected ${at}`);
          const length = frame.type === FrameType.Data ? frame.payload.length : frame.valueBytes;
          if (length <= 0 || at + length > endBytes) throw new PeerProtocolError("sync chunk out of range");
          if (frame.type === FrameType.Data) {
            const write = deps.disk.writev([frame.payload], at);
            // Handled now (awaited below, once the stream has ended): a failed
            // write must not be an unhandled rejection, which ends the process.
            write.catch((err: unknown) => (this.diskFailure ??= err));
            writes.push(write);
            deps.metrics.replicationSyncTransferredBytes.labels(deps.resource).inc(length);
          } else {
            this.sameBytes += length;
          }
          at += length;
          return false;
        },
      );
      // `writes` is complete only once the stream has ended (simulator seed
      // 980081: it was read before the first frame, so no write was ever
      // awaited; a failed one ended the process, and the cursor could pass
      // a window whose writes had not landed).
      const settled = [...(await Promise.allSettled([written])), ...(await Promise.allSettled(writes))];
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
    } finally {
      windows.release(bytes);
      this.limit.written(id);
    }
  }

  /** One signed request; feeds each verified frame to `onFrame` until it returns true (END). */
  private async request(
    { source, credentials, signal }: Call,
    path: string,
    body: unknown,
    /** Data comes: pass the bandwidth limits as it arrives (TCP then slows the source). */
    throttled: boolean,
    onFrame: (frame: Frame) => boolean,
  ): Promise<void> {
    const { deps } = this;
    const { response, decoder } = await openFrameStream(deps.client, credentials, source, path, body, signal);
    for await (const data of response.body) {
      deps.metrics.peerReceivedBytes.labels(source.host).inc(data.length);
      if (throttled) await deps.throttle?.(data.length, signal);
      for (const frame of decoder.push(data)) {
        if (frame.type === FrameType.End) this.limit.reported(endPosition(frame.payload));
        if (frame.type === FrameType.Error) {
          const e = readPeerErrorBody(JSON.parse(frame.payload.toString("utf8")), "sync refused");
          throw new PeerCallError(200, e.code, e.message);
        }
        if (onFrame(frame)) return;
      }
    }
    throw new PeerProtocolError("sync answer ended early");
  }

  /**
   * Moves the cursor over the ranges done, in order, and into the first
   * one up to its lowest data window not yet written; saves it now and
   * then (always when `force`).
   */
  private async advance(tasks: RangeTask[], force: boolean, ahead: ByteBudget): Promise<void> {
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
    if (this.doneBytes > before || force) await this.save(force);
  }

  private savePending: Promise<void> = Promise.resolve();

  /** Persists the cursor (after an fdatasync: what it covers is on disk), one save at a time. */
  private save(force: boolean): Promise<void> {
    const { deps } = this;
    const nowMs = deps.time.monotonicMs();
    this.rateWindow.push({ atMs: nowMs, doneBytes: this.doneBytes });
    while (this.rateWindow.length > 2 && nowMs - (this.rateWindow[0]?.atMs ?? 0) > 60_000)
      this.rateWindow.shift();
    deps.metrics.replicationSyncDoneBytes
      .labels(deps.resource)
      .set(syncedBytesBelow(deps.regions, deps.sizeBytes, this.doneBytes));
    if (!force && nowMs - this.lastSaveMs < PROGRESS_INTERVAL_MS) return this.savePending;
    this.lastSaveMs = nowMs;
    const doneBytes = this.doneBytes;
    // A failed save fails this pass only; the next one saves afresh.
    this.savePending = this.savePending
      .catch(() => undefined)
      .then(async () => {
        await deps.disk.datasync().catch((err: unknown) => {
          this.diskFailure ??= err;
          throw err;
        });
        await deps.saveProgress(doneBytes, doneBytes >= this.endBytes ? this.syncEnd : undefined);
      });
    return this.savePending;
  }
}

interface Call {
  source: { host: string; address: string };
  credentials: PeerCredentials;
  signal: AbortSignal;
}

/** The next ranges for one digest request. */
function takeBatch(ranges: Generator<SyncRange>, count: number): SyncRange[] {
  const batch: SyncRange[] = [];
  while (batch.length < count) {
    const r = ranges.next();
    if (r.done) break;
    batch.push(r.value);
  }
  return batch;
}

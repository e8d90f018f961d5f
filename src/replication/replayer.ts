/**
 * Applies local log files to the backing disk strictly in log order.
 *
 * It starts at the persisted applied position (the checkpoint), follows the
 * current file as it grows (the fetcher extends it), and steps to the next
 * file only when the chain proves that file continues this one: the next
 * file's header names the version of the current file *as we hold it*. Two
 * candidates for the next number, or a next file that continues another
 * history, stop the replay (the disk stays a consistent, outdated prefix)
 * and are reported.
 *
 * Records go through the ApplyQueue (overlapping writes in order, the
 * applied position advanced only over a contiguous prefix). Pausing waits
 * for in-flight writes: a paused replica's disk is exactly the primary's
 * disk after some prefix of its writes, e.g. for a backup snapshot.
 *
 * Two modes: `follow` (a secondary: wait for more log forever) and
 * `catchUp` (a node about to become primary: apply everything present,
 * then stop; optionally cut a torn tail of the last file, which only a
 * crash of this node's own writer can leave).
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { formatLogName } from "../log/log-name.js";
import { positionAtOrAfter, type LogPosition } from "../log/log-stream.js";
import { RECORD_HEADER_BYTES, RecordKind } from "../log/record.js";
import { scanLogFile } from "../log/scanner.js";
import type { VersionEntry } from "../log/version.js";
import type { LogFileHeader } from "../log/file-header.js";
import type { Metrics } from "../metrics/metrics.js";
import type { RandomAccessFile, Storage, WriteRange } from "../platform/storage/types.js";
import { LogCorruptError, MarsError, errorMessage, isIoFailure } from "../util/errors.js";
import type { LocalLogs } from "./local-logs.js";

export type ReplayState = "replaying" | "caught-up" | "paused" | "blocked" | "gap" | "stopped";

/**
 * What the replayer needs of the ordered apply (resource/apply-queue.ts
 * implements it): defined here, so replication does not import the layer
 * above it.
 */
export interface ReplayApplier {
  /** Issues a write (or zeroes, without data); resolves once it is on the disk. */
  apply(op: WriteRange, position?: LogPosition): Promise<void>;
  /** Moves the applied position past records that change nothing on the disk. */
  markApplied(position: LogPosition): void;
  /** Resolves when everything issued so far has been written (or has failed). */
  idle(): Promise<void>;
  /** Operations issued and not yet on the disk. */
  readonly inFlightCount: number;
}

export interface ReplayerDeps {
  resource: string;
  logs: LocalLogs;
  storage: Storage;
  applier: ReplayApplier;
  metrics: Metrics;
  logger: Logger;
  /**
   * Called once per finished file replayed to its end: at once when it is
   * the newest (a planned take-over waits for exactly this version of the
   * old primary's last file), else when the next one continues it.
   */
  onFileReplayed: (version: VersionEntry) => void;
  /** Bound on disk writes in flight. */
  maxInFlight: number;
  /**
   * A read or write failed in the IO sense (EIO, ENOSPC, ...), not in the
   * history's: the resource fails and recovers from disk. Without it, such
   * an error blocks the replay like a broken chain.
   */
  onIoFailure?: (err: unknown) => void;
  /**
   * Whether replay may go on into the next file `file`. False when the file
   * follows a gap (LogFileHeader.gap) this disk lacks, or when this disk
   * holds writes that are in no log. Without it no gap is crossed.
   */
  mayEnter?: (file: string, header: LogFileHeader) => boolean;
  /**
   * While a sync copies into this disk: no record ending past this position
   * is applied (sync-client.ts replayLimit; undefined: no limit). Replay
   * waits at it and goes on when limitChanged() says it moved.
   */
  limit?: () => LogPosition | undefined;
}

export interface ReplayerEvents {
  state: [state: ReplayState];
  progress: [position: LogPosition];
  /** Stopped before `file`: a resync must come first (see ReplayerDeps.mayEnter). */
  gap: [file: string, header: LogFileHeader];
}

export class ReplayBlockedError extends MarsError {
  constructor(message: string) {
    super("REPLAY_BLOCKED", message);
  }
}

export class Replayer extends EventEmitter<ReplayerEvents> {
  private position: LogPosition;
  private stateValue: ReplayState = "stopped";
  private running: Promise<void> | undefined;
  private abort = new AbortController();
  private paused = false;
  private stopped = false;
  private resumeWaiter: (() => void) | undefined;
  /** The last scan stopped at the limit (ReplayerDeps.limit); limitMoved: it moved since that scan began. */
  private atLimit = false;
  private limitMoved = false;
  /** The last file whose version onFileReplayed reported. */
  private reportedFile: string | undefined;
  blockedReason: string | undefined;
  /** The file after the applied one, which may not be entered before a resync (state "gap"). */
  pendingGap: { file: string; header: LogFileHeader } | undefined;
  /** Lamport stamp of the last record applied. */
  lastAppliedStampUs = 0;
  /** Log bytes applied by this replayer. */
  replayedBytes = 0;
  /** Bytes of torn records cut off the end of this node's own last file (preallocated zeroes do not count). */
  tornBytes = 0;

  constructor(
    private readonly deps: ReplayerDeps,
    start: LogPosition,
  ) {
    super();
    this.position = { ...start };
  }

  get state(): ReplayState {
    return this.stateValue;
  }

  /** Where the next record will be read (everything before is applied or in flight). */
  get readPosition(): LogPosition {
    return { ...this.position };
  }

  private setState(state: ReplayState): void {
    if (this.stateValue !== state) {
      this.stateValue = state;
      this.emit("state", state);
    }
  }

  /** Secondary mode: replay forever, following the log as it arrives. */
  follow(): void {
    this.stopped = false;
    this.running ??= this.run(true, false).catch((err: unknown) => {
      if (isIoFailure(err) && this.deps.onIoFailure) {
        this.setState("stopped");
        this.deps.onIoFailure(err);
      } else this.block(err);
    });
  }

  /**
   * Primary take-over: apply everything present, then resolve with the
   * final position and the version of the last file as held here.
   */
  async catchUp(options: {
    cutTornTail: boolean;
  }): Promise<{ position: LogPosition; lastVersion: VersionEntry }> {
    this.stopped = false;
    await this.run(false, options.cutTornTail);
    await this.deps.applier.idle();
    if (this.stateValue === "blocked") throw new ReplayBlockedError(this.blockedReason ?? "replay blocked");
    const name = formatLogName(this.position);
    return { position: this.position, lastVersion: await this.deps.logs.version(name) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.resumeWaiter?.();
    await this.running;
    this.running = undefined;
    await this.deps.applier.idle();
    this.setState("stopped");
  }

  /** Stops taking new records and waits for in-flight writes: the disk is then a consistent prefix. */
  async pause(): Promise<void> {
    this.paused = true;
    this.abort.abort();
    await this.deps.applier.idle();
    this.setState("paused");
  }

  resume(): void {
    this.paused = false;
    this.resumeWaiter?.();
  }

  /** The limit (ReplayerDeps.limit) moved: a replay waiting at it goes on. */
  limitChanged(): void {
    this.limitMoved = true;
    if (this.atLimit) this.resumeWaiter?.();
  }

  /** A region resync covered the pending gap: replay goes on into the file after it. */
  gapResynced(): void {
    this.pendingGap = undefined;
    this.resumeWaiter?.();
  }

  /** Clears a block after the operator fixed the cause (e.g. a split brain resolved). */
  unblock(): void {
    this.blockedReason = undefined;
    if (this.stateValue === "blocked") this.setState("replaying");
    this.resumeWaiter?.();
  }

  private block(err: unknown): void {
    this.blockedReason = errorMessage(err);
    this.deps.logger.error({ resource: this.deps.resource, reason: this.blockedReason }, "replay stopped");
    this.setState("blocked");
  }

  private async waitResume(): Promise<void> {
    await new Promise<void>((resolve) => (this.resumeWaiter = resolve));
    this.resumeWaiter = undefined;
  }

  private async run(follow: boolean, cutTornTail: boolean): Promise<void> {
    const { logs } = this.deps;
    while (!this.stopped) {
      if (this.paused || this.stateValue === "blocked") {
        if (!follow) return;
        await this.waitResume();
        continue;
      }
      this.abort = new AbortController();
      const name = formatLogName(this.position);
      const local = logs.get(name);
      if (!local || local.lengthBytes < RECORD_HEADER_BYTES) {
        if (!follow) throw new LogCorruptError(`missing log file ${name} (the replay position is in it)`);
        this.setState("caught-up");
        await logs.waitForGrowth(name, RECORD_HEADER_BYTES - 1, this.abort.signal);
        continue;
      }
      if (this.position.offsetBytes < local.lengthBytes) {
        this.setState("replaying");
        this.atLimit = false;
        this.limitMoved = false;
        await this.applyFile(name, local.lengthBytes, !follow && cutTornTail && logs.newest()?.name === name);
        if (this.atLimit) {
          if (!follow) return;
          if (!this.stopped && !this.paused && !this.limitMoved) await this.waitResume();
        }
        continue;
      }
      // At the end of what we hold of this file.
      if (!logs.isFinished(name) && follow) {
        this.setState("caught-up");
        await logs.waitForGrowth(name, this.position.offsetBytes, this.abort.signal);
        continue;
      }
      const next = logs.withNumber(this.position.fileNumber + 1);
      if (next.length === 0) {
        if (logs.isFinished(name) && this.reportedFile !== name) {
          await this.deps.applier.idle();
          this.reportedFile = name;
          this.deps.onFileReplayed(await logs.version(name));
          this.emit("progress", this.position);
        }
        if (!follow) return;
        this.setState("caught-up");
        await logs.waitForFileAfter(this.position.fileNumber, this.abort.signal);
        continue;
      }
      if (next.length > 1) {
        throw new ReplayBlockedError(
          `split brain: ${next.map((f) => f.name).join(" and ")} both follow ${name}`,
        );
      }
      const candidate = next[0] as { name: string; lengthBytes: number };
      if (candidate.lengthBytes < RECORD_HEADER_BYTES) {
        if (!follow) return;
        await logs.waitForGrowth(candidate.name, RECORD_HEADER_BYTES - 1, this.abort.signal);
        continue;
      }
      const ours = await logs.version(name);
      const header = await logs.header(candidate.name);
      if (header.prevVersion !== ours.version) {
        throw new ReplayBlockedError(
          `${candidate.name} does not continue ${name} as held here (version ${ours.version.slice(0, 12)}): split brain or damaged copy`,
        );
      }
      await this.deps.applier.idle();
      if (this.reportedFile !== name) {
        this.reportedFile = name;
        this.deps.onFileReplayed(ours);
      }
      const mayEnter = this.deps.mayEnter ? this.deps.mayEnter(candidate.name, header) : !header.gap;
      if (!mayEnter) {
        // Applying past the gap would put newer writes on a disk that lacks
        // the ones the gap skipped: not a prefix of the history any more.
        const known = this.pendingGap?.file === candidate.name;
        this.pendingGap = { file: candidate.name, header };
        if (!follow) return;
        this.setState("gap");
        if (!known) this.emit("gap", candidate.name, header);
        await this.waitResume();
        continue;
      }
      this.pendingGap = undefined;
      this.position = {
        fileNumber: header.fileNumber,
        host: header.host,
        offsetBytes: 0,
        nextSeq: 0,
        streamBytes: header.streamStartBytes,
      };
      this.emit("progress", this.position);
    }
  }

  /** Applies the records of `name` from the current position up to `endBytes`. */
  private async applyFile(name: string, endBytes: number, mayBeTorn: boolean): Promise<void> {
    const { deps } = this;
    const streamStart = (await deps.logs.header(name)).streamStartBytes;
    const file = await deps.storage.open(deps.logs.pathOf(name), mayBeTorn ? "readwrite" : "read");
    let applyError: Error | undefined;
    try {
      const outcome = await scanLogFile(file, {
        fromOffsetBytes: this.position.offsetBytes,
        expectedSeq: this.position.offsetBytes === 0 ? undefined : this.position.nextSeq,
        toOffsetBytes: endBytes,
        onRecord: async (record) => {
          if (this.paused || this.stopped) throw new StopScan();
          const end = record.fileOffsetBytes + record.recordBytes;
          const position: LogPosition = {
            fileNumber: this.position.fileNumber,
            host: this.position.host,
            offsetBytes: end,
            nextSeq: record.seq + 1,
            streamBytes: streamStart + end,
          };
          const limit = deps.limit?.();
          if (limit && !positionAtOrAfter(limit, position)) {
            // A sync may still write data older than this record here: wait (limitChanged).
            this.atLimit = true;
            throw new StopScan();
          }
          const op =
            record.kind === RecordKind.Write
              ? { offsetBytes: record.offsetBytes, lengthBytes: record.lengthBytes, data: record.payload }
              : { offsetBytes: record.offsetBytes, lengthBytes: record.lengthBytes };
          const applied = deps.applier.apply(op, position).catch((err: unknown) => {
            applyError ??= err instanceof Error ? err : new Error(String(err));
          });
          this.position = position;
          this.lastAppliedStampUs = record.stampUs;
          this.replayedBytes += record.recordBytes;
          deps.metrics.replicationReplayedBytes.labels(deps.resource).inc(record.recordBytes);
          if (deps.applier.inFlightCount >= deps.maxInFlight) await applied;
          if (applyError) throw applyError;
        },
      }).catch((err: unknown) => {
        if (err instanceof StopScan) return undefined;
        throw err;
      });
      if (applyError) throw applyError;
      if (!outcome) return;
      if (this.position.offsetBytes < outcome.endOffsetBytes) {
        // Only the header record was read (no data records yet).
        this.position = {
          ...this.position,
          offsetBytes: outcome.endOffsetBytes,
          nextSeq: outcome.nextSeq,
          streamBytes: streamStart + outcome.endOffsetBytes,
        };
      }
      // Records that change nothing on the disk (the file header) still count as applied.
      deps.applier.markApplied(this.position);
      this.emit("progress", this.position);
      if (outcome.status === "complete") return;
      if (outcome.status === "torn" && mayBeTorn) {
        deps.logger.warn(
          { resource: deps.resource, file: name, cutAt: outcome.endOffsetBytes },
          "cut a torn log tail",
        );
        await deps.applier.idle();
        this.tornBytes += await nonZeroTailBytes(file, outcome.endOffsetBytes, outcome.fileSizeBytes);
        await file.truncate(outcome.endOffsetBytes);
        await file.datasync();
        deps.logs.setLength(name, outcome.endOffsetBytes);
        return;
      }
      if (outcome.status === "torn") {
        throw new LogCorruptError(`${name}: finished log file ends in an invalid record (${outcome.reason})`);
      }
      throw new LogCorruptError(`${name}: ${outcome.reason} at offset ${outcome.endOffsetBytes}`);
    } finally {
      await file.close();
    }
  }
}

/** How many of the bytes in [from, to) lie before the last non-zero one: a torn write, not preallocated space. */
async function nonZeroTailBytes(file: RandomAccessFile, from: number, to: number): Promise<number> {
  const tail = Buffer.alloc(Math.max(0, to - from));
  const n = await file.read(tail, from);
  let end = n;
  while (end > 0 && tail[end - 1] === 0) end -= 1;
  return end;
}

/** Thrown inside the scan callback to stop scanning early (pause/stop/limit). */
class StopScan extends Error {}

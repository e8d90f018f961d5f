/**
 * The sequence of log files one primary writes for a resource: the current
 * file's writer plus rotation to the next file (by size, or on request).
 *
 * Rotation finishes the current file (everything appended to it is durable)
 * before the next file takes appends, so log order = file order = the order
 * in which appends resolve. Appends arriving meanwhile wait for the switch.
 */
import path from "node:path";
import type { LamportClock } from "./lamport-clock.js";
import type { Clock } from "../platform/clock.js";
import type { Storage } from "../platform/storage/types.js";
import type { LogFileHeader, LogGap } from "./file-header.js";
import { formatLogName, type LogName } from "./log-name.js";
import { makeVersionEntry, type VersionEntry } from "./version.js";
import { LogFailedError, errorMessage } from "../util/errors.js";
import {
  DEFAULT_PREALLOCATE_BYTES,
  DEFAULT_WRITER_LIMITS,
  LogWriter,
  type AppendEntry,
  type AppendResult,
  type LogWriterLimits,
  type LogWriterObserver,
} from "./writer.js";

export interface LogPosition {
  fileNumber: number;
  host: string;
  /** Offset inside that log file. */
  offsetBytes: number;
  /** Sequence number of the next record in that file. */
  nextSeq: number;
  /** The same point as a position in the resource's whole log stream. */
  streamBytes: number;
}

/** a is at or after b in the log (same history assumed: only file numbers and offsets are compared). */
export function positionAtOrAfter(
  a: { fileNumber: number; offsetBytes: number },
  b: { fileNumber: number; offsetBytes: number },
): boolean {
  return a.fileNumber > b.fileNumber || (a.fileNumber === b.fileNumber && a.offsetBytes >= b.offsetBytes);
}

export interface StreamAppendResult extends AppendResult {
  position: LogPosition;
}

export interface FinishedLogFile {
  name: LogName;
  lengthBytes: number;
  streamStartBytes: number;
  /**
   * The finished file's version entry, as a scan of the file would compute
   * it; its version is the next file's prevVersion.
   */
  versionEntry: VersionEntry;
}

export interface LogStreamOptions {
  dir: string;
  resource: string;
  host: string;
  storage: Storage;
  clock: LamportClock;
  time: Clock;
  limits?: LogWriterLimits;
  /** Rotate to a new file once the current one reaches this size. */
  rotateBytes: number;
  observer?: LogWriterObserver;
  /** Called after every finished file (the hook for version entries). */
  onFileFinished?: (file: FinishedLogFile) => void;
  /** Called with the writer of every new file, the first one included (its header is durable). */
  onFileStarted?: (writer: LogWriter) => void;
  /** Called when the current writer failed for good. */
  onFailed?: (err: Error) => void;
}

export class LogStream {
  private writer: LogWriter;
  private rotating: Promise<void> | undefined;
  /** A rotation failed after the old file was finished: no writer takes appends. */
  private rotationFailure: LogFailedError | undefined;
  /** abandon() was called: no rotation starts any more (it would finish a file being closed). */
  private abandoned = false;

  private constructor(
    private readonly options: LogStreamOptions,
    writer: LogWriter,
  ) {
    this.writer = writer;
    this.watch(writer);
    options.onFileStarted?.(writer);
  }

  /**
   * Starts a new log file with the given number and stream start. `gap`:
   * writes since the previous file bypassed the log (emergency mode; see
   * LogFileHeader.gap).
   */
  static async start(
    options: LogStreamOptions,
    fileNumber: number,
    streamStartBytes: number,
    prevVersion: string,
    gap?: LogGap,
  ): Promise<LogStream> {
    const writer = await LogStream.createWriter(options, fileNumber, streamStartBytes, prevVersion, gap);
    return new LogStream(options, writer);
  }

  private static createWriter(
    options: LogStreamOptions,
    fileNumber: number,
    streamStartBytes: number,
    prevVersion: string,
    gap?: LogGap,
  ) {
    const header: LogFileHeader = {
      format: 1,
      resource: options.resource,
      host: options.host,
      fileNumber,
      streamStartBytes,
      createdStampUs: options.clock.now(),
      prevVersion,
      ...(gap ? { gap } : {}),
    };
    const file = path.join(options.dir, formatLogName({ fileNumber, host: options.host }));
    return LogWriter.create(
      options.storage,
      file,
      header,
      options.clock,
      options.time,
      LogStream.writerLimits(options),
      options.observer,
    );
  }

  /** The writer's limits; preallocation never reaches past where the file will be rotated. */
  private static writerLimits(options: LogStreamOptions): LogWriterLimits {
    const limits = options.limits ?? DEFAULT_WRITER_LIMITS;
    const preallocateBytes = limits.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES;
    return { ...limits, preallocateBytes: Math.min(preallocateBytes, options.rotateBytes) };
  }

  get current(): LogName {
    return { fileNumber: this.writer.header.fileNumber, host: this.writer.header.host };
  }

  get currentWriter(): LogWriter {
    return this.writer;
  }

  /** Durable end of the current file, as a log position. */
  durablePosition(): LogPosition {
    const w = this.writer;
    return {
      fileNumber: w.header.fileNumber,
      host: w.header.host,
      offsetBytes: w.durableOffsetBytes,
      nextSeq: w.recordCount + 1,
      streamBytes: w.durableStreamBytes,
    };
  }

  async append(entries: readonly AppendEntry[]): Promise<StreamAppendResult> {
    while (this.rotating) await this.rotating;
    if (this.rotationFailure) throw this.rotationFailure;
    const writer = this.writer;
    const result = await writer.append(entries);
    if (
      writer === this.writer &&
      writer.projectedEndBytes >= this.options.rotateBytes &&
      !this.rotating &&
      !this.abandoned
    ) {
      this.rotate().catch((err: unknown) => this.options.onFailed?.(err as Error));
    }
    return {
      ...result,
      position: {
        fileNumber: writer.header.fileNumber,
        host: writer.header.host,
        offsetBytes: result.endOffsetBytes,
        nextSeq: result.lastSeq + 1,
        streamBytes: writer.header.streamStartBytes + result.endOffsetBytes,
      },
    };
  }

  /** Resolves when everything appended before this call is durable. */
  async barrier(): Promise<void> {
    while (this.rotating) await this.rotating;
    await this.writer.barrier();
  }

  /**
   * Finishes the current file and starts the next one. Returns the finished
   * file, or undefined if the current file holds no records (nothing to do).
   */
  async rotate(): Promise<FinishedLogFile | undefined> {
    while (this.rotating) await this.rotating;
    if (this.abandoned || this.writer.recordCount === 0) return undefined;
    let release!: () => void;
    this.rotating = new Promise<void>((resolve) => (release = resolve));
    try {
      const old = this.writer;
      const finished = await this.finishWriter(old);
      try {
        this.writer = await LogStream.createWriter(
          this.options,
          old.header.fileNumber + 1,
          old.header.streamStartBytes + finished.lengthBytes,
          finished.versionEntry.version,
        );
      } catch (err) {
        // The old file is finished and the new one does not exist: appends
        // are refused with this (its cause says why: ENOSPC, EIO, ...).
        this.rotationFailure = new LogFailedError(
          `starting log file ${old.header.fileNumber + 1} failed: ${errorMessage(err)}`,
          { cause: err },
        );
        throw this.rotationFailure;
      }
      this.watch(this.writer);
      this.options.onFileStarted?.(this.writer);
      this.options.onFileFinished?.(finished);
      return finished;
    } finally {
      this.rotating = undefined;
      release();
    }
  }

  /** Finishes the current file (durable) and stops. */
  async close(): Promise<FinishedLogFile> {
    while (this.rotating) await this.rotating;
    const finished = await this.finishWriter(this.writer);
    this.options.onFileFinished?.(finished);
    return finished;
  }

  /** Closes the current file without writing or syncing it (LogWriter.abandon). */
  async abandon(): Promise<void> {
    // A rotation started by a batch that completes while we wait would finish
    // (truncate, sync) the file we are closing: none starts from now on.
    this.abandoned = true;
    while (this.rotating) await this.rotating;
    await this.writer.abandon();
  }

  private async finishWriter(writer: LogWriter): Promise<FinishedLogFile> {
    const { lengthBytes, recordsDigest } = await writer.finish();
    const name = { fileNumber: writer.header.fileNumber, host: writer.header.host };
    const versionEntry = makeVersionEntry(
      writer.header.prevVersion,
      formatLogName(name),
      lengthBytes,
      recordsDigest,
    );
    return {
      name,
      lengthBytes,
      streamStartBytes: writer.header.streamStartBytes,
      versionEntry,
    };
  }

  private watch(writer: LogWriter): void {
    writer.on("failed", (err) => this.options.onFailed?.(err));
  }
}

/**
 * Crash recovery of a primary's volume: replay the log from the last
 * checkpoint onto the backing disk, in order, and cut off a torn tail.
 *
 * After this the backing disk equals "disk at checkpoint + every durable
 * record", which includes every write that was ever acknowledged. A
 * corrupt record (damage behind which durable records follow) stops
 * recovery with an error: it is reported, never skipped.
 */
import type { LogFileHeader } from "../log/file-header.js";
import { listLogFiles, type LogFileEntry } from "../log/log-directory.js";
import { formatLogName } from "../log/log-name.js";
import type { LogPosition } from "../log/log-stream.js";
import { RecordKind } from "../log/record.js";
import { readLogFileHeader, scanLogFile } from "../log/scanner.js";
import { computeFileVersion } from "../log/version.js";
import type { RandomAccessFile, Storage } from "../storage/types.js";
import { LogCorruptError, errorMessage } from "../util/errors.js";
import { ApplyQueue } from "./apply-queue.js";
import type { Checkpoint } from "./checkpoint.js";

export interface RecoveryResult {
  /** End of the durable log (undefined when there are no log files). */
  endPosition: LogPosition | undefined;
  /** Version of the last log file as recovered (the next file's prevVersion). */
  lastVersion: string | undefined;
  /** Log bytes replayed onto the disk. */
  replayedBytes: number;
  /** Bytes cut off the last file as a torn tail (not counting zeroed, preallocated space). */
  tornBytes: number;
  files: LogFileEntry[];
}

export interface RecoveryOptions {
  dir: string;
  resource: string;
  storage: Storage;
  backing: RandomAccessFile;
  checkpoint: Checkpoint | undefined;
  /** Bound on concurrent disk writes during replay. */
  maxInFlight?: number;
}

export async function recoverLog(options: RecoveryOptions): Promise<RecoveryResult> {
  const { dir, checkpoint } = options;
  const files = await listLogFiles(dir);
  if (files.length === 0) {
    if (checkpoint)
      throw new LogCorruptError(
        `${dir}: checkpoint refers to ${formatLogName(checkpoint)} but no log files exist`,
      );
    return { endPosition: undefined, lastVersion: undefined, replayedBytes: 0, tornBytes: 0, files };
  }
  let startIndex = 0;
  if (checkpoint) {
    startIndex = files.findIndex((f) => f.fileNumber === checkpoint.fileNumber && f.host === checkpoint.host);
    if (startIndex < 0) {
      throw new LogCorruptError(`${dir}: checkpoint refers to missing log file ${formatLogName(checkpoint)}`);
    }
  }

  const queue = new ApplyQueue(options.backing);
  const maxInFlight = options.maxInFlight ?? 64;
  let replayedBytes = 0;
  let tornBytes = 0;
  let end: LogPosition | undefined;
  let expectedStreamStart: number | undefined;
  let applyError: Error | undefined;

  for (let i = startIndex; i < files.length; i++) {
    const entry = files[i] as LogFileEntry;
    const isLast = i === files.length - 1;
    const file = await options.storage.open(entry.path, isLast ? "readwrite" : "read");
    try {
      const header = await readLogFileHeader(file);
      if (typeof header === "string") throw new LogCorruptError(`${entry.path}: ${header}`);
      checkHeader(entry, header, options.resource, expectedStreamStart);
      const fromCheckpoint = i === startIndex && checkpoint !== undefined;
      const outcome = await scanLogFile(file, {
        fromOffsetBytes: fromCheckpoint ? checkpoint.offsetBytes : 0,
        expectedSeq: fromCheckpoint ? checkpoint.nextSeq : undefined,
        onRecord: async (record) => {
          const op =
            record.kind === RecordKind.Write
              ? { offsetBytes: record.offsetBytes, lengthBytes: record.lengthBytes, data: record.payload }
              : { offsetBytes: record.offsetBytes, lengthBytes: record.lengthBytes };
          replayedBytes += record.recordBytes;
          const applied = queue.apply(op).catch((err: unknown) => {
            applyError ??= err instanceof Error ? err : new Error(errorMessage(err));
          });
          if (queue.inFlightCount >= maxInFlight) await applied;
        },
      });
      await queue.idle();
      if (applyError) throw applyError;
      if (outcome.status === "corrupt") throw new LogCorruptError(`${entry.path}: ${outcome.reason}`);
      if (outcome.status === "torn") {
        if (!isLast) {
          throw new LogCorruptError(
            `${entry.path}: finished log file ends in an invalid record (${outcome.reason})`,
          );
        }
        // Zeroes behind the end are preallocated space (src/log/preallocator.ts), not lost writes.
        tornBytes =
          (await lastNonZeroEnd(file, outcome.endOffsetBytes, outcome.fileSizeBytes)) -
          outcome.endOffsetBytes;
        await file.truncate(outcome.endOffsetBytes);
        await file.datasync();
      }
      end = {
        fileNumber: entry.fileNumber,
        host: entry.host,
        offsetBytes: outcome.endOffsetBytes,
        nextSeq: outcome.nextSeq,
        streamBytes: header.streamStartBytes + outcome.endOffsetBytes,
      };
      expectedStreamStart = end.streamBytes;
    } finally {
      await file.close();
    }
  }
  await options.backing.datasync();
  const last = files[files.length - 1] as LogFileEntry;
  const lastFile = await options.storage.open(last.path, "read");
  let lastVersion: string;
  try {
    const header = await readLogFileHeader(lastFile);
    if (typeof header === "string") throw new LogCorruptError(`${last.path}: ${header}`);
    lastVersion = (await computeFileVersion(lastFile, header, (end as LogPosition).offsetBytes)).version;
  } finally {
    await lastFile.close();
  }
  return { endPosition: end, lastVersion, replayedBytes, tornBytes, files };
}

function checkHeader(
  entry: LogFileEntry,
  header: LogFileHeader,
  resource: string,
  expectedStreamStart: number | undefined,
): void {
  if (header.resource !== resource || header.fileNumber !== entry.fileNumber || header.host !== entry.host) {
    throw new LogCorruptError(
      `${entry.path}: header says ${header.resource}/${formatLogName(header)}, which does not match the file`,
    );
  }
  if (expectedStreamStart !== undefined && header.streamStartBytes !== expectedStreamStart) {
    throw new LogCorruptError(
      `${entry.path}: starts at stream position ${header.streamStartBytes}, but the previous file ends at ${expectedStreamStart}`,
    );
  }
}

/** End of the last non-zero byte in [fromBytes, toBytes) of a file (fromBytes if all zero). */
async function lastNonZeroEnd(file: RandomAccessFile, fromBytes: number, toBytes: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  for (let end = toBytes; end > fromBytes;) {
    const start = Math.max(fromBytes, end - chunk.length);
    const view = chunk.subarray(0, end - start);
    const n = await file.read(view, start);
    for (let i = n - 1; i >= 0; i--) if (view[i] !== 0) return start + i + 1;
    end = start;
  }
  return fromBytes;
}

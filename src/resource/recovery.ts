/**
 * Crash recovery of a primary: apply the log from the last checkpoint onto
 * the backing disk, in order, and cut a torn tail off this node's own last
 * file. It is the replayer's catch-up mode (src/replication/replayer.ts),
 * so recovery and replication apply logs with one piece of code and the
 * same version-chain checks.
 *
 * After this the backing disk equals "disk at checkpoint + every durable
 * record", which includes every write that was ever acknowledged. A
 * corrupt record (damage behind which durable records follow) stops
 * recovery with an error: it is reported, never skipped.
 *
 * What a crash can leave at each step of a log file's life, and what
 * happens to it here, is the crash-state table in docs/log-format.md. In
 * short: a file whose creation was interrupted (no durable header) was
 * removed by LocalLogs.load() before this runs, so the caller's next file
 * number (end position + 1) is free; a file with a header and no records is
 * replayed like any other (its header is part of the chain), so the next
 * number lies beyond it.
 */
import { pino, type Logger } from "pino";
import type { LogPosition } from "../log/log-stream.js";
import type { Clock } from "../platform/clock.js";
import type { VersionEntry } from "../log/version.js";
import type { LogFileHeader } from "../log/file-header.js";
import { Metrics } from "../metrics/metrics.js";
import { LocalLogs, type LoadedLogs } from "../replication/local-logs.js";
import { Replayer } from "../replication/replayer.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import { ApplyQueue } from "./apply-queue.js";
import type { Checkpoint } from "./checkpoint.js";

export interface RecoveryResult {
  /** End of the durable log (undefined when there are no log files). */
  endPosition: LogPosition | undefined;
  /** Version of the last log file as recovered (the next file's prevVersion). */
  lastVersion: VersionEntry | undefined;
  /** Log bytes replayed onto the disk. */
  replayedBytes: number;
  /** Bytes of torn records cut off the last file (preallocated zeroes are not counted). */
  tornBytes: number;
  /** Recovery stopped before this file: its gap is not on this disk (a region resync must come first). */
  stoppedAtGap?: string;
}

export interface RecoveryOptions {
  resource: string;
  logs: LocalLogs;
  storage: Storage;
  applier: ApplyQueue;
  checkpoint: LogPosition | undefined;
  /** The host whose own last file may end in a torn write. */
  host: string;
  metrics: Metrics;
  logger: Logger;
  maxInFlight: number;
  /** Called for every file replayed to its end that the next file continues (version entries). */
  onFileReplayed?: (version: VersionEntry) => void;
  /** Whether replay may enter a file (Replayer's mayEnter); without it recovery stops at a gap. */
  mayEnter?: (file: string, header: LogFileHeader) => boolean;
}

/** Replays everything present locally; the caller has loaded `logs`. */
export async function recover(options: RecoveryOptions): Promise<RecoveryResult> {
  const { logs } = options;
  const files = logs.list();
  const newest = files.at(-1);
  if (!newest) return { endPosition: undefined, lastVersion: undefined, replayedBytes: 0, tornBytes: 0 };
  const first = files[0] as (typeof files)[number];
  const start = options.checkpoint ?? {
    fileNumber: first.fileNumber,
    host: first.host,
    offsetBytes: 0,
    nextSeq: 0,
    streamBytes: 0,
  };
  const replayer = new Replayer(
    {
      resource: options.resource,
      logs,
      storage: options.storage,
      applier: options.applier,
      metrics: options.metrics,
      logger: options.logger,
      onFileReplayed: options.onFileReplayed ?? (() => undefined),
      maxInFlight: options.maxInFlight,
      ...(options.mayEnter ? { mayEnter: options.mayEnter } : {}),
    },
    start,
  );
  const { position, lastVersion } = await replayer.catchUp({ cutTornTail: newest.host === options.host });
  // The last records' writes may still be in flight, or failed unseen: the
  // caller checkpoints at the end position, which must be on the disk.
  await options.applier.idle();
  options.applier.assertHealthy();
  return {
    endPosition: position,
    lastVersion,
    replayedBytes: replayer.replayedBytes,
    tornBytes: replayer.tornBytes,
    ...(replayer.pendingGap ? { stoppedAtGap: replayer.pendingGap.file } : {}),
  };
}

/** Recovery of a resource directory on its own (tests and tools): loads the files, applies them to `backing`. */
export async function recoverLog(options: {
  dir: string;
  resource: string;
  host?: string;
  time: Clock;
  storage: Storage;
  backing: RandomAccessFile;
  checkpoint: Checkpoint | undefined;
  metrics?: Metrics;
  onFileReplayed?: (version: VersionEntry) => void;
}): Promise<RecoveryResult & LoadedLogs> {
  const logs = new LocalLogs(options.dir, options.storage);
  const loaded = await logs.load();
  const applier = new ApplyQueue(options.time, options.backing, options.checkpoint);
  const result = await recover({
    resource: options.resource,
    logs,
    storage: options.storage,
    applier,
    checkpoint: options.checkpoint,
    host: options.host ?? logs.newest()?.host ?? "",
    metrics: options.metrics ?? new Metrics({ defaultMetrics: false }),
    logger: pino({ level: "silent" }),
    maxInFlight: 64,
    // This node's own gaps are on its disk (it wrote them straight there).
    mayEnter: (_file, header) => !header.gap || header.gap.host === (options.host ?? logs.newest()?.host),
    ...(options.onFileReplayed ? { onFileReplayed: options.onFileReplayed } : {}),
  });
  await applier.idle();
  await options.backing.datasync();
  return { ...result, ...loaded };
}

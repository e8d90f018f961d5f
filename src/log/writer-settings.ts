/**
 * The log writer's settings and the types of its API: what an append
 * carries and returns, the bounds of group commit (batch size, queued bytes,
 * batches in flight, preallocation) with their defaults, and the observer
 * hooks through which metrics see the writer (the log itself does not know
 * about Prometheus).
 */
import type { RecordKind } from "./record.js";

export interface AppendEntry {
  kind: typeof RecordKind.Write | typeof RecordKind.Zero;
  offsetBytes: number;
  lengthBytes: number;
  /** Data for WRITE records; must not be modified until the append resolves. */
  payload?: Uint8Array;
}

export interface AppendResult {
  /** Sequence number of the last record of this append. */
  lastSeq: number;
  /** Log file offset just behind this append's last record. */
  endOffsetBytes: number;
}

export interface LogWriterLimits {
  /** Upper bound of one group-commit batch (one writev + one fdatasync). */
  maxBatchBytes: number;
  /** Upper bound of records in one batch (keeps writev under IOV_MAX). */
  maxBatchRecords: number;
  /** Bytes queued but not yet durable; further appends wait (backpressure). */
  maxPendingBytes: number;
  /**
   * Batches being written and synced at the same time. 1 is classic group
   * commit; more lets a new batch start while earlier fdatasyncs are still
   * running (the device absorbs several flushes at once), at the price of
   * more, smaller batches.
   */
  maxBatchesInFlight?: number;
  /**
   * Zero-filled, synced space kept ahead of the write position, in chunks
   * of this size, so small syncs need no metadata commit (see
   * preallocator.ts). 0 turns it off.
   */
  preallocateBytes?: number;
}

export const DEFAULT_BATCHES_IN_FLIGHT = 2;
export const DEFAULT_PREALLOCATE_BYTES = 8 * 1024 * 1024;

export const DEFAULT_WRITER_LIMITS: LogWriterLimits = {
  maxBatchBytes: 4 * 1024 * 1024,
  maxBatchRecords: 256,
  maxPendingBytes: 64 * 1024 * 1024,
  maxBatchesInFlight: DEFAULT_BATCHES_IN_FLIGHT,
  preallocateBytes: DEFAULT_PREALLOCATE_BYTES,
};

/** Hooks for metrics; the log itself does not know about Prometheus. */
export interface LogWriterObserver {
  batchDurable(records: number, bytes: number, fsyncSeconds: number): void;
  pendingBytes(bytes: number): void;
}

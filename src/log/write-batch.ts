/**
 * Group-commit batches of the log writer: which queued appends the next
 * batch takes (planBatch: as many as fit maxBatchBytes and maxBatchRecords,
 * but always at least one, so an append larger than a batch still goes out),
 * and the records of a batch encoded for one writev (encodeBatch), each
 * record's header CRC added to the file's digest in file order.
 */
import type { Deferred } from "../util/deferred.js";
import { encodeRecordHeader, recordHeaderCrc } from "./record.js";
import type { RecordsDigest } from "./version.js";
import type { AppendEntry, AppendResult, LogWriterLimits } from "./writer-settings.js";

export interface QueuedAppend {
  entries: readonly AppendEntry[];
  firstSeq: number;
  bytes: number;
  stampUs: number;
  done: Deferred<AppendResult>;
}

/** One group-commit batch: written with one writev, made durable with one fdatasync. */
export interface Batch {
  items: QueuedAppend[];
  firstSeq: number;
  offsetBytes: number;
  bytes: number;
  records: number;
  startedMs: number;
  /** Its own fdatasync returned (it is durable once every earlier batch is too). */
  synced: boolean;
}

export interface BatchPlan {
  count: number;
  bytes: number;
  records: number;
}

/** How many queued appends the next batch takes, and its bytes. */
export function planBatch(queue: readonly QueuedAppend[], limits: LogWriterLimits): BatchPlan {
  let count = 0;
  let bytes = 0;
  let records = 0;
  for (const next of queue) {
    const fits =
      bytes + next.bytes <= limits.maxBatchBytes && records + next.entries.length <= limits.maxBatchRecords;
    if (count > 0 && !fits) break;
    count += 1;
    bytes += next.bytes;
    records += next.entries.length;
  }
  return { count, bytes, records };
}

/**
 * The buffers of one batch for a single writev: each record's header, then
 * its payload. `durableSeq` is stamped into every header; the digest gets
 * every header's CRC, so batches must be encoded in file order.
 */
export function encodeBatch(batch: Batch, durableSeq: number, digest: RecordsDigest): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  for (const item of batch.items) {
    let seq = item.firstSeq;
    for (const e of item.entries) {
      const payload = e.payload ?? EMPTY;
      const header = encodeRecordHeader(
        {
          kind: e.kind,
          seq,
          durableSeq,
          stampUs: item.stampUs,
          offsetBytes: e.offsetBytes,
          lengthBytes: e.lengthBytes,
        },
        payload,
      );
      // Batches are launched in file order, so this is the file's record order.
      digest.add(recordHeaderCrc(header));
      buffers.push(header);
      if (payload.length > 0) buffers.push(payload);
      seq += 1;
    }
  }
  return buffers;
}

const EMPTY = new Uint8Array(0);

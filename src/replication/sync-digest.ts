/**
 * The digests a sync compares, on both ends, so that equal disks cost one
 * exchange per large range and only ranges that differ are split further.
 *
 * Two levels: a leaf is the SHA-256 of one chunk (SYNC_CHUNK_BYTES, the
 * unit that is sent); a range is up to SYNC_RANGE_CHUNKS consecutive chunks
 * inside one region, and its digest is the SHA-256 of its leaves in order
 * (a Merkle tree of height two). When a range's digests differ (or the
 * asker sent none, to have both ends hash at once: sync-client.ts), the
 * source answers with its leaves, so the member learns which chunks to
 * fetch without hashing anything twice.
 *
 * SHA-256 because equal digests mean "not sent": a collision would leave a
 * replica silently different, and with SHA extensions it hashes at
 * ~1.6 GB/s on one core here, faster than the disks and links it serves.
 */
import { createHash } from "node:crypto";
import { SYNC_CHUNK_BYTES, type SyncRegions } from "./sync-regions.js";

/** Chunks per range: one digest exchange confirms this much is equal. */
export const SYNC_RANGE_CHUNKS = 64;
export const SYNC_RANGE_BYTES = SYNC_RANGE_CHUNKS * SYNC_CHUNK_BYTES;
export const DIGEST_BYTES = 32;

export function hashChunk(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/** A range's digest: the hash of its leaves. */
export function rangeDigest(leaves: Buffer): Buffer {
  return createHash("sha256").update(leaves).digest();
}

/** A contiguous piece of what a sync copies, within one region. */
export interface SyncRange {
  startBytes: number;
  endBytes: number;
}

/**
 * The ranges from `cursorBytes` on, in disk order: SYNC_RANGE_BYTES steps
 * from the cursor (or the region's start), the last one of a region
 * shorter.
 */
export function* rangesFrom(
  regions: SyncRegions | undefined,
  sizeBytes: number,
  cursorBytes: number,
): Generator<SyncRange> {
  const spans: SyncRegions = regions ?? [[0, sizeBytes]];
  for (const [offset, length] of spans) {
    const end = Math.min(offset + length, sizeBytes);
    for (let at = Math.max(offset, cursorBytes); at < end;) {
      const next = Math.min(end, at + SYNC_RANGE_BYTES);
      yield { startBytes: at, endBytes: next };
      at = next;
    }
  }
}

/** Reads `length` bytes at `offset` (zero-filled past what exists). */
export type ChunkReader = (offsetBytes: number, target: Buffer) => Promise<void>;

/** Chunks read at once while hashing: fewer reads and hand-offs to the thread pool per byte. */
const HASH_READ_CHUNKS = 4;

/**
 * The leaves of [startBytes, endBytes), reading one block (HASH_READ_CHUNKS
 * chunks) ahead of the one being hashed so that the disk and the CPU work
 * at the same time. Returns the concatenated leaves; stops early
 * (undefined) once `signal` is aborted.
 */
export async function hashLeaves(
  read: ChunkReader,
  range: SyncRange,
  signal?: AbortSignal,
): Promise<Buffer | undefined> {
  const count = Math.ceil((range.endBytes - range.startBytes) / SYNC_CHUNK_BYTES);
  const leaves = Buffer.allocUnsafe(count * DIGEST_BYTES);
  const blockBytes = HASH_READ_CHUNKS * SYNC_CHUNK_BYTES;
  // Two buffers in turn (one read into while the other is hashed): a fresh
  // buffer per read cost allocation, page faults and GC at hashing speed.
  const buffers = [Buffer.allocUnsafe(blockBytes), Buffer.allocUnsafe(blockBytes)];
  const blocks = Math.ceil(count / HASH_READ_CHUNKS);
  const readBlock = (b: number): Promise<Buffer> => {
    const at = range.startBytes + b * blockBytes;
    const block = (buffers[b % 2] as Buffer).subarray(0, Math.min(blockBytes, range.endBytes - at));
    return read(at, block).then(() => block);
  };
  let next = readBlock(0);
  for (let b = 0; b < blocks; b++) {
    const block = await next;
    // No read is pending here: returning leaves none behind.
    if (signal?.aborted) return undefined;
    if (b + 1 < blocks) next = readBlock(b + 1);
    for (let at = 0, i = b * HASH_READ_CHUNKS; at < block.length; at += SYNC_CHUNK_BYTES, i++) {
      hashChunk(block.subarray(at, at + SYNC_CHUNK_BYTES)).copy(leaves, i * DIGEST_BYTES);
    }
  }
  return leaves;
}

/** The leaf of chunk `index` of a range's leaves. */
export function leafAt(leaves: Buffer, index: number): Buffer {
  return leaves.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES);
}

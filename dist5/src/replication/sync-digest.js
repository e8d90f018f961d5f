/**
 * The digests a sync compares, on both ends, so that equal disks cost one
 * exchange per large range and only ranges that differ are split further.
 *
 * Two levels: a leaf is the SHA-256 of one chunk (SYNC_CHUNK_BYTES, the
 * unit that is sent); a range is up to SYNC_RANGE_CHUNKS consecutive chunks
 * inside one region, and its digest is the SHA-256 of its leaves in order
 * (a Merkle tree of height two). When a range's digests differ, the source
 * answers with its leaves, so the member learns which chunks to fetch
 * without hashing anything twice.
 *
 * SHA-256 because equal digests mean "not sent": a collision would leave a
 * replica silently different, and with SHA extensions it hashes at
 * ~1.6 GB/s on one core here, faster than the disks and links it serves.
 */
import { createHash } from "node:crypto";
import { SYNC_CHUNK_BYTES } from "./sync-regions.js";
/** Chunks per range: one digest exchange confirms this much is equal. */
export const SYNC_RANGE_CHUNKS = 64;
export const SYNC_RANGE_BYTES = SYNC_RANGE_CHUNKS * SYNC_CHUNK_BYTES;
export const DIGEST_BYTES = 32;
export function hashChunk(data) {
    return createHash("sha256").update(data).digest();
}
/** A range's digest: the hash of its leaves. */
export function rangeDigest(leaves) {
    return createHash("sha256").update(leaves).digest();
}
/**
 * The ranges from `cursorBytes` on, in disk order: SYNC_RANGE_BYTES steps
 * from the cursor (or the region's start), the last one of a region
 * shorter.
 */
export function* rangesFrom(regions, sizeBytes, cursorBytes) {
    const spans = regions ?? [[0, sizeBytes]];
    for (const [offset, length] of spans) {
        const end = Math.min(offset + length, sizeBytes);
        for (let at = Math.max(offset, cursorBytes); at < end;) {
            const next = Math.min(end, at + SYNC_RANGE_BYTES);
            yield { startBytes: at, endBytes: next };
            at = next;
        }
    }
}
/**
 * The leaves of [startBytes, endBytes), reading one chunk ahead of the
 * one being hashed so that the disk and the CPU work at the same time.
 * Returns the concatenated leaves; stops early (undefined) once `signal`
 * is aborted.
 */
export async function hashLeaves(read, range, signal) {
    const count = Math.ceil((range.endBytes - range.startBytes) / SYNC_CHUNK_BYTES);
    const leaves = Buffer.allocUnsafe(count * DIGEST_BYTES);
    const readAt = (i) => {
        const at = range.startBytes + i * SYNC_CHUNK_BYTES;
        const chunk = Buffer.allocUnsafe(Math.min(SYNC_CHUNK_BYTES, range.endBytes - at));
        return read(at, chunk).then(() => chunk);
    };
    let next = readAt(0);
    for (let i = 0; i < count; i++) {
        const chunk = await next;
        // No read is pending here: returning leaves none behind.
        if (signal?.aborted)
            return undefined;
        if (i + 1 < count)
            next = readAt(i + 1);
        hashChunk(chunk).copy(leaves, i * DIGEST_BYTES);
    }
    return leaves;
}
/** The leaf of chunk `index` of a range's leaves. */
export function leafAt(leaves, index) {
    return leaves.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES);
}
//# sourceMappingURL=sync-digest.js.map
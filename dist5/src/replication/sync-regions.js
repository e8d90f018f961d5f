/**
 * The regions of a region resync: the list a sync copies when only part of
 * the disk can differ (a gap in the log, see LogFileHeader.gap), how its
 * progress is counted, and how a member asks the gap's writer for them.
 *
 * Contract: a region list is chunk-aligned (SYNC_CHUNK_BYTES), sorted,
 * disjoint and bounded (MAX_SYNC_REGIONS); a longer one is not taken, the
 * member copies the whole disk instead (digests skip what is equal), so
 * neither side holds an unbounded list.
 */
import { PeerCallError } from "../peer/client.js";
import { PeerProtocolError } from "../peer/error-codes.js";
/** The unit a sync digests, compares and sends. */
export const SYNC_CHUNK_BYTES = 1024 * 1024;
/**
 * Bound on the regions one region resync takes: beyond it the member
 * copies the whole disk instead (digests skip what is equal), so neither
 * side holds an unbounded list.
 */
export const MAX_SYNC_REGIONS = 65_536;
/** Whole chunks covering `regions`, merged, within a disk of `sizeBytes`. */
export function chunkAlignedRegions(regions, sizeBytes) {
    const out = [];
    const sorted = [...regions].sort((a, b) => a.offsetBytes - b.offsetBytes);
    for (const r of sorted) {
        if (r.lengthBytes <= 0)
            continue;
        const start = Math.floor(r.offsetBytes / SYNC_CHUNK_BYTES) * SYNC_CHUNK_BYTES;
        const end = Math.min(sizeBytes, Math.ceil((r.offsetBytes + r.lengthBytes) / SYNC_CHUNK_BYTES) * SYNC_CHUNK_BYTES);
        if (start >= end)
            continue;
        const last = out[out.length - 1];
        if (last && start <= last[0] + last[1])
            last[1] = Math.max(last[1], end - last[0]);
        else
            out.push([start, end - start]);
    }
    return out;
}
/** Bytes of `regions` (the whole disk when undefined) below the cursor `atBytes`. */
export function syncedBytesBelow(regions, sizeBytes, atBytes) {
    if (!regions)
        return Math.min(atBytes, sizeBytes);
    let bytes = 0;
    for (const [offset, length] of regions)
        bytes += Math.max(0, Math.min(offset + length, atBytes) - offset);
    return bytes;
}
/** Bytes a sync of `regions` copies in all. */
export function syncTotalBytes(regions, sizeBytes) {
    return syncedBytesBelow(regions, sizeBytes, Number.MAX_SAFE_INTEGER);
}
/**
 * Asks `source` for the regions its dirty map holds (the node that wrote a
 * gap). Undefined when it has none or too many (sync the whole disk then).
 */
export async function fetchDirtyRegions(client, credentials, source, resource, sizeBytes, 
/** The member whose map to read (a member cut loose); without it the gap map. */
member) {
    try {
        const { body } = await client.call(credentials, source.address, "POST", "/peer/v1/sync/regions", member === undefined ? { resource } : { resource, member }, source.host);
        if (!validRegions(body.regions))
            throw new PeerProtocolError("malformed dirty regions answer");
        return chunkAlignedRegions(body.regions.map(([offsetBytes, lengthBytes]) => ({ offsetBytes, lengthBytes })), sizeBytes);
    }
    catch (err) {
        if (err instanceof PeerCallError && (err.code === "no-resource" || err.code === "too-many-regions")) {
            return undefined;
        }
        throw err;
    }
}
/**
 * Asks `source` (a split brain's winner) for the regions its log files
 * from `fromFileNumber` on write. "logs-gone" when it no longer holds them
 * all (or they are too many regions): copy the whole disk then.
 */
export async function fetchHistoryRegions(client, credentials, source, resource, fromFileNumber) {
    try {
        const { body } = await client.call(credentials, source.address, "POST", "/peer/v1/sync/history-regions", { resource, fromFileNumber }, source.host);
        if (typeof body.lastFile !== "string" ||
            typeof body.prevVersion !== "string" ||
            !validRegions(body.regions))
            throw new PeerProtocolError("malformed history regions answer");
        return body;
    }
    catch (err) {
        if (err instanceof PeerCallError && err.code === "logs-gone")
            return "logs-gone";
        throw err;
    }
}
function validRegions(regions) {
    return (Array.isArray(regions) &&
        regions.length <= MAX_SYNC_REGIONS &&
        regions.every((r) => Array.isArray(r) &&
            r.length === 2 &&
            Number.isSafeInteger(r[0]) &&
            Number.isSafeInteger(r[1]) &&
            r[0] >= 0 &&
            r[1] > 0));
}
//# sourceMappingURL=sync-regions.js.map
/**
 * The on-disk format of a dirty-region map (see dirty-map.ts for the
 * contract): layout constants, the header, creating the file whole, and
 * the typed errors. Little endian throughout.
 *
 * Header block (4 KiB): CRC32C of bytes 4..4095 at 0, magic "MARSDMAP" at
 * 4, format version (u32) at 12, granularityBytes (u64) at 16, diskBytes
 * (u64) at 24, data block count (u32) at 32, zeroes after. Data block i
 * (4 KiB) lies at (i + 1) * 4096: CRC32C of bytes 4..4095 at 0, then the
 * bits of regions i*32736 .. i*32736+32735, bit b of byte j being region
 * 8j+b of the block. Padding bits after the last region are zero.
 */
import path from "node:path";
import { TEMPORARY_PREFIX, makeDirectoryDurable, replaceFileAtomic, } from "../platform/storage/atomic-file.js";
import { invariant } from "../util/assert.js";
import { crc32c } from "../util/crc32c.js";
import { MalformedFileError, MarsError } from "../util/errors.js";
export const DIRTY_MAP_BLOCK_BYTES = 4096;
export const CRC_BYTES = 4;
/** Regions per data block: 4092 bytes of bits. */
export const DIRTY_MAP_REGIONS_PER_BLOCK = (DIRTY_MAP_BLOCK_BYTES - CRC_BYTES) * 8;
export const MIN_DIRTY_MAP_GRANULARITY_BYTES = 4096;
export const MAX_DIRTY_MAP_GRANULARITY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DIRTY_MAP_GRANULARITY_BYTES = 1024 * 1024;
/** 2^30 regions: a 128 MiB map (1 PiB at 1 MiB, 4 TiB at 4 KiB); a bigger disk needs a coarser granularity. */
export const MAX_DIRTY_MAP_REGIONS = 2 ** 30;
const MAGIC = "MARSDMAP";
const FORMAT_VERSION = 1;
/** Blocks read or written per IO when creating or loading (1 MiB). */
export const IO_CHUNK_BLOCKS = 256;
const ZERO_BLOCK_CRC = crc32c(new Uint8Array(DIRTY_MAP_BLOCK_BYTES - CRC_BYTES));
export const POPCOUNT = Uint8Array.from({ length: 256 }, (_, x) => [...x.toString(2)].filter((c) => c === "1").length);
/** The map failed (a write or fdatasync failed): it refuses all work; `cause` holds the errno error. */
export class DirtyMapFailedError extends MarsError {
    constructor(message, options) {
        super("DIRTY_MAP_FAILED", message, options);
    }
}
/** The map file's header is unreadable, corrupt, or describes another disk or granularity. */
export class DirtyMapHeaderError extends MalformedFileError {
    reason;
    constructor(message, 
    /** checksum/format: damaged or not a map; geometry: another disk size or granularity; size: wrong file length. */
    reason) {
        super(message);
        this.reason = reason;
    }
}
/** Why `granularityBytes` is not usable, or undefined (for a configuration check). */
export function dirtyMapGranularityProblem(granularityBytes) {
    const g = granularityBytes;
    if (Number.isSafeInteger(g) &&
        g >= MIN_DIRTY_MAP_GRANULARITY_BYTES &&
        g <= MAX_DIRTY_MAP_GRANULARITY_BYTES) {
        if ((g & (g - 1)) === 0)
            return undefined;
    }
    return `dirty map granularity ${g} is not a power of two from 4 KiB to 64 MiB`;
}
export function geometryOf(diskBytes, granularityBytes) {
    const problem = dirtyMapGranularityProblem(granularityBytes);
    invariant(problem === undefined, problem ?? "");
    invariant(Number.isSafeInteger(diskBytes) && diskBytes > 0, `dirty map disk size ${diskBytes}`);
    const regionCount = Math.ceil(diskBytes / granularityBytes);
    invariant(regionCount <= MAX_DIRTY_MAP_REGIONS, `${regionCount} regions: use a coarser dirty map granularity`);
    const blockCount = Math.ceil(regionCount / DIRTY_MAP_REGIONS_PER_BLOCK);
    return { diskBytes, granularityBytes, regionCount, blockCount };
}
function encodeHeader(g) {
    const block = new Uint8Array(DIRTY_MAP_BLOCK_BYTES);
    const view = new DataView(block.buffer);
    block.set(new TextEncoder().encode(MAGIC), 4);
    view.setUint32(12, FORMAT_VERSION, true);
    view.setBigUint64(16, BigInt(g.granularityBytes), true);
    view.setBigUint64(24, BigInt(g.diskBytes), true);
    view.setUint32(32, g.blockCount, true);
    view.setUint32(0, crc32c(block.subarray(CRC_BYTES)), true);
    return block;
}
export function checkHeader(block, expected, file) {
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    if (view.getUint32(0, true) !== crc32c(block.subarray(CRC_BYTES))) {
        throw new DirtyMapHeaderError(`dirty map ${file}: header checksum mismatch`, "checksum");
    }
    const magic = new TextDecoder().decode(block.subarray(4, 12));
    const version = view.getUint32(12, true);
    if (magic !== MAGIC || version !== FORMAT_VERSION) {
        throw new DirtyMapHeaderError(`dirty map ${file}: not a format ${FORMAT_VERSION} map`, "format");
    }
    const granularityBytes = Number(view.getBigUint64(16, true));
    const diskBytes = Number(view.getBigUint64(24, true));
    if (granularityBytes !== expected.granularityBytes || diskBytes !== expected.diskBytes) {
        throw new DirtyMapHeaderError(`dirty map ${file} covers ${diskBytes} bytes at ${granularityBytes}-byte granularity, ` +
            `expected ${expected.diskBytes} at ${expected.granularityBytes}`, "geometry");
    }
    if (view.getUint32(32, true) !== expected.blockCount) {
        throw new DirtyMapHeaderError(`dirty map ${file}: block count mismatch`, "format");
    }
}
/** Creates the file complete (header, zeroed blocks) or not at all: written aside, synced, renamed, directory synced. */
export async function createMapFile(storage, file, g) {
    const dir = path.dirname(file);
    await makeDirectoryDurable(dir, storage);
    // A crash while creating it may have left a temporary copy (never renamed, so never used).
    const leftover = `${TEMPORARY_PREFIX}${path.basename(file)}.`;
    for (const name of await storage.list(dir)) {
        if (name.startsWith(leftover))
            await storage.remove(path.join(dir, name));
    }
    const chunk = new Uint8Array(Math.min(g.blockCount, IO_CHUNK_BLOCKS) * DIRTY_MAP_BLOCK_BYTES);
    const chunkView = new DataView(chunk.buffer);
    for (let at = 0; at < chunk.length; at += DIRTY_MAP_BLOCK_BYTES)
        chunkView.setUint32(at, ZERO_BLOCK_CRC, true);
    await replaceFileAtomic(file, storage, async (handle) => {
        await handle.writev([encodeHeader(g)], 0);
        for (let block = 0; block < g.blockCount; block += IO_CHUNK_BLOCKS) {
            const blocks = Math.min(IO_CHUNK_BLOCKS, g.blockCount - block);
            await handle.writev([chunk.subarray(0, blocks * DIRTY_MAP_BLOCK_BYTES)], (block + 1) * DIRTY_MAP_BLOCK_BYTES);
        }
    });
}
/** Index in a block image (the file's blocks without the header) of the byte holding `region`'s bit. */
export function regionByteIndex(region) {
    const block = Math.floor(region / DIRTY_MAP_REGIONS_PER_BLOCK);
    const within = region - block * DIRTY_MAP_REGIONS_PER_BLOCK;
    return block * DIRTY_MAP_BLOCK_BYTES + CRC_BYTES + (within >>> 3);
}
export function regionIsSet(image, region) {
    return (image[regionByteIndex(region)] & (1 << (region & 7))) !== 0;
}
/** Whether regions first..last are all set: the mark fast path, so no closure and no allocation. */
export function allRegionsSet(image, first, last) {
    for (let r = first; r <= last;) {
        const bit = r & 7;
        const bits = Math.min(8 - bit, last - r + 1);
        const mask = ((1 << bits) - 1) << bit;
        if ((image[regionByteIndex(r)] & mask) !== mask)
            return false;
        r += bits;
    }
    return true;
}
/** Calls `fn` per image byte holding regions first..last, with the mask of those regions' bits. */
export function forEachRegionByte(first, last, fn) {
    // A block holds a whole number of bytes of bits (32736 = 8 * 4092), so no byte spans two blocks.
    for (let r = first; r <= last;) {
        const bit = r & 7;
        const bits = Math.min(8 - bit, last - r + 1);
        fn(regionByteIndex(r), ((1 << bits) - 1) << bit, Math.floor(r / DIRTY_MAP_REGIONS_PER_BLOCK));
        r += bits;
    }
}
/** The set regions of `image` as merged byte ranges, in disk order, the last clipped to the disk end. */
export function dirtyRuns(image, g) {
    const runs = [];
    const push = (startRegion, endRegion) => {
        const offsetBytes = startRegion * g.granularityBytes;
        runs.push({
            offsetBytes,
            lengthBytes: Math.min(endRegion * g.granularityBytes, g.diskBytes) - offsetBytes,
        });
    };
    let runStart = -1;
    for (let r = 0; r < g.regionCount;) {
        // Whole bytes at once where they do not end or start a run: one read per 8 regions.
        if ((r & 7) === 0 && r + 8 <= g.regionCount) {
            const byte = image[regionByteIndex(r)];
            if (byte === (runStart < 0 ? 0 : 0xff)) {
                r += 8;
                continue;
            }
        }
        const set = regionIsSet(image, r);
        if (set && runStart < 0)
            runStart = r;
        if (!set && runStart >= 0) {
            push(runStart, r);
            runStart = -1;
        }
        r += 1;
    }
    if (runStart >= 0)
        push(runStart, g.regionCount);
    return runs;
}
/** Whether data block `block` of a block image (as read from the file) holds its CRC. */
export function blockIntact(image, block) {
    const at = block * DIRTY_MAP_BLOCK_BYTES;
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    return view.getUint32(at, true) === crc32c(image.subarray(at + CRC_BYTES, at + DIRTY_MAP_BLOCK_BYTES));
}
/**
 * Copies data blocks `blocks` (ascending) of a block image with their
 * CRCs, and the file ranges to write them at (adjacent blocks in one range).
 */
export function encodeBlocks(image, blocks) {
    const snapshot = new Uint8Array(blocks.length * DIRTY_MAP_BLOCK_BYTES);
    const ranges = [];
    blocks.forEach((block, i) => {
        const at = i * DIRTY_MAP_BLOCK_BYTES;
        snapshot.set(image.subarray(block * DIRTY_MAP_BLOCK_BYTES, (block + 1) * DIRTY_MAP_BLOCK_BYTES), at);
        const crc = crc32c(snapshot.subarray(at + CRC_BYTES, at + DIRTY_MAP_BLOCK_BYTES));
        new DataView(snapshot.buffer, at, CRC_BYTES).setUint32(0, crc, true);
        const offsetBytes = (block + 1) * DIRTY_MAP_BLOCK_BYTES;
        const previous = ranges[ranges.length - 1];
        if (previous && previous.offsetBytes + previous.lengthBytes === offsetBytes) {
            previous.lengthBytes += DIRTY_MAP_BLOCK_BYTES;
            previous.data = snapshot.subarray(at + DIRTY_MAP_BLOCK_BYTES - previous.lengthBytes, at + DIRTY_MAP_BLOCK_BYTES);
        }
        else {
            ranges.push({
                offsetBytes,
                lengthBytes: DIRTY_MAP_BLOCK_BYTES,
                data: snapshot.subarray(at, at + DIRTY_MAP_BLOCK_BYTES),
            });
        }
    });
    return { snapshot, ranges };
}
/** Reads target.length bytes at positionBytes, 1 MiB per read; a short file is DirtyMapHeaderError "size". */
export async function readExactly(file, target, positionBytes) {
    const chunkBytes = IO_CHUNK_BLOCKS * DIRTY_MAP_BLOCK_BYTES;
    for (let at = 0; at < target.length; at += chunkBytes) {
        const part = target.subarray(at, Math.min(target.length, at + chunkBytes));
        if ((await file.read(part, positionBytes + at)) !== part.length) {
            throw new DirtyMapHeaderError(`dirty map ${file.path}: short read at ${positionBytes + at}`, "size");
        }
    }
}
/** Zeroes the padding bits after the last region (only real regions count) and counts the set regions. */
export function maskAndCount(image, g) {
    const paddingEnd = g.blockCount * DIRTY_MAP_REGIONS_PER_BLOCK - 1;
    if (paddingEnd >= g.regionCount) {
        forEachRegionByte(g.regionCount, paddingEnd, (index, mask) => (image[index] &= ~mask));
    }
    let count = 0;
    for (let block = 0; block < g.blockCount; block++) {
        const base = block * DIRTY_MAP_BLOCK_BYTES;
        for (let i = base + CRC_BYTES; i < base + DIRTY_MAP_BLOCK_BYTES; i++)
            count += POPCOUNT[image[i]];
    }
    return count;
}
//# sourceMappingURL=dirty-map-format.js.map
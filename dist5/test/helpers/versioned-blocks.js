/**
 * The TypeScript side of test/helpers/nbd_pattern_writer.py: the expected
 * bytes of block i at version v, and reading back which version a block of
 * a volume image holds.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
export const BLOCK_BYTES = 4096;
const MAGIC = 0x4d415253424c4b31n;
export const PATTERN_WRITER = path.join(PROJECT_ROOT, "test", "helpers", "nbd_pattern_writer.py");
export function blockBytes(index, version) {
    const header = Buffer.alloc(24);
    header.writeBigUInt64LE(MAGIC, 0);
    header.writeBigUInt64LE(BigInt(index), 8);
    header.writeBigUInt64LE(BigInt(version), 16);
    const parts = [header];
    for (let k = 0; k < 128; k++)
        parts.push(createHash("sha256").update(`${index}:${version}:${k}`).digest());
    return Buffer.concat(parts).subarray(0, BLOCK_BYTES);
}
/** Version held by block `index` of an image (0 = never written), or a reason it is damaged. */
export function blockVersion(image, index) {
    return decodeBlock(image.subarray(index * BLOCK_BYTES, (index + 1) * BLOCK_BYTES), index);
}
/** Version held by `block`, which should be block `index` (0 = never written), or why it is not one. */
export function decodeBlock(block, index) {
    if (block.every((b) => b === 0))
        return 0;
    if (block.readBigUInt64LE(0) !== MAGIC)
        return "no block header";
    if (block.readBigUInt64LE(8) !== BigInt(index))
        return `header names block ${block.readBigUInt64LE(8)}`;
    const version = block.readBigUInt64LE(16);
    if (version > BigInt(Number.MAX_SAFE_INTEGER) || !block.equals(blockBytes(index, Number(version)))) {
        return `version ${version} is damaged`;
    }
    return Number(version);
}
/** Every block holds at least the last version a writer saw acknowledged. */
export async function assertAcknowledgedPresent(disk, acked, what) {
    const { readFile } = await import("node:fs/promises");
    const image = await readFile(disk);
    for (const [block, version] of acked) {
        const v = blockVersion(image, block);
        if (!(typeof v === "number" && v >= version)) {
            throw new Error(`${what}: block ${block} holds ${String(v)}, version ${version} was acknowledged`);
        }
    }
}
//# sourceMappingURL=versioned-blocks.js.map
/**
 * Whether a disk may back a new resource here (create or join), decided
 * before anything is written, so a refusal leaves nothing to undo.
 *
 * Contract (all refusals are OperatorError: DISK_INVALID or DISK_IN_USE):
 * - the path is absolute and names a regular file or a block device;
 * - it lies outside every marsd data directory (disk.ts);
 * - no other resource of this node uses it, under this or another name;
 * - it opens as the resource will open it (O_EXCL on a block device), so
 *   busy, read-only, immutable or unreadable disks are refused;
 * - a volume size is a multiple of RESOURCE_ALIGN_BYTES, at least
 *   MIN_RESOURCE_BYTES, and fits on the disk.
 */
import path from "node:path";
import { OperatorError, errorMessage } from "../util/errors.js";
import { checkOutsideDataDirs, describeDisk, diskOperatorError, inspectDisk, sameDisk, } from "./disk.js";
export const MIN_RESOURCE_BYTES = 1024 * 1024;
export const RESOURCE_ALIGN_BYTES = 4096;
/** Inspects the disk at `disk` and checks it lies outside every data directory. */
export async function resolveDisk(disk, dataDir, storage) {
    if (!path.isAbsolute(disk))
        throw new OperatorError("DISK_INVALID", `disk path ${disk} must be absolute`);
    let found;
    try {
        found = await inspectDisk(disk, storage);
    }
    catch (err) {
        throw (diskOperatorError(disk, err) ??
            new OperatorError("DISK_INVALID", `disk ${disk} cannot be used: ${errorMessage(err)}`));
    }
    await checkOutsideDataDirs(found, dataDir, storage);
    return found;
}
/**
 * Refuses a disk another resource of this node already uses: the same
 * path, or the same identity under another name (a hard link, another
 * device node). Resources created before identities were recorded are
 * compared by what their path is now.
 */
export async function checkDiskUnused(disk, others, storage) {
    for (const other of others) {
        const identity = other.config.diskIdentity ??
            (await inspectDisk(other.config.disk, storage).catch(() => undefined))?.identity;
        if (other.config.disk === disk.path || (identity && sameDisk(identity, disk.identity))) {
            throw new OperatorError("DISK_IN_USE", `disk ${disk.path} (${describeDisk(disk.identity)}) is already used by resource ${other.name} (disk ${other.config.disk})`);
        }
    }
}
/** The volume size of a new resource: as asked, or the whole disk rounded down; refused if invalid. */
export function volumeSizeBytes(requestedBytes, disk) {
    const sizeBytes = requestedBytes ?? disk.sizeBytes - (disk.sizeBytes % RESOURCE_ALIGN_BYTES);
    if (sizeBytes < MIN_RESOURCE_BYTES || sizeBytes % RESOURCE_ALIGN_BYTES !== 0) {
        throw new OperatorError("DISK_INVALID", `the volume size must be a multiple of ${RESOURCE_ALIGN_BYTES} bytes and at least ${MIN_RESOURCE_BYTES} (got ${sizeBytes})`);
    }
    if (sizeBytes > disk.sizeBytes) {
        throw new OperatorError("DISK_INVALID", `disk ${disk.path} has ${disk.sizeBytes} bytes, fewer than the requested ${sizeBytes}`);
    }
    return sizeBytes;
}
/**
 * Opens the disk as the resource will (O_EXCL on a block device), before
 * anything is written: busy, read-only, immutable or unreadable disks are
 * refused while there is nothing to undo.
 */
export async function probeDisk(diskPath, storage) {
    try {
        const file = await storage.open(diskPath, "readwrite", { directWrites: true });
        await file.close();
    }
    catch (err) {
        throw diskOperatorError(diskPath, err) ?? err;
    }
}
//# sourceMappingURL=disk-admission.js.map
/**
 * What a backing disk is, independent of the path that names it, and the
 * checks that keep one disk from serving two resources.
 *
 * Contract:
 * - A disk is identified by what it is: device + inode for a regular file,
 *   major:minor (st_rdev) for a block device. Two paths with the same
 *   identity (a hard link, a second device node) are the same disk. The
 *   identity is persisted in resource.json at create/join, so a disk that
 *   was replaced behind our back (another file or device at the same path)
 *   is detected when the resource is opened.
 * - Nothing inside a node's data directory can be a disk: checked by
 *   realpath containment (the disk or one of its parent directories is a
 *   data directory of any node on this machine) and, for files with more
 *   than one name, by identity against every file of our own data dir.
 * - Errors the operator can fix (missing, busy, read-only, not permitted)
 *   become OperatorError with a reason (DISK_INVALID / DISK_IN_USE); only
 *   errors nobody can explain stay as they are.
 *
 * Cost: the identity walk of our data dir (a few files per resource) runs
 * only for a regular file with several links, once per create/join.
 */
import path from "node:path";
import { FailStopFile } from "../platform/storage/fail-stop-file.js";
import { MarsError, OperatorError, errorMessage } from "../util/errors.js";
/** The disk at the configured path is not the one the resource was created on. */
export class DiskReplacedError extends MarsError {
    constructor(message) {
        super("DISK_REPLACED", message);
    }
}
export function isDiskIdentity(value) {
    const v = value;
    if (typeof v !== "object" || v === null)
        return false;
    if (v.kind === "file")
        return typeof v.dev === "string" && typeof v.ino === "string";
    return v.kind === "block" && typeof v.rdev === "string";
}
export function sameDisk(a, b) {
    if (a.kind === "file" && b.kind === "file")
        return a.dev === b.dev && a.ino === b.ino;
    if (a.kind === "block" && b.kind === "block")
        return a.rdev === b.rdev;
    return false;
}
export function describeDisk(id) {
    return id.kind === "file" ? `file dev ${id.dev} inode ${id.ino}` : `block device ${id.rdev}`;
}
/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
function majorMinor(rdev) {
    const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
    return `${major}:${minor}`;
}
/**
 * Realpath, identity and size of a disk. Throws the system error (ENOENT...)
 * as it is, or DISK_INVALID for something that is neither a file nor a
 * block device.
 */
export async function inspectDisk(diskPath, storage) {
    const real = await storage.realPath(diskPath);
    const st = await storage.stat(real);
    if (st.kind === "file") {
        return {
            path: real,
            identity: { kind: "file", dev: String(st.device), ino: String(st.inode) },
            sizeBytes: st.sizeBytes,
            links: st.links,
        };
    }
    if (st.kind === "block-device") {
        return {
            path: real,
            identity: { kind: "block", rdev: majorMinor(st.rdev) },
            sizeBytes: await deviceSizeBytes(real, storage),
            links: 1,
        };
    }
    const what = st.kind === "directory" ? "a directory" : "neither a regular file nor a block device";
    throw new OperatorError("DISK_INVALID", `disk ${diskPath} is ${what}`);
}
/** A block device's size: stat(2) reports 0 for devices, an open device knows. */
async function deviceSizeBytes(devicePath, storage) {
    const device = await storage.open(devicePath, "read");
    try {
        return await device.sizeBytes();
    }
    finally {
        await device.close();
    }
}
const OPERATOR_ERRNO = {
    ENOENT: "does not exist",
    ENOTDIR: "does not exist",
    EISDIR: "is a directory",
    EACCES: "is not accessible (permission denied)",
    EPERM: "may not be written (operation not permitted: immutable or append-only?)",
    EROFS: "is on a read-only file system",
    EIO: "cannot be read (I/O error)",
    ENXIO: "has no device behind it",
    ENODEV: "has no device behind it",
    ETXTBSY: "is busy (in use as a program or swap)",
    ELOOP: "is a symbolic link loop",
    ENAMETOOLONG: "has too long a path",
};
/**
 * The operator-facing form of a failure to inspect or open a disk, or
 * undefined when it is nothing the operator caused.
 */
export function diskOperatorError(diskPath, err) {
    if (err instanceof OperatorError)
        return err;
    const code = err?.code;
    if (code === "EBUSY")
        return new OperatorError("DISK_IN_USE", `disk ${diskPath} is busy (mounted or opened exclusively elsewhere)`);
    if (typeof code !== "string")
        return undefined;
    const reason = OPERATOR_ERRNO[code];
    if (reason)
        return new OperatorError("DISK_INVALID", `disk ${diskPath} ${reason} (${code})`);
    return undefined;
}
/** A directory is some node's data directory (the pid lock, or the resources and cluster dirs). */
async function isDataDir(dir, storage) {
    const exists = (p) => storage.stat(p).then(() => true, () => false);
    if (await exists(path.join(dir, "marsd.pid")))
        return true;
    return (await exists(path.join(dir, "resources"))) && (await exists(path.join(dir, "cluster")));
}
function isInside(child, parent) {
    const rel = path.relative(parent, child);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
/**
 * Refuses (DISK_IN_USE) a disk that lies inside a data directory: ours
 * (whatever its realpath), any other node's on this machine (one of its
 * parent directories is a data directory), or another name of a file in
 * our data directory (same identity).
 */
export async function checkOutsideDataDirs(disk, ownDataDir, storage) {
    const refuse = (dir) => new OperatorError("DISK_IN_USE", `disk ${disk.path} lies inside the marsd data directory ${dir}`);
    const own = await storage.realPath(ownDataDir).catch(() => path.resolve(ownDataDir));
    if (isInside(disk.path, own))
        throw refuse(own);
    for (let dir = path.dirname(disk.path);; dir = path.dirname(dir)) {
        if (await isDataDir(dir, storage))
            throw refuse(dir);
        if (path.dirname(dir) === dir)
            break;
    }
    if (disk.identity.kind !== "file" || disk.links < 2)
        return;
    const other = await findByIdentity(own, disk.identity, storage);
    if (other) {
        throw new OperatorError("DISK_IN_USE", `disk ${disk.path} is another name (hard link) of ${other}, inside the marsd data directory`);
    }
}
async function findByIdentity(root, id, storage) {
    const queue = [root];
    while (queue.length > 0) {
        const dir = queue.shift();
        const names = await storage.list(dir).catch(() => []);
        for (const name of names) {
            const p = path.join(dir, name);
            const st = await storage.stat(p, { followLinks: false }).catch(() => undefined);
            if (st?.kind === "directory")
                queue.push(p);
            else if (st?.kind === "file" && String(st.device) === id.dev && String(st.inode) === id.ino)
                return p;
        }
    }
    return undefined;
}
/**
 * Opens a resource's disk for IO, after checking that it is still the
 * disk the resource was created on (when its identity was recorded).
 * Throws DiskReplacedError, an OperatorError or the system error.
 */
export async function openResourceDisk(diskPath, expected, storage) {
    const found = await inspectDisk(diskPath, storage);
    if (expected && !sameDisk(found.identity, expected)) {
        throw new DiskReplacedError(`disk ${diskPath} was replaced: it is now ${describeDisk(found.identity)}, the resource was created on ${describeDisk(expected)}`);
    }
    // The first failed write or sync is final for this descriptor (FailStopFile):
    // nothing in the resource may sync it again and call the result durable.
    return new FailStopFile(await storage.open(diskPath, "readwrite", { directWrites: true }));
}
/**
 * Stands in for a disk that could not be opened at start-up, so that the
 * resource still exists (state "failed", with the reason) and can be
 * inspected, left or deleted. Every IO fails with that reason.
 */
export class UnavailableDisk {
    path;
    reason;
    constructor(path, reason) {
        this.path = path;
        this.reason = reason;
    }
    fail() {
        return Promise.reject(new OperatorError("DISK_INVALID", `disk ${this.path} is unavailable: ${this.reason}`));
    }
    read() {
        return this.fail();
    }
    writev() {
        return this.fail();
    }
    writeRanges() {
        return this.fail();
    }
    datasync() {
        return this.fail();
    }
    truncate() {
        return this.fail();
    }
    sizeBytes() {
        return Promise.resolve(0);
    }
    close() {
        return Promise.resolve();
    }
}
/** The reason shown for a disk that cannot be opened. */
export function diskFailureReason(diskPath, err) {
    return diskOperatorError(diskPath, err)?.message ?? errorMessage(err);
}
//# sourceMappingURL=disk.js.map
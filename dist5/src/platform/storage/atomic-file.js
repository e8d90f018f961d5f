/**
 * Small metadata files (checkpoints, resource configs, cluster state) are
 * replaced atomically: write a temporary file, fsync it, rename it over the
 * old one, fsync the directory. A crash leaves either the old or the new
 * content, never a mix; at worst a temporary file is left behind, which a
 * reader never looks at and removeStaleTemporaries() collects.
 *
 * Everything goes through the storage seam, so a test can stop the process
 * model at any of these steps (test/helpers/crash-storage.ts).
 *
 * Temporary names are `.tmp.<target>.<n>`, n counting per Storage: no
 * randomness, so a simulated run names its files the same way on every
 * replay. They are created exclusively; a name taken (a leftover of a
 * crash, another process writing the same target) moves on to the next n.
 */
import path from "node:path";
import { isErrno } from "../../util/errors.js";
/** Prefix of the temporary files writeFileAtomic writes next to their target. */
export const TEMPORARY_PREFIX = ".tmp.";
/** Names tried before giving up: each taken one is a leftover or a concurrent writer of the same target. */
export const MAX_TEMPORARY_ATTEMPTS = 1000;
const nextTemporaryNumber = new WeakMap();
/** Creates (exclusively) a new temporary file next to `target`; the caller renames or removes it. */
export async function createTemporaryFile(target, storage) {
    const prefix = path.join(path.dirname(target), `${TEMPORARY_PREFIX}${path.basename(target)}.`);
    for (let attempt = 1;; attempt++) {
        const n = nextTemporaryNumber.get(storage) ?? 0;
        nextTemporaryNumber.set(storage, n + 1);
        try {
            return { path: prefix + n, file: await storage.open(prefix + n, "create") };
        }
        catch (err) {
            if (!isErrno(err, "EEXIST") || attempt >= MAX_TEMPORARY_ATTEMPTS)
                throw err;
        }
    }
}
export async function writeFileAtomic(file, data, storage) {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    await replaceFileAtomic(file, storage, (handle) => handle.writev([bytes], 0));
}
/**
 * writeFileAtomic for content written in pieces (a file too large for one
 * buffer): `write` fills the temporary file, which is then synced, renamed
 * over `file`, and the directory synced.
 */
export async function replaceFileAtomic(file, storage, write) {
    const dir = path.dirname(file);
    const { path: tmp, file: handle } = await createTemporaryFile(file, storage);
    try {
        await write(handle);
        // The data must be durable before the rename makes it the file's content.
        await handle.datasync();
    }
    catch (err) {
        await handle.close().catch(() => undefined);
        await storage.remove(tmp).catch(() => undefined);
        throw err;
    }
    await handle.close();
    await storage.rename(tmp, file);
    await storage.syncDirectory(dir);
}
/**
 * Removes the temporary files an interrupted writeFileAtomic left in `dir`
 * (a crash between creating and renaming one). Call only while nothing
 * writes atomically in `dir`, e.g. while loading it at start-up.
 * Returns the names removed.
 */
export async function removeStaleTemporaries(dir, storage) {
    const stale = (await storage.list(dir)).filter((name) => name.startsWith(TEMPORARY_PREFIX));
    for (const name of stale)
        await storage.remove(path.join(dir, name));
    if (stale.length > 0)
        await storage.syncDirectory(dir);
    return stale;
}
/** Reads and parses a JSON file; `undefined` if it does not exist. */
export async function readJsonFile(file, storage) {
    try {
        return JSON.parse(Buffer.from(await storage.readFile(file)).toString("utf8"));
    }
    catch (err) {
        if (isErrno(err, "ENOENT"))
            return undefined;
        throw err;
    }
}
/**
 * mkdir -p that survives a power loss: each directory it creates is made
 * durable by syncing its parent (a new directory's entry is not durable
 * until then, so a crash could lose it with everything written inside,
 * however carefully each file was synced). Directories that exist already
 * cost one stat each.
 */
export async function makeDirectoryDurable(dir, storage, options = {}) {
    const missing = [];
    for (let at = path.resolve(dir);; at = path.dirname(at)) {
        try {
            // Something else in the way: mkdir -p reports it (EEXIST, ENOTDIR) as it would anyway.
            if ((await storage.stat(at)).kind !== "directory")
                return storage.makeDirectory(dir, options);
            break;
        }
        catch (err) {
            if (!isErrno(err, "ENOENT"))
                throw err;
            missing.push(at);
            if (path.dirname(at) === at)
                break;
        }
    }
    if (missing.length === 0)
        return;
    await storage.makeDirectory(dir, options);
    // Top down: a parent's entry must be durable before its child's matters.
    for (const created of missing.reverse())
        await storage.syncDirectory(path.dirname(created));
}
//# sourceMappingURL=atomic-file.js.map
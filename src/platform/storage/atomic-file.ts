/**
 * Small metadata files (checkpoints, resource configs, cluster state) are
 * replaced atomically: write a temporary file, fsync it, rename it over the
 * old one, fsync the directory. A crash leaves either the old or the new
 * content, never a mix; at worst a temporary file is left behind, which a
 * reader never looks at and removeStaleTemporaries() collects.
 *
 * Everything goes through the storage seam, so a test can stop the process
 * model at any of these steps (test/helpers/crash-storage.ts).
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { isErrno } from "../../util/errors.js";
import type { Storage } from "./types.js";

/** Prefix of the temporary files writeFileAtomic writes next to their target. */
export const TEMPORARY_PREFIX = ".tmp.";

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  storage: Storage,
): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${TEMPORARY_PREFIX}${path.basename(file)}.${randomBytes(4).toString("hex")}`);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const handle = await storage.open(tmp, "create");
  try {
    await handle.writev([bytes], 0);
    // The data must be durable before the rename makes it the file's content.
    await handle.datasync();
  } catch (err) {
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
export async function removeStaleTemporaries(dir: string, storage: Storage): Promise<string[]> {
  const stale = (await storage.list(dir)).filter((name) => name.startsWith(TEMPORARY_PREFIX));
  for (const name of stale) await storage.remove(path.join(dir, name));
  if (stale.length > 0) await storage.syncDirectory(dir);
  return stale;
}

/** Reads and parses a JSON file; `undefined` if it does not exist. */
export async function readJsonFile(file: string, storage: Storage): Promise<unknown> {
  try {
    return JSON.parse(Buffer.from(await storage.readFile(file)).toString("utf8")) as unknown;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
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
export async function makeDirectoryDurable(
  dir: string,
  storage: Storage,
  options: { mode?: number } = {},
): Promise<void> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      await storage.stat(at);
      break;
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
      missing.push(at);
      if (path.dirname(at) === at) break;
    }
  }
  if (missing.length === 0) return;
  await storage.makeDirectory(dir, options);
  // Top down: a parent's entry must be durable before its child's matters.
  for (const created of missing.reverse()) await storage.syncDirectory(path.dirname(created));
}

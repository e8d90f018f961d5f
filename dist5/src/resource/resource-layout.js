/**
 * The on-disk layout of one resource: the directory
 * `<dataDir>/resources/<name>/` (mode 0700) with resource.json
 * (resource-config.ts), checkpoint.json (checkpoint.ts), sync.json,
 * fetch.json and pause.json (resource-files.ts) and the log files
 * (src/replication/local-logs.ts); and the backing disk it names.
 *
 * Contract:
 * - create/join write every state file before resource.json: a directory
 *   without resource.json is an unfinished creation (the manager removes
 *   it at start-up), never a resource with missing state.
 * - load never fails for the backing disk: a disk that is missing,
 *   replaced, busy or unreadable is reported in `diskProblem` and stands in
 *   as an UnavailableDisk, so it fails this resource only, never the
 *   daemon's start-up.
 */
import path from "node:path";
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import { parseLogName } from "../log/log-name.js";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { UnavailableDisk, diskFailureReason, openResourceDisk } from "./disk.js";
import { readResourceConfig, resourceDir, writeResourceConfig, } from "./resource-config.js";
import { ResourceFiles, SYNC_DONE, } from "./resource-files.js";
import { InternalError, MalformedFileError, MarsError, OperatorError } from "../util/errors.js";
/** Writes a new resource's directory, this node its primary: the disk's content is the initial content. */
export async function createLayout(storage, dataDir, config) {
    const dir = resourceDir(dataDir, config.name);
    await makeDirectoryDurable(dir, storage, { mode: 0o700 });
    await new ResourceFiles(dir, storage).writeSync(SYNC_DONE(config.sizeBytes));
    await writeResourceConfig(dir, config, storage);
    return dir;
}
/**
 * Writes the directory of a joining member: full sync of the disk pending,
 * fetch and replay from the start of the primary's current log file.
 */
export async function joinLayout(storage, dataDir, config, startFile) {
    const dir = resourceDir(dataDir, config.name);
    await makeDirectoryDurable(dir, storage, { mode: 0o700 });
    const start = parseLogName(startFile);
    if (!start)
        throw new InternalError(`bad start file ${startFile}`);
    const files = new ResourceFiles(dir, storage);
    await files.writeSync({ state: "syncing", doneBytes: 0, totalBytes: config.sizeBytes, consistent: false });
    await files.writeFetch({ file: startFile, verifiedBytes: 0, nextSeq: 0, finished: false });
    await writeCheckpoint(dir, { ...start, offsetBytes: 0, nextSeq: 0, streamBytes: 0 }, storage);
    await writeResourceConfig(dir, config, storage);
    return dir;
}
export async function loadLayout(storage, dir) {
    const config = await readResourceConfig(dir, storage);
    if (!config)
        throw new MalformedFileError(`${dir} has no resource configuration`);
    let diskProblem;
    const backing = await openResourceDisk(config.disk, config.diskIdentity, storage).catch((err) => {
        diskProblem =
            err instanceof MarsError
                ? err
                : new OperatorError("DISK_INVALID", diskFailureReason(config.disk, err), undefined, { cause: err });
        return new UnavailableDisk(config.disk, diskFailureReason(config.disk, err));
    });
    const files = new ResourceFiles(dir, storage);
    return {
        dir,
        config,
        backing,
        diskSizeBytes: await backing.sizeBytes(),
        diskProblem,
        checkpoint: await readCheckpoint(dir, storage),
        syncFile: (await files.readSync()) ?? SYNC_DONE(config.sizeBytes),
        pauseFile: await files.readPause(),
        emergencyFile: await files.readEmergency(),
    };
}
/**
 * resource.json is written last by create and join, after the small
 * state files and before any log file: a directory without it and
 * without log files is a creation cut short by a crash. (One with log
 * files is not touched: it holds data.) Asked only when resource.json is missing.
 */
export async function isUnfinishedCreation(storage, dir) {
    return !(await storage.list(dir)).some((f) => parseLogName(f) !== undefined);
}
/** Removes a resource directory and everything in it, durably (the parent is synced). */
export async function removeLayout(storage, dir) {
    await storage.removeTree(dir);
    await storage.syncDirectory(path.dirname(dir));
}
//# sourceMappingURL=resource-layout.js.map
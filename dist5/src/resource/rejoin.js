/**
 * A member that was cut loose (resource/cut-loose.ts) comes back: the log
 * files it had not applied are gone, so it joins again from the first file
 * still present, copying only the regions its dirty map recorded.
 *
 * Contract: runs inside the resource's serialised role changes, on a
 * secondary. sync.json says "syncing, not consistent" before anything else
 * changes, so a crash half-way leaves a disk marked inconsistent and the
 * rejoin runs again; the local log files go, fetching and the checkpoint
 * restart at the start of resumeFile, and the secondary role starts over
 * (the sync first, then replay from resumeFile; consistent once replay
 * passes the sync end).
 */
import { parseLogName } from "../log/log-name.js";
import { fetchDirtyRegions } from "../replication/sync-regions.js";
import { startSecondary, stopSecondary } from "./secondary-role.js";
import { recordSyncStart } from "./secondary-sync.js";
import { InternalError } from "../util/errors.js";
export async function rejoinAfterCut(core, hooks, entry) {
    const { deps, name } = core;
    const resume = entry.resumeFile ? parseLogName(entry.resumeFile) : undefined;
    if (!resume || !entry.resumeFile || core.role !== "secondary")
        return;
    const credentials = deps.cluster.credentials();
    const address = deps.cluster.addressOf(entry.by);
    let regions;
    try {
        if (!credentials || !address)
            throw new Error(`${entry.by} is not reachable`);
        if (!entry.wholeDisk)
            regions = await fetchDirtyRegions(deps.cluster.client, credentials, { host: entry.by, address }, name, core.config.sizeBytes, core.host);
    }
    catch (err) {
        deps.logger.warn({ resource: name, by: entry.by, err }, "cut loose: cannot read my dirty regions yet; retrying");
        return;
    }
    deps.logger.warn({ resource: name, by: entry.by, resumeFile: entry.resumeFile, regions: regions?.length ?? "whole disk" }, "cut loose while behind: resyncing the regions I missed, then replaying from the first file still kept");
    await restartSecondaryFrom(core, hooks, regions, {
        resumeFile: entry.resumeFile,
        sourceHost: entry.by,
        streamBytes: entry.resumeStreamBytes ?? 0,
    });
}
/**
 * Starts this secondary over: a sync of `regions` (the whole disk when
 * undefined) from `sourceHost`, then replay from the start of
 * `resumeFile`. sync.json says "syncing, not consistent" before anything
 * else changes; the local log files go; fetching and the checkpoint move to
 * the start of resumeFile. Runs inside the serialised role changes.
 */
export async function restartSecondaryFrom(core, hooks, regions, from) {
    const resume = parseLogName(from.resumeFile);
    if (!resume)
        throw new InternalError(`bad resume file ${from.resumeFile}`);
    await stopSecondary(core);
    await recordSyncStart(core, regions, { resumeFile: from.resumeFile, sourceHost: from.sourceHost });
    for (const f of core.logs.list())
        await core.logs.remove(f.name);
    await core.deps.storage.syncDirectory(core.dir);
    await core.files.writeFetch({ file: from.resumeFile, verifiedBytes: 0, nextSeq: 0, finished: false });
    core.applier.markApplied({
        fileNumber: resume.fileNumber,
        host: resume.host,
        offsetBytes: 0,
        nextSeq: 0,
        streamBytes: from.streamBytes,
    });
    await core.checkpointer.checkpointNow();
    await startSecondary(core, hooks);
}
//# sourceMappingURL=rejoin.js.map
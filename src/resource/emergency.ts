/**
 * Emergency mode: the primary's log area is full, and the application
 * keeps running. MARS stopped logging then and needed a full sync of every
 * member afterwards; here the primary writes straight to its disk, records
 * the regions it writes in a dirty-region map, and the members copy only
 * those regions (a region resync) before they replay on.
 *
 * Contract:
 * - Entering (a log append failed with ENOSPC/EDQUOT, or free space fell
 *   below the last level): the current log file ends at its durable end
 *   (a failed writer's file is cut there, so no record that was never
 *   acknowledged can be replayed later over a direct write), every logged
 *   write is applied and the checkpoint says so, and emergency.json says
 *   "active" before the first direct write. A crash at any point therefore
 *   replays nothing over a direct write, and the map forgets no region.
 * - While active, every write is acknowledged once its map bit and its
 *   data are durable (direct-writes.ts). The members keep their consistent,
 *   outdated disks: nothing new reaches the log.
 * - Leaving (space is back, or on a take-over or step-down): the next log
 *   file is started with a gap header (LogFileHeader.gap) that names this
 *   node and the last file before the gap; emergency.json records that file
 *   until every member has replayed past it, then the map is cleared. A
 *   member reaching the gap copies the map's regions from the primary,
 *   then replays on from the gap file; it is consistent once replay passes
 *   the sync end.
 * - Several emergencies before every member caught up: the map keeps the
 *   regions of each, and the logged writes in between are added to it on
 *   the next entry (a member that resyncs at the later gap skips them).
 */
import path from "node:path";
import type { LogFileHeader } from "../log/file-header.js";
import { formatLogName, parseLogName } from "../log/log-name.js";
import { recordRanges } from "../log/record-ranges.js";
import { LogFailedError, isErrno } from "../util/errors.js";
import type { DirtyRegionsAnswer } from "../replication/sync-regions.js";
import { DirectWrites } from "./direct-writes.js";
import { DirtyMap } from "./dirty-map.js";
import { openMemberMap } from "./cut-loose.js";
import type { ResourceCore, RoleHooks } from "./resource-core.js";

const DIRTY_MAP_FILE = "dirty.map";

/**
 * Whether replay may enter `file`. Never while this disk holds writes that
 * are in no log (this node was primary in emergency mode and did not
 * write the gap file: a whole-disk copy must come first). Into a file
 * after a gap only if this disk holds what the gap skipped: this node
 * wrote it (straight to this disk), or a resync covered it.
 */
export function mayEnterFile(core: ResourceCore): (file: string, header: LogFileHeader) => boolean {
  return (file, header) => {
    if (core.emergencyFile?.active) return isOwnGapFile(core, header);
    return !header.gap || header.gap.host === core.host || core.syncFile.gapCleared === file;
  };
}

/**
 * Whether `header` is of the gap file this node started to leave its
 * active emergency: a crash after the file started and before
 * emergency.json said so (noteGapStarted) leaves both, and the file may
 * hold acknowledged writes. It continues this disk's history.
 */
export function isOwnGapFile(core: ResourceCore, header: LogFileHeader): boolean {
  const e = core.emergencyFile;
  return e?.active === true && header.gap?.host === core.host && header.gap.afterFile === e.afterFile;
}

/**
 * This node is a secondary and its disk holds writes it made as primary in
 * emergency mode, in no log yet: it owes the gap file its step-down did
 * not write (role-decision.ts mayCloseGap says when it may).
 */
export function owesGapFile(core: ResourceCore): boolean {
  return core.emergencyFile?.active === true && core.role === "secondary";
}

/** Whether a failed append means "the log area is full" (not a broken disk). */
export function isLogSpaceFailure(err: unknown): boolean {
  const cause = err instanceof LogFailedError ? err.cause : err;
  return isErrno(cause, "ENOSPC") || isErrno(cause, "EDQUOT");
}

/** The resource's dirty map, opened once (created on first use). */
export async function openDirtyMap(core: ResourceCore): Promise<DirtyMap> {
  core.dirtyMap ??= await DirtyMap.open(core.deps.storage, path.join(core.dir, DIRTY_MAP_FILE), {
    diskBytes: core.config.sizeBytes,
    granularityBytes: core.deps.settings.dirtyGranularityBytes,
    time: core.deps.time,
    observer: {
      flushed: () => undefined,
      corruptBlock: (info) =>
        core.deps.logger.warn(
          { resource: core.name, ...info },
          "dirty map block failed its check: read as all dirty",
        ),
      failed: (err) => core.deps.logger.error({ resource: core.name, err }, "dirty map failed"),
    },
  });
  return core.dirtyMap;
}

/**
 * Stops logging and returns the direct path (PrimaryVolume calls it once,
 * on the first append that found the log full, or when space ran low).
 */
export async function enterEmergency(
  core: ResourceCore,
  hooks: RoleHooks,
  cause: unknown,
): Promise<DirectWrites> {
  const { deps, name } = core;
  const parts = core.primary;
  if (!parts) throw new LogFailedError(`${name}: not primary, no emergency mode`, { cause });
  const startMs = deps.time.monotonicMs();
  deps.logger.warn(
    { resource: name, file: formatLogName(parts.log.current), err: cause },
    "log area full: entering emergency mode",
  );
  // No write or sync is issued to the failed file again; its records past
  // the durable end were never acknowledged and are cut (a fresh handle).
  // The durable end is read once abandon() has waited for the writes in
  // flight: a batch of a healthy writer (the monitor's entry) may still
  // become durable, and be acknowledged, until then. The last file is the
  // current one after abandon() waited for a rotation in progress: one
  // that started the next file makes that file the last before the gap
  // (simulator seed 880031: read before, the gap file later took the
  // started file's number and failed with EEXIST).
  await parts.log.abandon();
  const writer = parts.log.currentWriter;
  const last = formatLogName(parts.log.current);
  const durableBytes = writer.durableOffsetBytes;
  const nextSeq = writer.durableNextSeq;
  const file = await deps.storage.open(core.logs.pathOf(last), "readwrite");
  try {
    await file.truncate(durableBytes);
    await file.datasync();
  } finally {
    await file.close();
  }
  await removeLaterFiles(core, parts.log.current.fileNumber);
  core.logs.setLength(last, durableBytes);
  core.logs.markFinished(last);
  const version = await core.logs.version(last);
  core.logs.rememberVersion(version);
  core.view.publishVersion(version);
  const header = await core.logs.header(last);
  // Every acknowledged write is applied and the checkpoint says so: a
  // restart replays nothing over the direct writes that follow.
  await core.applier.idle();
  core.applier.markApplied({
    fileNumber: header.fileNumber,
    host: header.host,
    offsetBytes: durableBytes,
    nextSeq,
    streamBytes: header.streamStartBytes + durableBytes,
  });
  await core.checkpointer.checkpointNow();
  const map = await openDirtyMap(core);
  const previous = core.emergencyFile;
  if (previous?.gapFile) {
    // Members that did not pass the last gap will resync at this one: the
    // logged writes since the last gap are theirs to copy too.
    await addLoggedRegions(core, map, parseLogName(previous.gapFile)?.fileNumber ?? 0);
  }
  core.emergencyFile = { active: true, afterFile: last, enteredMs: deps.time.nowMs() };
  await core.files.writeEmergency(core.emergencyFile);
  deps.metrics.resourceEmergencyEntries.labels(name).inc();
  hooks.publishStatus(true);
  // Writes wait from the failed append to here: the stall the application sees.
  deps.logger.warn(
    { resource: name, afterFile: last, stallMs: Math.round(deps.time.monotonicMs() - startMs) },
    "emergency mode: writes go straight to the disk",
  );
  return new DirectWrites(core.backing, map, () => deps.time.monotonicMs(), {
    synced: (writes) => deps.metrics.resourceDirectWrites.labels(name).inc(writes),
  });
}

/** Logging starts again in `gapFile` (a file with a gap header): remembered until every member passed it. */
export async function noteGapStarted(core: ResourceCore, gapFile: string, stallMs?: number): Promise<void> {
  const previous = core.emergencyFile;
  if (!previous) return;
  core.emergencyFile = {
    active: false,
    afterFile: previous.afterFile,
    enteredMs: previous.enteredMs,
    gapFile,
  };
  await core.files.writeEmergency(core.emergencyFile);
  core.deps.logger.info(
    {
      resource: core.name,
      gapFile,
      afterFile: previous.afterFile,
      ...(stallMs !== undefined ? { stallMs } : {}),
    },
    "emergency mode over: logging again; members resync the dirty regions",
  );
}

/**
 * Once every member has replayed past the gap, the map has served: it is
 * cleared and emergency.json removed. Returns whether it was.
 */
export async function clearMapIfResynced(core: ResourceCore): Promise<boolean> {
  const gapFile = core.emergencyFile?.gapFile;
  if (!gapFile || core.emergencyFile?.active) return false;
  const gapNumber = parseLogName(gapFile)?.fileNumber ?? Number.MAX_SAFE_INTEGER;
  for (const host of core.view.members()) {
    if (host === core.host) continue;
    const applied = parseLogName(core.view.publishedStatusOf(host)?.applied?.file ?? "")?.fileNumber;
    if (applied === undefined || applied < gapNumber) return false;
  }
  const map = await openDirtyMap(core);
  await map.clear();
  await core.files.removeEmergency();
  core.emergencyFile = undefined;
  core.deps.logger.info({ resource: core.name, gapFile }, "every member resynced the gap: dirty map cleared");
  return true;
}

/** What this node answers a member resyncing a gap it wrote: its map's regions, while it has a map. */
export async function dirtyRegionsAnswer(
  core: ResourceCore,
  member?: string,
): Promise<DirtyRegionsAnswer | undefined> {
  if (core.state !== "running") return undefined;
  let map: DirtyMap;
  if (member !== undefined) {
    // A member we cut loose: its own map (only while our entry about it stands).
    if (!core.view.looseEntries().some((e) => e.by === core.host && e.member === member)) return undefined;
    map = await openMemberMap(core, member);
  } else {
    if (!core.emergencyFile) return undefined;
    map = await openDirtyMap(core);
  }
  return {
    granularityBytes: core.deps.settings.dirtyGranularityBytes,
    regions: map.regions().map((r): [number, number] => [r.offsetBytes, r.lengthBytes]),
  };
}

/** resource.status's emergency block: the mode, the gap, the map, who still has to resync. */
export function emergencyDetail(core: ResourceCore) {
  const e = core.emergencyFile;
  if (!e) return undefined;
  const dirtyBytes = core.dirtyMap?.dirtyBytes ?? 0;
  const reason = e.gapFile
    ? `missed the writes made without logging before ${e.gapFile}`
    : `the primary writes without logging since ${e.afterFile}`;
  return {
    active: e.active,
    afterFile: e.afterFile,
    ...(e.gapFile ? { gapFile: e.gapFile } : {}),
    enteredMs: e.enteredMs,
    dirtyBytes,
    dirtyMapBytes: core.dirtyMap?.mapBytes ?? 0,
    membersNeedingResync: membersBehindGap(core).map((host) => ({ host, dirtyBytes, reason })),
  };
}

/** Members that have not replayed past the gap yet (they need a region resync). */
export function membersBehindGap(core: ResourceCore): string[] {
  const e = core.emergencyFile;
  if (!e) return [];
  const gapNumber = e.gapFile ? (parseLogName(e.gapFile)?.fileNumber ?? 0) : Number.MAX_SAFE_INTEGER;
  return core.view.members().filter((host) => {
    if (host === core.host) return false;
    const applied = parseLogName(core.view.publishedStatusOf(host)?.applied?.file ?? "")?.fileNumber;
    return applied === undefined || applied < gapNumber;
  });
}

/** Adds the regions of every record in local files numbered `fromNumber` and up to the map. */
async function addLoggedRegions(core: ResourceCore, map: DirtyMap, fromNumber: number): Promise<void> {
  for (const f of core.logs.list()) {
    if (f.fileNumber < fromNumber) continue;
    const ranges = await recordRanges(core.deps.storage, f.path, f.lengthBytes).catch((err: unknown) => {
      // Deleted meanwhile (the log space monitor or retention): a file goes only once every
      // member replayed it, or after its regions went into a cut-loose member's own map.
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    });
    await map.markRanges(ranges);
  }
}

/**
 * A rotation that failed half-way may have left the next file with a torn
 * header: it was never part of the log (nobody was told of it), and the
 * gap file takes its number.
 */
export async function removeLaterFiles(core: ResourceCore, lastNumber: number): Promise<void> {
  let removed = false;
  for (const entry of await core.deps.storage.list(core.dir)) {
    const parsed = parseLogName(entry);
    if (!parsed || parsed.fileNumber <= lastNumber || core.logs.get(entry)) continue;
    await core.deps.storage.remove(path.join(core.dir, entry));
    removed = true;
  }
  if (removed) await core.deps.storage.syncDirectory(core.dir);
}

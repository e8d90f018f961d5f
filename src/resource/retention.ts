/**
 * Retention: which local log files (and our version entries in the
 * cluster state) may be deleted.
 *
 * Contract:
 * - A file is deleted only when every member has replayed past it: the
 *   floor is the lowest file number any member still applies (ours from the
 *   persisted checkpoint, since a restart replays from there; the others'
 *   from their published applied position). A member that has not
 *   reported a position pins everything.
 * - The file being written, fetched or replayed here, and the newest local
 *   file, are never deleted.
 * - Our version entries are pruned up to the one right before the floor
 *   (the chain must still link to what we hold).
 * - A member cut loose (cut-loose.ts) pins nothing; before the primary
 *   deletes a file it has not applied, the file's regions go into its map.
 * - During a split brain nothing from the file before the first fork on is
 *   deleted or pruned, whatever the positions say: positions on two
 *   branches are not comparable (a winner's log-6-bravo is not "past" a
 *   loser's log-5-alpha), and the resolution needs both sides' files and
 *   the version before the fork to copy only what diverged.
 */
import { formatLogName, parseLogName } from "../log/log-name.js";
import { foldBeforeDeleting, looseMembers } from "./cut-loose.js";
import { forksOf } from "./resource-metric-source.js";
import type { ResourceCore } from "./resource-core.js";

/**
 * The lowest log file number any member still needs (undefined: a member
 * pins everything). Members cut loose need no file; `withLoose` counts them
 * anyway: our version entries stay down to their positions, the evidence a
 * fork (a split brain) is found by when they return.
 */
export function logFloor(core: ResourceCore, withLoose = false): number | undefined {
  let floor: number | undefined;
  const loose = withLoose ? new Set<string>() : looseMembers(core);
  for (const host of core.view.members()) {
    if (loose.has(host) && host !== core.host) continue;
    const applied =
      host === core.host
        ? core.checkpointer.position?.fileNumber
        : parseLogName(core.view.publishedStatusOf(host)?.applied?.file ?? "")?.fileNumber;
    if (applied === undefined) return undefined;
    floor = floor === undefined ? applied : Math.min(floor, applied);
  }
  const fork = forksOf(core)[0];
  return fork && floor !== undefined ? Math.min(floor, fork.fileNumber - 1) : floor;
}

/**
 * Deletes local log files that every member has replayed past (the
 * lowest file any member still applies is kept, and everything after).
 */
export function deleteReplayedLogs(
  core: ResourceCore,
): Promise<{ deleted: string[]; floorFileNumber: number | undefined }> {
  // One at a time per resource: the job, resource.logDelete and a cut loose
  // (space-watch.ts) may ask at once, and two runs choosing the same files
  // would fail the resource on a file the other removed (ENOENT).
  const previous = deleting.get(core) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => deleteOnce(core));
  deleting.set(core, run);
  return run;
}

/** The run in progress (or the last one) per resource, so a new one waits for it. */
const deleting = new WeakMap<ResourceCore, Promise<unknown>>();

async function deleteOnce(
  core: ResourceCore,
): Promise<{ deleted: string[]; floorFileNumber: number | undefined }> {
  // Our floor is the persisted checkpoint (a restart replays from there):
  // brought up to date first. With no room for it, the older one decides
  // (deleting frees the space the next one needs).
  await core.checkpointer.checkpointNow({ tolerateNoSpace: true });
  const floor = logFloor(core);
  if (floor === undefined) return { deleted: [], floorFileNumber: undefined };
  const inUse = new Set<string>();
  if (core.primary) inUse.add(formatLogName(core.primary.log.current));
  if (core.secondary) {
    inUse.add(formatLogName(core.secondary.replayer.readPosition));
    inUse.add(core.secondary.fetcher.current.file);
  }
  const newest = core.logs.newest();
  const doomed = core.logs.list().filter((f) => f.fileNumber < floor && !inUse.has(f.name) && f !== newest);
  await foldBeforeDeleting(core, doomed);
  const deleted: string[] = [];
  for (const f of doomed) {
    await core.logs.remove(f.name);
    deleted.push(f.name);
  }
  if (deleted.length > 0) {
    core.deps.logger.info({ resource: core.name, deleted }, "deleted replayed log files");
  }
  const versionFloor = logFloor(core, true);
  if (versionFloor !== undefined) core.view.pruneVersions(versionFloor);
  return { deleted, floorFileNumber: floor };
}

/**
 * The secondary role of a resource: the fetcher pulls the designated
 * primary's log files into local copies, the replayer applies them in
 * order, and a joining member first copies the disk (full sync). The disk
 * is always a prefix of the primary's history, except during that first
 * copy (then it is marked Inconsistent until replay passes the sync end).
 *
 * Contract:
 * - startSecondary resumes exactly where the persisted progress says
 *   (fetch.json, sync.json, pause.json), after re-verifying the tail of the
 *   file that was being fetched: bytes written but not yet synced when we
 *   crashed may be torn, and are cut off (log-tail truncation).
 * - Our own last file is finished once we are no longer its writer (crash
 *   or step-down): it is never appended to again.
 * - stopSecondary returns once nothing fetches, syncs or applies any more.
 */
import { parseLogName, formatLogName } from "../log/log-name.js";
import { positionAtOrAfter, type LogPosition } from "../log/log-stream.js";
import { scanLogFile } from "../log/scanner.js";
import { Fetcher, type FetchProgress } from "../replication/fetcher.js";
import { mayEnterFile, openDirtyMap } from "./emergency.js";
import { Replayer } from "../replication/replayer.js";
import type { ResourceCore, RoleHooks, SecondaryParts } from "./resource-core.js";
import { makeSyncClient, startRegionResync } from "./secondary-sync.js";
import { sizeGuardedApplier } from "./resize.js";
import { memberHistories } from "./status-model.js";
import type { FetchFile, PauseWhat } from "./resource-files.js";
import { LogCorruptError, MalformedFileError, OperatorError, isErrno } from "../util/errors.js";

/** Whether a local file is complete (a later file exists, or fetch progress says so). */
export async function isLocallyFinished(core: ResourceCore, name: string): Promise<boolean> {
  const number = parseLogName(name)?.fileNumber ?? 0;
  if (core.logs.list().some((f) => f.fileNumber > number)) return true;
  const fetch = await core.files.readFetch();
  return fetch?.file === name && fetch.finished;
}

/** Starts fetching, replaying and (if needed) syncing. */
export async function startSecondary(core: ResourceCore, hooks: RoleHooks): Promise<void> {
  const { deps, name } = core;
  const fetch = await prepareFetch(core);
  // No checkpoint yet (a primary that lost power before its first one,
  // restarted as a secondary): the disk may hold any part of every local
  // file's writes, so replay starts at the oldest, not at the file fetched
  // (simulator seed 940020: a torn block from file 1 stayed torn, replay
  // began at file 2).
  const oldest = core.logs.list()[0];
  const start = core.applier.appliedPosition ?? {
    ...(parseLogName(oldest?.name ?? fetch.file) as { fileNumber: number; host: string }),
    offsetBytes: 0,
    nextSeq: 0,
    streamBytes: 0,
  };
  core.repairUntil = repairFloor(core, start);
  if (core.repairUntil) {
    deps.logger.info(
      {
        resource: name,
        until: core.repairUntil,
        applied: formatLogName(start),
        offsetBytes: start.offsetBytes,
      },
      "the disk may hold part of the writes up to the end of the local log: not consistent until replay passes it",
    );
  }
  const replayer = new Replayer(
    {
      resource: name,
      logs: core.logs,
      storage: deps.storage,
      applier: sizeGuardedApplier(core),
      metrics: deps.metrics,
      logger: deps.logger,
      onFileReplayed: (v) => core.view.publishVersion(v),
      maxInFlight: deps.settings.replayMaxInFlight,
      onIoFailure: (err) => hooks.fatal(err),
      mayEnter: mayEnterFile(core),
      // While a sync copies: replay only what no data still on its way can predate.
      limit: () => core.secondary?.sync?.replayLimit(),
    },
    start,
  );
  const fetcher = new Fetcher(
    {
      resource: name,
      host: core.host,
      logs: core.logs,
      storage: deps.storage,
      time: deps.time,
      client: deps.cluster.client,
      credentials: () => deps.cluster.credentials(),
      addressOf: (h) => deps.cluster.addressOf(h),
      designatedPrimary: () => core.view.designatedPrimary(),
      holdersOf: (fileNumber) =>
        memberHistories(core)
          .filter(
            (m) =>
              m.host !== core.host &&
              (m.versions.has(fileNumber) || m.positions.some((p) => p.fileNumber === fileNumber)),
          )
          .map((m) => m.host),
      saveProgress: (p: FetchProgress) => core.files.writeFetch(p),
      metrics: deps.metrics,
      logger: deps.logger,
      syncEveryBytes: deps.settings.fetchSyncEveryBytes,
      listWaitMs: deps.settings.listWaitMs,
      retryMaxMs: deps.settings.retryMaxMs,
      throttle: (bytes, signal) => deps.transfers.limits.take("fetch", name, bytes, signal),
      acceptCompression: () => deps.settings.compressionEnabled?.(name) ?? false,
    },
    fetch,
  );
  fetcher.on("state", () => hooks.progressed());
  fetcher.on("remote", () => hooks.progressed());
  replayer.on("progress", () => hooks.progressed());
  replayer.on("state", () => hooks.progressed());
  // A gap this node wrote: its map answers the members' region resyncs (and shows in the metrics).
  if (core.emergencyFile) await openDirtyMap(core);
  const sync = core.syncFile.state === "syncing" ? makeSyncClient(core, hooks) : undefined;
  replayer.on("gap", (file, header) => {
    startRegionResync(core, hooks, file, header).catch((err: unknown) => hooks.fatal(err));
  });
  core.secondary = { fetcher, replayer, sync };
  core.role = "secondary";
  // Paused since before a restart: the loop starts with resume().
  if (!core.pauseFile.fetch) fetcher.start();
  else void fetcher.pause();
  if (sync) {
    if (core.pauseFile.sync) sync.setPaused(true);
    sync.start();
  }
  // Also during a sync, up to its replay limit (a replica stuck at a gap waits there).
  if (!core.pauseFile.replay) replayer.follow();
  core.checkpointer.start();
  hooks.publishStatus(true);
}

/**
 * Where fetching resumes: the persisted progress, with the tail of a file
 * that was being fetched re-verified (bytes written but not yet synced
 * when we crashed may be torn).
 */
async function prepareFetch(core: ResourceCore): Promise<FetchFile> {
  const { logs } = core;
  const newest = logs.newest();
  const saved = await core.files.readFetch();
  for (const f of logs.list()) if (f !== newest) logs.markFinished(f.name);
  if (!newest) {
    if (!saved) throw new MalformedFileError("nothing to fetch: no log file and no fetch position");
    return { ...saved, verifiedBytes: 0, nextSeq: 0, finished: false };
  }
  const fromSaved = saved?.file === newest.name;
  const start = fromSaved
    ? { offsetBytes: saved.verifiedBytes, seq: saved.nextSeq }
    : { offsetBytes: 0, seq: 0 };
  // Listed but never written: the fetcher registers the next file before its
  // first bytes arrive (and creates it with them). Nothing to re-verify.
  if (newest.lengthBytes === 0 && !(await exists(core, newest.path))) {
    const progress = { file: newest.name, verifiedBytes: 0, nextSeq: 0, finished: false };
    await core.files.writeFetch(progress);
    return progress;
  }
  const file = await core.deps.storage.open(newest.path, "readwrite");
  let length: number;
  let nextSeq: number;
  try {
    const outcome = await scanLogFile(file, {
      fromOffsetBytes: Math.min(start.offsetBytes, newest.lengthBytes),
      expectedSeq: start.offsetBytes === 0 ? undefined : start.seq,
    });
    if (outcome.status === "corrupt") throw new LogCorruptError(`${newest.name}: ${outcome.reason}`);
    length = outcome.endOffsetBytes;
    nextSeq = outcome.nextSeq;
    if (outcome.status === "torn") {
      await file.truncate(length);
      await file.datasync();
    }
  } finally {
    await file.close();
  }
  logs.setLength(newest.name, length);
  const own = newest.host === core.host;
  // Our own last file is finished once we are no longer its writer (crash or step-down).
  const finished = own || (fromSaved && saved.finished);
  if (finished) {
    logs.markFinished(newest.name);
    if (own) core.view.publishVersion(await logs.version(newest.name));
  }
  const progress = { file: newest.name, verifiedBytes: length, nextSeq, finished };
  await core.files.writeFetch(progress);
  return progress;
}

/**
 * Where replay must get to before this disk is a prefix of the history
 * again (undefined: it is one now). The disk holds the checkpoint's state
 * plus any subset of the writes applied after it (after a power loss, or
 * a failed disk sync, some torn): everything up to the end of the local
 * log may have been applied. A replay paused and checkpointed since
 * (PauseFile.replayCheckpointed) applied nothing after the checkpoint.
 * Simulator seed 870116: read right after a power loss, a "consistent"
 * secondary's disk had a torn block.
 */
function repairFloor(
  core: ResourceCore,
  applied: LogPosition,
): { fileNumber: number; offsetBytes: number } | undefined {
  if (core.pauseFile.replay && core.pauseFile.replayCheckpointed) return undefined;
  const newest = core.logs.newest();
  if (!newest) return undefined;
  const end = { fileNumber: newest.fileNumber, offsetBytes: newest.lengthBytes };
  return positionAtOrAfter(applied, end) ? undefined : end;
}

/**
 * A replica becomes consistent once its applied position passes the sync
 * end, and (after a restart) the end of the local log it started with.
 * Returns true when it just became consistent (the caller publishes).
 */
export function checkConsistent(
  core: ResourceCore,
  hooks: RoleHooks,
  applied: LogPosition | undefined,
): boolean {
  const repaired =
    core.repairUntil !== undefined && applied !== undefined && positionAtOrAfter(applied, core.repairUntil);
  if (repaired) {
    core.repairUntil = undefined;
    core.deps.logger.info(
      { resource: core.name, applied: formatLogName(applied) },
      "replay passed the end of the local log at start: the disk is a prefix of the history again",
    );
  }
  return checkSynced(core, hooks, applied) || (repaired && core.syncFile.consistent);
}

function checkSynced(core: ResourceCore, hooks: RoleHooks, applied: LogPosition | undefined): boolean {
  const { syncFile } = core;
  if (!core.secondary || syncFile.consistent || syncFile.state !== "done" || !syncFile.syncEnd) return false;
  if (!applied || !positionAtOrAfter(applied, syncFile.syncEnd)) return false;
  core.syncFile = { ...syncFile, consistent: true };
  core.files.writeSync(core.syncFile).catch((err: unknown) => hooks.fatal(err));
  core.deps.logger.info({ resource: core.name }, "replica is consistent");
  return true;
}

/** Whether the newest local file is finished and replayed to its end (or there is none). */
export function appliedNewestFile(core: ResourceCore): boolean {
  const newest = core.logs.newest();
  if (newest === undefined) return true;
  const read = core.secondary?.replayer.readPosition;
  return (
    read !== undefined &&
    core.logs.isFinished(newest.name) &&
    formatLogName(read) === newest.name &&
    read.offsetBytes >= newest.lengthBytes
  );
}

/** Stops fetching, syncing and replaying; resolves once nothing is applied any more. */
export async function stopSecondary(core: ResourceCore): Promise<void> {
  const parts = core.secondary;
  if (!parts) return;
  core.secondary = undefined;
  await parts.sync?.stop();
  await parts.fetcher.stop();
  await parts.replayer.stop();
  await core.applier.idle();
}

/**
 * Pauses or resumes one activity (persisted first, so a restart keeps it).
 * A resumed replay runs during a sync too, up to the sync's replay limit.
 * Refused while the resource is not running: a failed one's files are
 * being closed and recovered (simulator seed 300056). Returns whether it
 * changed. A paused replay is checkpointed after: `fatal` gets a failure
 * of that (the pause stands; the resource recovers, paused).
 */
export async function setPaused(
  core: ResourceCore,
  what: PauseWhat,
  paused: boolean,
  fatal: (err: unknown) => void,
): Promise<boolean> {
  if (core.state !== "running") {
    throw new OperatorError("RESOURCE_FAILED", `${core.name} is ${core.state}: retry once it runs`);
  }
  if (core.pauseFile[what] === paused) return false;
  core.pauseFile = { ...core.pauseFile, [what]: paused };
  if (what === "replay") delete core.pauseFile.replayCheckpointed;
  await core.files.writePause(core.pauseFile);
  const parts = core.secondary;
  if (!parts) return true;
  if (what === "fetch") {
    if (paused) await parts.fetcher.pause();
    else parts.fetcher.resume();
  }
  if (what === "sync") parts.sync?.setPaused(paused);
  if (what === "replay") {
    if (paused) {
      await parts.replayer.pause();
      await checkpointPausedReplay(core, parts).catch(fatal);
    } else {
      parts.replayer.resume();
      parts.replayer.follow();
    }
  }
  return true;
}

/**
 * Replay stopped: the checkpoint catches up with it, and pause.json says
 * so (PauseFile.replayCheckpointed: a restart finds the disk exactly at
 * the checkpoint). A checkpoint not written for lack of space leaves the
 * flag off (a restart then replays to the log's end first).
 */
async function checkpointPausedReplay(core: ResourceCore, parts: SecondaryParts): Promise<void> {
  await core.applier.idle();
  const written = await core.checkpointer.checkpointNow({ tolerateNoSpace: true });
  if (written && core.pauseFile.replay && core.secondary === parts) {
    core.pauseFile = { ...core.pauseFile, replayCheckpointed: true };
    await core.files.writePause(core.pauseFile);
  }
}

async function exists(core: ResourceCore, filePath: string): Promise<boolean> {
  try {
    await core.deps.storage.stat(filePath);
    return true;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
}

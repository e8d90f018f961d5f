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
import type { LogPosition } from "../log/log-stream.js";
import { scanLogFile } from "../log/scanner.js";
import { Fetcher, type FetchProgress } from "../replication/fetcher.js";
import { SyncClient } from "../replication/full-sync.js";
import { fetchDirtyRegions, syncTotalBytes, type SyncRegions } from "../replication/sync-regions.js";
import type { LogFileHeader } from "../log/file-header.js";
import { mayEnterFile } from "./emergency.js";
import { Replayer } from "../replication/replayer.js";
import type { ResourceCore, RoleHooks, SecondaryParts } from "./resource-core.js";
import { memberHistories } from "./status-model.js";
import { positionAtOrAfter, type FetchFile, type PauseFile } from "./resource-files.js";
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
  const start = core.applier.appliedPosition ?? {
    ...(parseLogName(fetch.file) as { fileNumber: number; host: string }),
    offsetBytes: 0,
    nextSeq: 0,
    streamBytes: 0,
  };
  const replayer = new Replayer(
    {
      resource: name,
      logs: core.logs,
      storage: deps.storage,
      applier: core.applier,
      metrics: deps.metrics,
      logger: deps.logger,
      onFileReplayed: (v) => core.view.publishVersion(v),
      maxInFlight: deps.settings.replayMaxInFlight,
      onIoFailure: (err) => hooks.fatal(err),
      mayEnter: mayEnterFile(core),
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
      holderOf: (fileNumber) =>
        memberHistories(core).find(
          (m) =>
            m.host !== core.host &&
            (m.versions.has(fileNumber) || m.positions.some((p) => p.fileNumber === fileNumber)),
        )?.host,
      saveProgress: (p: FetchProgress) => core.files.writeFetch(p),
      metrics: deps.metrics,
      logger: deps.logger,
      syncEveryBytes: deps.settings.fetchSyncEveryBytes,
      listWaitMs: deps.settings.listWaitMs,
      retryMaxMs: deps.settings.retryMaxMs,
    },
    fetch,
  );
  fetcher.on("state", () => hooks.progressed());
  fetcher.on("remote", () => hooks.progressed());
  replayer.on("progress", () => hooks.progressed());
  replayer.on("state", () => hooks.progressed());
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
  } else if (!core.pauseFile.replay) {
    replayer.follow();
  }
  core.checkpointer.start();
  hooks.publishStatus(true);
}

/** The sync client for what sync.json says is to copy (the whole disk, or a gap's regions). */
function makeSyncClient(core: ResourceCore, hooks: RoleHooks): SyncClient {
  const { deps, name } = core;
  const { regions } = core.syncFile;
  return new SyncClient(
    {
      resource: name,
      disk: core.backing,
      sizeBytes: core.config.sizeBytes,
      time: deps.time,
      client: deps.cluster.client,
      credentials: () => deps.cluster.credentials(),
      source: () => primarySource(core),
      saveProgress: async (doneBytes, syncEnd) => {
        core.syncFile = { ...core.syncFile, doneBytes, ...(syncEnd ? { syncEnd } : {}) };
        await core.files.writeSync(core.syncFile);
        hooks.progressed();
      },
      metrics: deps.metrics,
      logger: deps.logger,
      retryMaxMs: deps.settings.retryMaxMs,
      ...(regions ? { regions } : {}),
    },
    core.syncFile.doneBytes,
    (syncEnd) => {
      syncFinished(core, hooks, syncEnd).catch((err: unknown) => hooks.fatal(err));
    },
  );
}

function primarySource(core: ResourceCore): { host: string; address: string } | undefined {
  const p = core.view.designatedPrimary();
  const address = p && p !== core.host ? core.deps.cluster.addressOf(p) : undefined;
  return p && address ? { host: p, address } : undefined;
}

/**
 * Replay stopped before `file`, whose gap this disk lacks: copy the
 * regions the gap's writer recorded (all of the disk if it cannot say),
 * then replay on into `file`. Retried while the writer is unreachable.
 * A disk with writes in no log (mayEnterFile) is copied whole.
 */
async function startRegionResync(
  core: ResourceCore,
  hooks: RoleHooks,
  file: string,
  header: LogFileHeader,
): Promise<void> {
  const { deps } = core;
  const parts = core.secondary;
  if (!parts || parts.sync || core.state !== "running") return;
  if (core.emergencyFile?.active) {
    // The sync is recorded first: until it is done, nothing is replayed.
    await startSync(core, hooks, parts, file, undefined);
    return discardUnloggedWrites(core);
  }
  const gap = header.gap ?? { reason: "emergency", host: header.host, afterFile: "" };
  const credentials = deps.cluster.credentials();
  const address = deps.cluster.addressOf(gap.host);
  let regions: SyncRegions | undefined;
  try {
    if (!credentials || !address)
      throw new OperatorError("PRIMARY_UNREACHABLE", `${gap.host} is not reachable`);
    regions = await fetchDirtyRegions(
      deps.cluster.client,
      credentials,
      { host: gap.host, address },
      core.name,
      core.config.sizeBytes,
    );
  } catch (err) {
    deps.logger.warn(
      { resource: core.name, gapHost: gap.host, err },
      "cannot read the gap's dirty regions yet; retrying",
    );
    deps.time.setTimer(deps.settings.retryMaxMs, () => {
      if (core.secondary === parts && parts.replayer.pendingGap?.file === file) {
        startRegionResync(core, hooks, file, header).catch((e: unknown) => hooks.fatal(e));
      }
    });
    return;
  }
  return startSync(core, hooks, parts, file, regions);
}

/** Persists and starts a sync before `file` (of `regions`, or the whole disk). */
async function startSync(
  core: ResourceCore,
  hooks: RoleHooks,
  parts: SecondaryParts,
  file: string,
  regions: SyncRegions | undefined,
): Promise<void> {
  const { deps } = core;
  if (core.secondary !== parts || parts.sync) return;
  const totalBytes = syncTotalBytes(regions, core.config.sizeBytes);
  core.syncFile = {
    state: "syncing",
    doneBytes: 0,
    totalBytes,
    consistent: false,
    gapFile: file,
    ...(regions ? { regions: regions.map(([o, l]) => [o, l] as [number, number]) } : {}),
    ...(core.syncFile.gapCleared ? { gapCleared: core.syncFile.gapCleared } : {}),
  };
  await core.files.writeSync(core.syncFile);
  deps.logger.info(
    { resource: core.name, gapFile: file, regions: regions?.length ?? "whole disk", totalBytes },
    "a gap in the log: resync before replaying on",
  );
  const sync = makeSyncClient(core, hooks);
  parts.sync = sync;
  if (core.pauseFile.sync) sync.setPaused(true);
  sync.start();
  hooks.publishStatus(true);
}

/**
 * This node stopped being primary in emergency mode without a gap file
 * (it failed or was cut off): its disk holds writes no log has, which the
 * new primary's history does not. Only a whole-disk copy makes it a
 * replica again (digests skip what is equal).
 */
async function discardUnloggedWrites(core: ResourceCore): Promise<void> {
  core.deps.logger.warn(
    { resource: core.name, since: core.emergencyFile?.afterFile },
    "stopped being primary in emergency mode: its unlogged writes are not in the primary's history; full sync",
  );
  await core.files.removeEmergency();
  core.emergencyFile = undefined;
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

async function syncFinished(core: ResourceCore, hooks: RoleHooks, syncEnd: LogPosition): Promise<void> {
  const { gapFile, gapCleared, regions, totalBytes } = core.syncFile;
  // A gap is crossed only after a copy made once replay stood before it;
  // a whole-disk copy made then covers it as well as a region resync.
  const cleared = gapFile ?? gapCleared;
  core.syncFile = {
    state: "done",
    doneBytes: totalBytes,
    totalBytes,
    syncEnd,
    consistent: false,
    ...(cleared ? { gapCleared: cleared } : {}),
  };
  await core.files.writeSync(core.syncFile);
  core.deps.logger.info(
    { resource: core.name, syncEnd: formatLogName(syncEnd), regions: regions?.length ?? "whole disk" },
    "sync done; replaying",
  );
  if (core.secondary) {
    core.secondary.sync = undefined;
    core.secondary.replayer.gapResynced();
    if (!core.pauseFile.replay) core.secondary.replayer.follow();
  }
  hooks.progressed();
}

/**
 * A replica becomes consistent once its applied position passes the sync
 * end. Returns true when it just became consistent (the caller publishes).
 */
export function checkConsistent(
  core: ResourceCore,
  hooks: RoleHooks,
  applied: LogPosition | undefined,
): boolean {
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
 * A resumed replay waits while a full sync runs: it starts once the copy is done.
 */
export async function setPaused(core: ResourceCore, what: keyof PauseFile, paused: boolean): Promise<void> {
  core.pauseFile = { ...core.pauseFile, [what]: paused };
  await core.files.writePause(core.pauseFile);
  const parts = core.secondary;
  if (!parts) return;
  if (what === "fetch") {
    if (paused) await parts.fetcher.pause();
    else parts.fetcher.resume();
  }
  if (what === "sync") parts.sync?.setPaused(paused);
  if (what === "replay") {
    if (paused) await parts.replayer.pause();
    else if (!parts.sync) {
      parts.replayer.resume();
      parts.replayer.follow();
    }
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

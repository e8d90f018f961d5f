/**
 * A secondary's syncs, full and of regions, through one SyncClient
 * (replication/sync-client.ts): a joining member copies the whole disk; a
 * member whose replay reached a gap in the log (LogFileHeader.gap) copies
 * the regions the gap's writer recorded in its dirty map. Either way the
 * copy is consistent only once replay has passed the sync end.
 *
 * Contract:
 * - sync.json records the sync (state, regions, the gap it is for) before
 *   the copy starts, so a restart resumes it, and replay does not enter the
 *   gap file until a copy made at the gap is done (gapCleared).
 * - A disk that holds writes no log has (this node was primary in emergency
 *   mode and did not write the gap file) is copied whole before anything
 *   is replayed.
 */
import { formatLogName } from "../log/log-name.js";
import type { LogFileHeader } from "../log/file-header.js";
import type { LogPosition } from "../log/log-stream.js";
import { SYNC_DATA_WINDOW_BYTES, SyncClient } from "../replication/sync-client.js";
import type { SyncSource } from "../replication/sync-server.js";
import { fetchDirtyRegions, syncTotalBytes, type SyncRegions } from "../replication/sync-regions.js";
import { OperatorError } from "../util/errors.js";
import { diskConsistent, type ResourceCore, type RoleHooks, type SecondaryParts } from "./resource-core.js";

/** The sync client for what sync.json says is to copy (the whole disk, or a gap's regions). */
export function makeSyncClient(core: ResourceCore, hooks: RoleHooks): SyncClient {
  const { deps, name } = core;
  const { regions } = core.syncFile;
  const client = new SyncClient(
    {
      resource: name,
      disk: core.backing,
      sizeBytes: core.config.sizeBytes,
      time: deps.time,
      client: deps.cluster.client,
      credentials: () => deps.cluster.credentials(),
      source: () => syncSource(core),
      saveProgress: async (doneBytes, syncEnd) => {
        core.syncFile = { ...core.syncFile, doneBytes, ...(syncEnd ? { syncEnd } : {}) };
        await core.files.writeSync(core.syncFile);
        hooks.progressed();
      },
      metrics: deps.metrics,
      logger: deps.logger,
      retryMaxMs: deps.settings.retryMaxMs,
      throttle: (bytes, signal) => deps.transfers.limits.take("sync", name, bytes, signal),
      onReplayLimit: () => core.secondary?.replayer.limitChanged(),
      // Under a bandwidth limit, about a second of data in flight: windows then
      // complete one after the other, and progress (the cursor) moves steadily.
      maxInFlightBytes: () => {
        const rate = deps.transfers.limits.effectiveRate("sync", name);
        const max = deps.transfers.syncInFlightBytes;
        return rate > 0 ? Math.min(max, Math.max(SYNC_DATA_WINDOW_BYTES, rate)) : max;
      },
      admission: (signal) => deps.transfers.syncSlots.acquire(signal),
      onDiskFailure: (err) => hooks.fatal(err),
      acceptCompression: () => deps.settings.compressionEnabled?.(name) ?? false,
      ...(regions ? { regions } : {}),
    },
    core.syncFile.doneBytes,
    (syncEnd) => {
      syncFinished(core, hooks, syncEnd).catch((err: unknown) => hooks.fatal(err));
    },
  );
  // Copied to the end before a restart, not yet marked done: the saved syncEnd finishes it.
  client.syncEnd = core.syncFile.syncEnd;
  return client;
}

/**
 * Where a sync copies from: the node sync.json names (a region resync
 * copies from the node that wrote the gap or cut us loose: it holds the
 * data even when it is no longer primary, or when we are designated),
 * else the designated primary.
 */
function syncSource(core: ResourceCore): { host: string; address: string } | undefined {
  const p = core.syncFile.sourceHost ?? core.view.designatedPrimary();
  const address = p && p !== core.host ? core.deps.cluster.addressOf(p) : undefined;
  return p && address ? { host: p, address } : undefined;
}

/**
 * What this node serves to a member's sync while it is a secondary (the
 * primary serves from its volume): its disk, read behind the applies in
 * flight, and where its replay stands (every write visible on the disk is
 * before it). Only a consistent replica that is not syncing itself serves.
 */
export function secondarySyncSource(core: ResourceCore): SyncSource | undefined {
  const parts = core.secondary;
  if (core.state !== "running" || !parts || parts.sync || !diskConsistent(core)) return undefined;
  const { applier, backing } = core;
  return {
    volume: {
      sizeBytes: core.config.sizeBytes,
      read: async (offsetBytes, target) => {
        const pending = applier.rangeApplied(offsetBytes, target.length);
        if (pending) await pending;
        const n = await backing.read(target, offsetBytes);
        if (n < target.length) target.fill(0, n);
      },
    },
    durablePosition: () => parts.replayer.readPosition,
  };
}

/**
 * Replay stopped before `file`, whose gap this disk lacks: copy the
 * regions the gap's writer recorded (all of the disk if it cannot say),
 * then replay on into `file`. Retried while the writer is unreachable.
 * A disk with writes in no log (mayEnterFile) is copied whole.
 */
export async function startRegionResync(
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
    await startSync(core, hooks, parts, file, undefined, header.host);
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
  return startSync(core, hooks, parts, file, regions, gap.host);
}

/**
 * Records a sync about to start (sync.json: syncing, not consistent; the
 * progress gauges at 0) and returns its size. `why`: the gap file or the
 * resume file it is for.
 */
export async function recordSyncStart(
  core: ResourceCore,
  regions: SyncRegions | undefined,
  why: ({ gapFile: string } | { resumeFile: string }) & { sourceHost: string },
): Promise<number> {
  const totalBytes = syncTotalBytes(regions, core.config.sizeBytes);
  core.syncFile = {
    state: "syncing",
    doneBytes: 0,
    totalBytes,
    consistent: false,
    ...why,
    ...(regions ? { regions: regions.map(([o, l]): [number, number] => [o, l]) } : {}),
    ...(core.syncFile.gapCleared ? { gapCleared: core.syncFile.gapCleared } : {}),
  };
  await core.files.writeSync(core.syncFile);
  core.deps.metrics.replicationSyncTotalBytes.labels(core.name).set(totalBytes);
  core.deps.metrics.replicationSyncDoneBytes.labels(core.name).set(0);
  return totalBytes;
}

/** Persists and starts a sync before `file` (of `regions`, or the whole disk). */
async function startSync(
  core: ResourceCore,
  hooks: RoleHooks,
  parts: SecondaryParts,
  file: string,
  regions: SyncRegions | undefined,
  sourceHost: string,
): Promise<void> {
  const { deps } = core;
  if (core.secondary !== parts || parts.sync) return;
  // Replay stands before the gap, everything before it applied: checkpoint
  // that first. Otherwise a restart replays older records over the regions
  // copied, whose newest data (emergency-mode writes) no log has, and the
  // member calls a stale disk consistent (simulator seed 1120044).
  await core.checkpointer.checkpointNow();
  const totalBytes = await recordSyncStart(core, regions, { gapFile: file, sourceHost });
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
    if (!core.pauseFile.replay) {
      // A repair (verify.ts) paused it; a gap's resync found it stopped at the gap.
      core.secondary.replayer.resume();
      core.secondary.replayer.follow();
    }
  }
  hooks.progressed();
}

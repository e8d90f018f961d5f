/**
 * The status model: the replication states of a resource member, in the
 * spirit of `marsadm view` (what its disk holds, diskState, and what it is
 * doing about it, replState), the status each member publishes about
 * itself (`resource/<res>/host/<host>/status`, so any node can show all
 * members), resource.status's live detail, and the lag arithmetic between
 * a member and the primary.
 *
 * Contract: everything here is computed from what the resource holds and
 * what the cluster state says now; nothing here writes or waits. Lags are
 * never negative; a lag that cannot be known (no position published, or a
 * position from before stream offsets were published) is undefined, not 0.
 */
import { formatLogName, parseLogName } from "../log/log-name.js";
import type { LogPosition } from "../log/log-stream.js";
import { detectForks, type MemberHistory } from "../replication/history.js";
import { syncedBytesBelow } from "../replication/sync-regions.js";
import { emergencyDetail } from "./emergency.js";
import { diskConsistent, type ResourceCore } from "./resource-core.js";

export type DiskState = "UpToDate" | "Outdated" | "Inconsistent" | "Detached";

export type ReplState =
  | "Replicating"
  | "NotYetPrimary"
  | "Syncing"
  | "PausedSync"
  | "Fetching"
  | "PausedFetch"
  | "Replaying"
  | "PausedReplay"
  | "PrimaryUnreachable"
  | "NoPrimaryDesignated"
  | "SplitBrain"
  | "Failed";

export type Role = "primary" | "secondary";

/** A log position as shown to operators and published to the cluster. */
export interface PositionStatus {
  file: string;
  offsetBytes: number;
  streamBytes: number;
}

export function positionStatus(p: LogPosition | undefined): PositionStatus | undefined {
  return p && { file: formatLogName(p), offsetBytes: p.offsetBytes, streamBytes: p.streamBytes };
}

/** Why a member has not grown to the cluster's size yet (resize.ts; in resource.status and published). */
export interface ResizeProblem {
  wantedBytes: number;
  diskBytes: number;
  reason: string;
}

/** What a member publishes about itself. */
export interface PublishedStatus {
  role: Role;
  diskState: DiskState;
  replState: ReplState;
  consistent: boolean;
  /** Applied to the disk (and synced: the checkpoint). */
  applied?: PositionStatus;
  /** Secondary: fetched, verified and synced locally. */
  fetched?: PositionStatus;
  /** Primary: durable in the log. */
  durable?: PositionStatus;
  /** Lamport stamp of the newest record written (primary) or applied (secondary). */
  stampUs?: number;
  sync?: { doneBytes: number; totalBytes: number };
  /** Primary: writes go straight to the disk, the log area is full (emergency mode). */
  emergency?: boolean;
  /**
   * This disk holds writes made in emergency mode after this file that no
   * log has yet (in any role: a primary that failed or restarted keeps
   * them until it starts the gap file). A planned take-over that would
   * continue the history at this file waits for them (role-decision.ts).
   */
  unloggedAfter?: string;
  /** Not grown to the cluster's size yet: the primary's operator sees why (resize.ts). */
  resize?: ResizeProblem;
  error?: string;
}

export function isPublishedStatus(value: unknown): value is PublishedStatus {
  const v = value as Partial<PublishedStatus> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    (v.role === "primary" || v.role === "secondary") &&
    typeof v.diskState === "string"
  );
}

export interface SecondaryFacts {
  failed: boolean;
  syncing: boolean;
  syncPaused: boolean;
  consistent: boolean;
  fetchPaused: boolean;
  replayPaused: boolean;
  splitBrain: boolean;
  designatedPrimary: string | undefined;
  primaryAlive: boolean;
  fetchLagBytes: number;
  replayLagBytes: number;
  /** Our applied position has reached what the primary last published as durable. */
  caughtUpWithPrimary: boolean;
  /**
   * We pulled the primary's state since this process started: before that,
   * its published position is the one from before our restart, and being
   * "caught up" with it says nothing (simulator seed 700090).
   */
  primaryHeardSinceStart: boolean;
  /** The primary writes without logging (emergency mode): whatever we hold, we are behind. */
  primaryInEmergency: boolean;
}

export function secondaryStates(f: SecondaryFacts): { diskState: DiskState; replState: ReplState } {
  const diskState: DiskState = f.failed
    ? "Detached"
    : !f.consistent
      ? "Inconsistent"
      : f.caughtUpWithPrimary &&
          f.primaryHeardSinceStart &&
          !f.primaryInEmergency &&
          f.fetchLagBytes === 0 &&
          f.replayLagBytes === 0 &&
          f.primaryAlive &&
          !f.splitBrain
        ? "UpToDate"
        : "Outdated";
  let replState: ReplState;
  if (f.failed) replState = "Failed";
  else if (f.splitBrain) replState = "SplitBrain";
  else if (f.syncing) replState = f.syncPaused ? "PausedSync" : "Syncing";
  else if (f.fetchPaused) replState = "PausedFetch";
  else if (f.replayPaused) replState = "PausedReplay";
  else if (!f.designatedPrimary) replState = "NoPrimaryDesignated";
  else if (!f.primaryAlive) replState = "PrimaryUnreachable";
  else if (f.fetchLagBytes > 0) replState = "Fetching";
  else if (f.replayLagBytes > 0) replState = "Replaying";
  else replState = "Replicating";
  return { diskState, replState };
}

// --- lag arithmetic ------------------------------------------------------------

/** Bytes of local log files not yet applied: the rest of the applied file and every later one. */
export function replayLagBytes(
  files: ReadonlyArray<{ fileNumber: number; lengthBytes: number }>,
  applied: { fileNumber: number; offsetBytes: number } | undefined,
): number {
  let lagBytes = 0;
  if (!applied || files.length === 0) return 0;
  for (const f of files) {
    if (f.fileNumber > applied.fileNumber) lagBytes += f.lengthBytes;
    else if (f.fileNumber === applied.fileNumber)
      lagBytes += Math.max(0, f.lengthBytes - applied.offsetBytes);
  }
  return lagBytes;
}

/** Whether `applied` has reached the durable position `primary` last published. */
export function caughtUp(applied: LogPosition | undefined, durable: PositionStatus | undefined): boolean {
  if (!durable || !applied) return false;
  const target = parseLogName(durable.file);
  if (!target) return false;
  if (applied.fileNumber !== target.fileNumber) return applied.fileNumber > target.fileNumber;
  return applied.host === target.host && applied.offsetBytes >= durable.offsetBytes;
}

/** How far one member is behind the primary, from the two published statuses. */
export function memberLag(
  status: PublishedStatus | undefined,
  primaryStatus: PublishedStatus | undefined,
): { lagBytes?: number; lagSeconds?: number; behindFiles?: number } {
  const head = primaryStatus?.durable;
  const headNumber = head ? (parseLogName(head.file)?.fileNumber ?? 0) : 0;
  const applied = status?.applied;
  const behindFiles =
    applied && head ? headNumber - (parseLogName(applied.file)?.fileNumber ?? 0) : undefined;
  const lagBytes =
    applied && head && head.streamBytes > 0 && applied.streamBytes > 0
      ? Math.max(0, head.streamBytes - applied.streamBytes)
      : undefined;
  const lagSeconds =
    status?.stampUs !== undefined &&
    primaryStatus?.stampUs !== undefined &&
    lagBytes !== undefined &&
    lagBytes > 0
      ? Math.max(0, (primaryStatus.stampUs - status.stampUs) / 1e6)
      : lagBytes === 0
        ? 0
        : undefined;
  return {
    ...(lagBytes !== undefined ? { lagBytes } : {}),
    ...(lagSeconds !== undefined ? { lagSeconds } : {}),
    ...(behindFiles !== undefined ? { behindFiles: Math.max(0, behindFiles) } : {}),
  };
}

/** Every member's history as this node knows it, ours from what we hold now. */
export function memberHistories(core: ResourceCore): MemberHistory[] {
  const positions: LogPosition[] = [];
  if (core.applier.appliedPosition) positions.push(core.applier.appliedPosition);
  if (core.primary) positions.push(core.primary.log.durablePosition());
  return core.view.memberHistories({ positions, role: core.role });
}

// --- one resource's own status -----------------------------------------------------

/** Bytes the designated primary has in the file we fetch and we do not (yet). */
function fetchLagBytes(core: ResourceCore): number {
  const fetcher = core.secondary?.fetcher;
  const fetchedFile = fetcher?.current.file;
  const fetched = fetchedFile ? core.logs.get(fetchedFile) : undefined;
  return fetcher && fetched ? Math.max(0, fetcher.remoteLengthBytes - fetched.lengthBytes) : 0;
}

/**
 * Whether this node's own history left the designated primary's: at the
 * first file number where members' versions differ, ours is not the
 * primary's. A split brain elsewhere (another member diverged) does not
 * make this replica any less up to date.
 */
function ownHistoryDiverged(core: ResourceCore, primary: string | undefined): boolean {
  if (!primary || primary === core.host) return false;
  const histories = memberHistories(core);
  const ours = histories.find((h) => h.host === core.host);
  const theirs = histories.find((h) => h.host === primary);
  return ours !== undefined && theirs !== undefined && detectForks([ours, theirs]).length > 0;
}

export function secondaryFacts(core: ResourceCore): SecondaryFacts {
  const parts = core.secondary;
  const designated = core.view.designatedPrimary();
  return {
    failed: core.state === "failed",
    syncing: core.syncFile.state === "syncing",
    syncPaused: core.pauseFile.sync,
    consistent: diskConsistent(core),
    fetchPaused: core.pauseFile.fetch,
    replayPaused: core.pauseFile.replay,
    splitBrain:
      ownHistoryDiverged(core, designated) ||
      parts?.fetcher.stateValue === "split-brain" ||
      parts?.replayer.state === "blocked",
    designatedPrimary: designated,
    primaryAlive:
      designated !== undefined && designated !== core.host && core.deps.cluster.isAlive(designated),
    fetchLagBytes: fetchLagBytes(core),
    replayLagBytes: replayLagBytes(core.logs.list(), core.applier.appliedPosition),
    caughtUpWithPrimary: caughtUp(
      core.applier.appliedPosition,
      designated ? core.view.publishedStatusOf(designated)?.durable : undefined,
    ),
    primaryHeardSinceStart: designated !== undefined && core.deps.cluster.exchangedSinceStart(designated),
    primaryInEmergency:
      designated !== undefined && core.view.publishedStatusOf(designated)?.emergency === true,
  };
}

function unloggedAfter(core: ResourceCore): { unloggedAfter?: string } {
  const e = core.emergencyFile;
  return e?.active ? { unloggedAfter: e.afterFile } : {};
}

/** This node's own view, as published to the cluster. */
export function ownStatus(core: ResourceCore): PublishedStatus {
  const applied = positionStatus(core.applier.appliedPosition);
  if (core.state === "failed") {
    return {
      role: core.role,
      diskState: "Detached",
      replState: "Failed",
      consistent: core.syncFile.consistent,
      ...(applied ? { applied } : {}),
      ...unloggedAfter(core),
      ...(core.failure ? { error: core.failure } : {}),
    };
  }
  if (core.role === "primary" && core.primary) {
    return {
      role: "primary",
      diskState: "UpToDate",
      replState: "Replicating",
      consistent: true,
      ...(applied ? { applied } : {}),
      durable: positionStatus(core.primary.log.durablePosition()),
      ...(core.primary.volume.writingDirect ? { emergency: true } : {}),
      ...unloggedAfter(core),
      ...(core.sizeProblem ? { resize: core.sizeProblem } : {}),
    };
  }
  const states = secondaryStates(secondaryFacts(core));
  const fetchedFile = core.secondary?.fetcher.current.file;
  const fetchedLocal = fetchedFile ? core.logs.get(fetchedFile) : undefined;
  const stampUs = core.secondary?.replayer.lastAppliedStampUs;
  return {
    role: "secondary",
    diskState: states.diskState,
    replState: core.becomingPrimary ? "NotYetPrimary" : states.replState,
    consistent: diskConsistent(core),
    ...(applied ? { applied } : {}),
    ...(fetchedLocal
      ? { fetched: { file: fetchedLocal.name, offsetBytes: fetchedLocal.lengthBytes, streamBytes: 0 } }
      : {}),
    ...(stampUs ? { stampUs } : {}),
    ...(core.syncFile.state === "syncing"
      ? { sync: { doneBytes: syncDoneBytes(core), totalBytes: core.syncFile.totalBytes } }
      : {}),
    ...unloggedAfter(core),
    ...(core.sizeProblem ? { resize: core.sizeProblem } : {}),
  };
}

/** Bytes of the sync in progress already copied (a region resync's doneBytes is a cursor over the disk). */
function syncDoneBytes(core: ResourceCore): number {
  const { regions, doneBytes } = core.syncFile;
  return syncedBytesBelow(regions, core.config.sizeBytes, doneBytes);
}

/** Live numbers for resource.status. */
export function statusDetail(core: ResourceCore) {
  const parts = core.secondary;
  const sync = parts?.sync;
  const { syncFile } = core;
  const log = core.primary?.log;
  return {
    role: core.role,
    becomingPrimary: core.becomingPrimary,
    takeOverBlockedBy: core.becomingPrimary ? core.takeOverBlockedBy : undefined,
    consistent: diskConsistent(core),
    paused: { sync: core.pauseFile.sync, fetch: core.pauseFile.fetch, replay: core.pauseFile.replay },
    recovery: core.recovery,
    disk: { path: core.config.disk, sizeBytes: core.diskSizeBytes },
    fetch: parts
      ? {
          state: parts.fetcher.stateValue,
          file: parts.fetcher.current.file,
          lagBytes: fetchLagBytes(core),
          ...(parts.fetcher.lastError ? { lastError: parts.fetcher.lastError } : {}),
          ...(parts.fetcher.splitBrainReason ? { splitBrainReason: parts.fetcher.splitBrainReason } : {}),
        }
      : undefined,
    replay: parts
      ? {
          state: parts.replayer.state,
          lagBytes: replayLagBytes(core.logs.list(), core.applier.appliedPosition),
          ...(parts.replayer.blockedReason ? { blockedReason: parts.replayer.blockedReason } : {}),
          ...(parts.replayer.pendingGap ? { waitingBefore: parts.replayer.pendingGap.file } : {}),
        }
      : undefined,
    sync:
      syncFile.state === "syncing"
        ? {
            kind: syncFile.regions ? "regions" : "full",
            ...(syncFile.gapFile ? { gapFile: syncFile.gapFile } : {}),
            doneBytes: syncDoneBytes(core),
            totalBytes: syncFile.totalBytes,
            rateBytesPerSec: Math.round(sync?.rateBytesPerSec ?? 0),
            etaSeconds:
              sync && sync.rateBytesPerSec > 0
                ? Math.round((syncFile.totalBytes - syncDoneBytes(core)) / sync.rateBytesPerSec)
                : undefined,
            sameBytes: sync?.sameBytes ?? 0,
            ...(sync?.lastError ? { lastError: sync.lastError } : {}),
          }
        : undefined,
    log: {
      currentFile: log ? formatLogName(log.current) : undefined,
      files: core.logs.list().map((f) => ({ name: f.name, sizeBytes: f.lengthBytes })),
      durable: positionStatus(log?.durablePosition()),
      applied: positionStatus(core.applier.appliedPosition),
      checkpoint: positionStatus(core.checkpointer.position),
      pendingBytes: log ? log.currentWriter.projectedEndBytes - log.currentWriter.durableOffsetBytes : 0,
    },
    emergency: emergencyDetail(core),
    cutLoose: core.view.looseEntries().map((e) => ({
      host: e.member,
      by: e.by,
      sinceMs: e.sinceMs,
      reason: e.reason,
      lagBytes: e.lagBytes,
      dirtyBytes: core.memberMaps.get(e.member)?.dirtyBytes ?? 0,
      ...(e.resumeFile ? { resumeFile: e.resumeFile } : {}),
    })),
    verify: core.verify,
    error: core.failure,
  };
}

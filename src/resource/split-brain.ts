/**
 * resource.resolveSplitBrain {winner}: run on every member; the winner
 * keeps its history, each loser rolls back to the fork point and takes the
 * winner's history from there.
 *
 * Both disks were equal after some file number F-1 before the fork (the
 * first number where the version chains differ, replication/history.ts):
 * proven by the winner's file F continuing the loser's version of F-1 (a
 * version hashes the whole history before it) with the loser having
 * applied all of F-1. Since then the loser
 * wrote what its own log files from F on hold, and the winner what its
 * files from F on hold. So the loser copies exactly those
 * regions from the winner (a region resync, digests skipping what is
 * equal), then replays the winner's history from the start of the newest
 * file the winner scanned: every write after that file began is replayed,
 * every write before it is in a copied region. Only when a file either
 * side needs is gone (deleted, or too many regions) does the loser copy
 * the whole disk instead (digests skip what is equal there too).
 *
 * Contract: the winner must be the designated primary (else
 * RESOURCE_CONFLICT: make it primary first, with force); on the winner,
 * or on a member whose history does not fork from the winner's, nothing
 * changes (changed: false). The loser withdraws its version entries from
 * the fork on, so the fork disappears from everyone's view once its state
 * spreads. The rollback itself runs inside the serialised role changes
 * (restartSecondaryFrom: sync.json first, then the local logs go).
 */
import { formatLogName, parseLogName } from "../log/log-name.js";
import { genesisVersion } from "../log/version.js";
import { recordRanges, type DiskRange } from "../log/record-ranges.js";
import { detectForks, type MemberHistory } from "../replication/history.js";
import {
  MAX_SYNC_REGIONS,
  chunkAlignedRegions,
  fetchHistoryRegions,
  type HistoryRegionsAnswer,
  type SyncRegions,
} from "../replication/sync-regions.js";
import { TransportError } from "../platform/transport.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { dirtyRegionsAnswer } from "./emergency.js";
import { forksOf } from "./resource-metric-source.js";
import { restartSecondaryFrom } from "./rejoin.js";
import type { ResourceCore, RoleHooks } from "./resource-core.js";
import { memberHistories } from "./status-model.js";

/**
 * The disk regions this node's log files from `fromFileNumber` on write,
 * and the newest of them; "logs-gone" when they do not all exist (the
 * first is not at `fromFileNumber`, or a number is missing), or when they
 * would be more than MAX_SYNC_REGIONS regions.
 */
export async function regionsSince(
  core: ResourceCore,
  fromFileNumber: number,
  /** The winner answering: only the files of its own history (a stray file of another lineage is not served). */
  ownLineage = false,
): Promise<HistoryRegionsAnswer | "logs-gone"> {
  const held = core.logs.list().filter((f) => f.fileNumber >= fromFileNumber);
  const files = ownLineage ? lineage(core, held) : held;
  if (!files) return "logs-gone";
  const first = files[0];
  const last = files.at(-1);
  if (!first || !last || first.fileNumber !== fromFileNumber) return "logs-gone";
  for (let i = 1; i < files.length; i++) {
    if ((files[i]?.fileNumber ?? 0) - (files[i - 1]?.fileNumber ?? 0) > 1) return "logs-gone";
  }
  try {
    const ranges: DiskRange[] = [];
    for (const f of files) ranges.push(...(await recordRanges(core.deps.storage, f.path, f.lengthBytes)));
    const regions = chunkAlignedRegions(ranges, core.config.sizeBytes);
    if (regions.length > MAX_SYNC_REGIONS) return "logs-gone";
    return {
      lastFile: last.name,
      prevVersion: (await core.logs.header(first.name)).prevVersion,
      regions: regions.map(([o, l]): [number, number] => [o, l]),
    };
  } catch (err) {
    // A file cut short or damaged (a fetch that stopped in its header): nothing to prove from; copy everything.
    core.deps.logger.info(
      { resource: core.name, fromFileNumber, err: errorMessage(err) },
      "split brain: log files unreadable for regions",
    );
    return "logs-gone";
  }
}

/**
 * Of files held, one per number: the one our version entry or our log
 * position names where a number has more than one (a file fetched from
 * another lineage before a forced failover, simulator seed 820135);
 * undefined when that cannot be told.
 */
function lineage<T extends { name: string; fileNumber: number }>(
  core: ResourceCore,
  held: T[],
): T[] | undefined {
  const own = memberHistories(core).find((h) => h.host === core.host);
  const positions = [core.applier.appliedPosition, core.primary?.log.durablePosition()];
  const out: T[] = [];
  for (const f of held) {
    const same = held.filter((g) => g.fileNumber === f.fileNumber);
    if (same.length === 1) {
      out.push(f);
      continue;
    }
    const named =
      own?.versions.get(f.fileNumber)?.file ??
      positions.map((p) => (p && p.fileNumber === f.fileNumber ? formatLogName(p) : undefined)).find(Boolean);
    if (named === undefined) return undefined;
    if (f.name === named) out.push(f);
  }
  return out;
}

/** Ours since `from`: nothing to scan when we hold no file from there (a stray point past our last file). */
async function ownRegionsSince(
  core: ResourceCore,
  from: number,
): Promise<HistoryRegionsAnswer | "logs-gone"> {
  const held = core.logs.list().some((f) => f.fileNumber >= from);
  return held ? regionsSince(core, from) : { lastFile: "", prevVersion: "", regions: [] };
}

/** What a loser does: where it rolls back from, and the regions to copy (undefined: the whole disk). */
export interface Resolution {
  winner: string;
  /** Our version entries from here on go (the first file after the last one both hold alike; 0: all). */
  forkFileNumber: number;
  regions: SyncRegions | undefined;
  resumeFile: string;
}

/**
 * The fork with the winner (or a stray point, below) and the starts worth
 * trying, highest first: the fork, the file after the last one both hold
 * alike, the file applied here. Not the fork alone: a member with nothing
 * at a number (its entries pruned, simulator seed 102) contradicts nobody,
 * so the fork can show later than the first file where the disks differ;
 * planResolution takes only a start it can prove (versionBefore).
 * Undefined: nothing to roll back.
 */
function rollbackPoint(
  core: ResourceCore,
  winner: string,
): { fork: number; candidates: number[]; ours: MemberHistory } | undefined {
  const histories = memberHistories(core);
  const ours = histories.find((h) => h.host === core.host);
  const theirs = histories.find((h) => h.host === winner);
  if (!ours || !theirs) return undefined;
  const fork = detectForks([ours, theirs])[0]?.fileNumber ?? strayPoint(core, theirs);
  if (fork === undefined) return undefined;
  let lastAgreed: number | undefined;
  for (const [n, v] of ours.versions) {
    const w = theirs.versions.get(n);
    if (n < fork && w && w.version === v.version && (lastAgreed === undefined || n > lastAgreed))
      lastAgreed = n;
  }
  const applied = core.applier.appliedPosition?.fileNumber;
  const candidates = [fork, lastAgreed === undefined ? 0 : lastAgreed + 1, applied ?? 0, fork - 1]
    .filter((n, k, all) => n >= 1 && n <= fork && all.indexOf(n) === k)
    .sort((a, b) => b - a);
  return { fork, candidates, ours };
}

/**
 * Our applied history is a prefix of the winner's, yet this disk or this
 * log directory holds what the winner's history does not: writes made in
 * emergency mode here (no log has them; simulator seed 83: the history
 * they were handed to lost), or fetched files of another lineage that
 * replay would wait on for ever. Then we roll back from the file after
 * the one applied, as a loser does; else undefined.
 */
function strayPoint(core: ResourceCore, theirs: MemberHistory): number | undefined {
  const applied = core.applier.appliedPosition;
  if (!applied) return undefined;
  const stray = core.logs
    .list()
    .some(
      (f) =>
        f.fileNumber > applied.fileNumber &&
        theirs.versions.get(f.fileNumber)?.file !== f.name &&
        !theirs.positions.some((p) => p.file === f.name),
    );
  if (!stray && !core.emergencyFile) return undefined;
  return applied.fileNumber + 1;
}

/**
 * Works out what this node does (outside the role queue: it asks the
 * winner over the network). Undefined: nothing to do here.
 */
export async function planResolution(core: ResourceCore, winner: string): Promise<Resolution | undefined> {
  if (!core.view.members().includes(winner) && winner !== core.host)
    throw new OperatorError("RESOURCE_CONFLICT", `${winner} is not a member of ${core.name}`);
  const designated = core.view.designatedPrimary();
  if (designated !== winner) {
    throw new OperatorError(
      "RESOURCE_CONFLICT",
      `the winner must be the designated primary (now ${designated ?? "none"}): make ${winner} primary first (resource.primary with force on it)`,
    );
  }
  if (winner === core.host) return undefined;
  if (core.state !== "running")
    throw new OperatorError(
      "RESOURCE_FAILED",
      `resource ${core.name} is ${core.state}: it cannot roll back now`,
    );
  const point = rollbackPoint(core, winner);
  if (!point) {
    core.deps.logger.info(
      { resource: core.name, winner },
      "split brain: our history does not fork from the winner's",
    );
    recheckChains(core);
    return undefined;
  }
  const { deps } = core;
  const credentials = deps.cluster.credentials();
  const address = deps.cluster.addressOf(winner);
  if (!credentials || !address) throw new OperatorError("PRIMARY_UNREACHABLE", `${winner} is not reachable`);
  // The highest start that is proven: both hold the history before it alike
  // (the winner's first file there continues our version of the one before,
  // the version chain hashes everything before), we applied all of that, and
  // both still hold their files from there on.
  let chosen: { from: number; theirs: HistoryRegionsAnswer; ours: HistoryRegionsAnswer } | undefined;
  for (const from of point.candidates) {
    if (!appliedThrough(core, from - 1)) continue;
    const theirs = await retryTransient(core, () =>
      fetchHistoryRegions(deps.cluster.client, credentials, { host: winner, address }, core.name, from),
    );
    if (theirs === "logs-gone") continue;
    const ours = await ownRegionsSince(core, from);
    if (ours === "logs-gone" || theirs.prevVersion !== (await versionBefore(core, point.ours, from)))
      continue;
    chosen = { from, theirs, ours };
    break;
  }
  // Writes made here in emergency mode are in no log: their regions are copied too.
  const unlogged = core.emergencyFile ? await dirtyRegionsAnswer(core) : { regions: [] };
  let regions: SyncRegions | undefined;
  if (chosen && unlogged) {
    const union = [...chosen.theirs.regions, ...chosen.ours.regions, ...unlogged.regions].map(
      ([offsetBytes, lengthBytes]) => ({ offsetBytes, lengthBytes }),
    );
    const merged = chunkAlignedRegions(union, core.config.sizeBytes);
    if (merged.length <= MAX_SYNC_REGIONS) regions = merged;
  }
  return {
    winner,
    // Nothing proven (entries pruned, files deleted): the whole disk, and every entry of ours goes.
    forkFileNumber: regions ? (chosen?.from ?? 0) : 0,
    regions,
    resumeFile: chosen?.theirs.lastFile ?? (await newestFileOf(core, winner)),
  };
}

/** Attempts at asking the winner before a broken connection is the operator's error. */
const WINNER_ATTEMPTS = 4;
const WINNER_RETRY_MS = 500;

/**
 * Asks the winner again after a broken connection (a reset or timeout on a
 * WAN link), so that one lost connection does not fail the operator's
 * command; what the winner refuses is never retried.
 */
async function retryTransient<T>(core: ResourceCore, ask: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask();
    } catch (err) {
      if (!(err instanceof TransportError) || err.code === "too-large" || attempt >= WINNER_ATTEMPTS)
        throw err;
      core.deps.logger.warn(
        { resource: core.name, attempt, err: errorMessage(err) },
        "asking the winner again",
      );
      await core.deps.time.sleep(WINNER_RETRY_MS * attempt);
    }
  }
}

/** Our disk holds everything of our files up to and including `fileNumber`. */
function appliedThrough(core: ResourceCore, fileNumber: number): boolean {
  if (fileNumber < 1) return true;
  const applied = core.applier.appliedPosition;
  if (!applied) return false;
  if (applied.fileNumber > fileNumber) return true;
  const file = soleFinishedFile(core, fileNumber);
  return applied.fileNumber === fileNumber && file !== undefined && applied.offsetBytes >= file.lengthBytes;
}

/** Our only local file with number `n`, if it is finished (two at one number: a stray of another lineage). */
function soleFinishedFile(core: ResourceCore, n: number): { name: string; lengthBytes: number } | undefined {
  const held = core.logs.withNumber(n);
  const file = held[0];
  return held.length === 1 && file && core.logs.isFinished(file.name) ? file : undefined;
}

/** Our version of file `from - 1` (the genesis before the first file), if we can say. */
async function versionBefore(
  core: ResourceCore,
  ours: MemberHistory,
  from: number,
): Promise<string | undefined> {
  if (from <= 1) return genesisVersion(core.name, core.config.createdStampUs);
  const file = soleFinishedFile(core, from - 1);
  if (file) return (await core.logs.version(file.name)).version;
  return ours.versions.get(from - 1)?.version;
}

async function newestFileOf(core: ResourceCore, winner: string): Promise<string> {
  const { findJoinStart } = await import("./join-start.js");
  const { primary, start } = await findJoinStart(core.deps.cluster, core.name);
  if (primary !== winner) throw new OperatorError("RESOURCE_CONFLICT", `the primary changed to ${primary}`);
  return start.name;
}

/** Rolls this loser back (inside the role queue); false if the situation changed meanwhile. */
export async function applyResolution(
  core: ResourceCore,
  hooks: RoleHooks,
  plan: Resolution,
): Promise<boolean> {
  if (core.role === "primary" || core.becomingPrimary || core.view.designatedPrimary() !== plan.winner) {
    throw new OperatorError("RESOURCE_CONFLICT", `${core.name}: the roles changed; run it again`);
  }
  // The fork may show later now (entries pruned meanwhile): the plan's start is proven anyway.
  if (!rollbackPoint(core, plan.winner)) return false;
  core.deps.logger.warn(
    {
      resource: core.name,
      winner: plan.winner,
      forkFileNumber: plan.forkFileNumber,
      regions: plan.regions?.length ?? "whole disk",
      resumeFile: plan.resumeFile,
    },
    "split brain resolved for the winner: rolling back to the fork (copying what either side wrote since), then replaying the winner's history",
  );
  core.view.withdrawVersionsFrom(plan.forkFileNumber);
  await restartSecondaryFrom(core, hooks, plan.regions, {
    resumeFile: plan.resumeFile,
    sourceHost: plan.winner,
    streamBytes: 0,
  });
  if (core.emergencyFile) {
    // Our unlogged writes are in the regions being copied (sync.json is durable): they are discarded.
    await core.files.removeEmergency();
    core.emergencyFile = undefined;
  }
  return parseLogName(plan.resumeFile) !== undefined;
}

/**
 * Another member's history changed (a loser rolled back elsewhere): if no
 * fork is left in our view, a fetch stopped at a broken chain checks it
 * again (it stops again if the chain is still broken).
 */
export function recheckChains(core: ResourceCore): void {
  const parts = core.secondary;
  if (!parts || forksOf(core).length > 0) return;
  // Only the fetch: a replay blocks for other reasons too (a record beyond a member's size, resize.ts).
  if (parts.fetcher.stateValue === "split-brain") parts.fetcher.retry();
}

/**
 * resource.verify: an online check that this secondary's disk holds what
 * the primary's does, at a common log position, without stopping either.
 * MARS had no such thing; DRBD's online verify is the model.
 *
 * A round: replay pauses here (the disk is then the history at position
 * P); the same digests as a sync (sync-client.ts in compare-only mode) are
 * compared with the primary's live disk, which answers with its position Q
 * after its reads. A chunk that differs is damage unless some write
 * between P and Q touched it (the primary is ahead there by design): replay
 * resumes, and once this node has fetched up to Q, its log files from P to
 * Q say which chunks were written meanwhile. Those are compared again in
 * the next round (at most MAX_ROUNDS; what still moves is reported as
 * unverified, not as damage). Nothing is written while comparing.
 *
 * With repair, the damaged chunks are then copied from the primary as a
 * region resync (sync.json "syncing" with those regions; replay waits and
 * goes on after it; consistent again once past the sync end).
 *
 * Contract: on a consistent secondary that is not syncing, one verify at a
 * time (RESOURCE_CONFLICT otherwise). Runs in the background; the report is
 * in resource.status (`verify`) and in metrics. An operator's replay pause
 * is respected: a verify never resumes a replay it did not pause.
 */
import { recordRanges, type DiskRange } from "../log/record-ranges.js";
import type { LogPosition } from "../log/log-stream.js";
import { SyncClient } from "../replication/sync-client.js";
import { chunkAlignedRegions, syncTotalBytes, type SyncRegions } from "../replication/sync-regions.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { diskConsistent, type ResourceCore, type RoleHooks, type SecondaryParts } from "./resource-core.js";
import { makeSyncClient, recordSyncStart } from "./secondary-sync.js";

const MAX_ROUNDS = 3;
/** How long a round waits for this node to fetch up to the primary's position Q. */
const FETCH_WAIT_MS = 60_000;
const MAX_REPORTED_RANGES = 1000;

export interface VerifyReport {
  state: "running" | "done" | "failed";
  repair: boolean;
  startedAtMs: number;
  finishedAtMs?: number;
  rounds: number;
  comparedBytes: number;
  /** Chunk-aligned ranges that differ from the primary (at most MAX_REPORTED_RANGES listed). */
  mismatches: Array<[number, number]>;
  mismatchedBytes: number;
  /** Written on the primary during every round: neither confirmed nor damaged. */
  unverifiedBytes: number;
  /** With repair: the mismatches are being (or were) copied from the primary. */
  repairing?: boolean;
  error?: string;
}

/** Starts a verify in the background; throws if one cannot start now. */
export function startVerify(
  core: ResourceCore,
  hooks: RoleHooks,
  enqueue: <T>(work: () => Promise<T>) => Promise<T>,
  options: { repair: boolean },
): void {
  const parts = core.secondary;
  const primary = core.view.designatedPrimary();
  if (core.state !== "running" || !parts || core.role !== "secondary" || !primary || primary === core.host)
    throw new OperatorError(
      "RESOURCE_CONFLICT",
      `${core.name}: verify runs on a secondary, against its primary`,
    );
  if (!diskConsistent(core) || parts.sync)
    throw new OperatorError("NOT_CONSISTENT", `${core.name} is not consistent here: nothing to verify yet`);
  if (core.verify?.state === "running")
    throw new OperatorError("RESOURCE_CONFLICT", `${core.name}: a verify is already running`);
  const report: VerifyReport = {
    state: "running",
    repair: options.repair,
    startedAtMs: core.deps.time.nowMs(),
    rounds: 0,
    comparedBytes: 0,
    mismatches: [],
    mismatchedBytes: 0,
    unverifiedBytes: 0,
  };
  core.verify = report;
  hooks.publishStatus(true);
  const metrics = core.deps.metrics.verify;
  verify(core, parts, primary, report)
    .then(async (damaged) => {
      metrics.mismatchedBytes.labels(core.name).set(report.mismatchedBytes);
      metrics.runs.labels(core.name, damaged.length > 0 ? "mismatch" : "equal").inc();
      core.deps.logger[damaged.length > 0 ? "error" : "info"](
        {
          resource: core.name,
          mismatchedBytes: report.mismatchedBytes,
          unverifiedBytes: report.unverifiedBytes,
        },
        damaged.length > 0 ? "verify: this replica differs from the primary" : "verify: equal to the primary",
      );
      if (options.repair && damaged.length > 0) {
        report.repairing = true;
        await enqueue(() => repair(core, hooks, parts, primary, damaged));
      }
      // Done once the repair's sync is recorded: a caller that sees "done"
      // and waits for UpToDate must not find the state from before it (the
      // verify test once verified again at once and was refused: syncing).
      report.state = "done";
    })
    .catch((err: unknown) => {
      report.state = "failed";
      report.error = errorMessage(err);
      metrics.runs.labels(core.name, "failed").inc();
      core.deps.logger.warn({ resource: core.name, err: report.error }, "verify failed");
    })
    .finally(() => {
      report.finishedAtMs = core.deps.time.nowMs();
      hooks.publishStatus(true);
    });
}

/** The rounds; returns the damaged regions. */
async function verify(
  core: ResourceCore,
  parts: SecondaryParts,
  primary: string,
  report: VerifyReport,
): Promise<SyncRegions> {
  let suspects: SyncRegions | undefined;
  const damaged: DiskRange[] = [];
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    report.rounds = round;
    const { mismatched, from, to } = await compareRound(core, parts, primary, suspects);
    report.comparedBytes += syncTotalBytes(suspects, core.config.sizeBytes);
    const written = await writtenBetween(core, parts, from, to);
    const moving: DiskRange[] = [];
    for (const [offsetBytes, lengthBytes] of mismatched) {
      const range = { offsetBytes, lengthBytes };
      (overlaps(range, written) ? moving : damaged).push(range);
    }
    suspects = chunkAlignedRegions(moving, core.config.sizeBytes);
    if (suspects.length === 0) break;
  }
  const result = chunkAlignedRegions(damaged, core.config.sizeBytes);
  report.mismatches = result.slice(0, MAX_REPORTED_RANGES).map(([o, l]): [number, number] => [o, l]);
  report.mismatchedBytes = syncTotalBytes(result, core.config.sizeBytes);
  report.unverifiedBytes = suspects ? syncTotalBytes(suspects, core.config.sizeBytes) : 0;
  return result;
}

/** One comparison with replay paused: the chunks that differ, and the positions P (here) and Q (primary). */
async function compareRound(
  core: ResourceCore,
  parts: SecondaryParts,
  primary: string,
  regions: SyncRegions | undefined,
): Promise<{ mismatched: Array<[number, number]>; from: LogPosition; to: LogPosition }> {
  const { deps } = core;
  const pausedHere = !core.pauseFile.replay;
  if (pausedHere) await parts.replayer.pause();
  try {
    const from = core.applier.appliedPosition;
    if (!from) throw new OperatorError("NOT_CONSISTENT", `${core.name} has applied nothing yet`);
    const mismatched: Array<[number, number]> = [];
    const to = await new Promise<LogPosition>((resolve, reject) => {
      const client = new SyncClient(
        {
          resource: core.name,
          disk: core.backing,
          sizeBytes: core.config.sizeBytes,
          time: deps.time,
          client: deps.cluster.client,
          credentials: () => deps.cluster.credentials(),
          source: () => {
            const address = deps.cluster.addressOf(primary);
            return address ? { host: primary, address } : undefined;
          },
          saveProgress: () => Promise.resolve(),
          ...(regions ? { regions } : {}),
          compareOnly: (start, end) => mismatched.push([start, end - start]),
          maxFailures: 5,
          onFailed: reject,
          metrics: deps.metrics,
          logger: deps.logger,
          retryMaxMs: deps.settings.retryMaxMs,
        },
        0,
        resolve,
      );
      client.start();
    });
    return { mismatched, from, to };
  } finally {
    // Resumed only if still ours to resume: not paused by the operator meanwhile, same role.
    if (pausedHere && !core.pauseFile.replay && core.secondary === parts && !parts.sync) {
      parts.replayer.resume();
      parts.replayer.follow();
    }
  }
}

/** Disk ranges written by the log between `from` and `to`, once this node has fetched that far. */
async function writtenBetween(
  core: ResourceCore,
  parts: SecondaryParts,
  from: LogPosition,
  to: LogPosition,
): Promise<DiskRange[]> {
  const { deps } = core;
  const deadlineMs = deps.time.monotonicMs() + FETCH_WAIT_MS;
  const fetchedTo = (): boolean =>
    core.logs
      .list()
      .some(
        (f) =>
          f.fileNumber > to.fileNumber || (f.fileNumber === to.fileNumber && f.lengthBytes >= to.offsetBytes),
      );
  while (!fetchedTo()) {
    if (core.secondary !== parts)
      throw new OperatorError("RESOURCE_CONFLICT", `${core.name}: the role changed`);
    if (deps.time.monotonicMs() > deadlineMs)
      throw new OperatorError(
        "PRIMARY_UNREACHABLE",
        `${core.name}: the log up to the verified position did not arrive`,
      );
    await deps.time.sleep(100);
  }
  const ranges: DiskRange[] = [];
  for (const f of core.logs.list()) {
    if (f.fileNumber < from.fileNumber || f.fileNumber > to.fileNumber) continue;
    ranges.push(...(await recordRanges(deps.storage, f.path, f.lengthBytes)));
  }
  return ranges;
}

function overlaps(r: DiskRange, ranges: DiskRange[]): boolean {
  return ranges.some(
    (w) => w.offsetBytes < r.offsetBytes + r.lengthBytes && r.offsetBytes < w.offsetBytes + w.lengthBytes,
  );
}

/** Copies the damaged regions from the primary (inside the role queue). */
async function repair(
  core: ResourceCore,
  hooks: RoleHooks,
  parts: SecondaryParts,
  primary: string,
  regions: SyncRegions,
): Promise<void> {
  if (core.secondary !== parts || parts.sync || core.view.designatedPrimary() !== primary)
    throw new OperatorError("RESOURCE_CONFLICT", `${core.name}: the roles changed before the repair`);
  await parts.replayer.pause();
  const applied = core.applier.appliedPosition;
  const resumeFile = core.logs.list().find((f) => f.fileNumber === applied?.fileNumber)?.name ?? "";
  await recordSyncStart(core, regions, { resumeFile, sourceHost: primary });
  core.deps.logger.warn(
    { resource: core.name, regions: regions.length, bytes: syncTotalBytes(regions, core.config.sizeBytes) },
    "verify: repairing the damaged regions from the primary",
  );
  const sync = makeSyncClient(core, hooks);
  parts.sync = sync;
  if (core.pauseFile.sync) sync.setPaused(true);
  sync.start();
}

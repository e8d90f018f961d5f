/**
 * The primary role of a resource: taking it up (take-over) and leaving it
 * (step-down). While primary, writes go through the log (durable) to the
 * disk (PrimaryVolume) and the frontend exports the volume.
 *
 * Contract:
 * - takeOver applies every local log record to the disk first, then starts
 *   the next log file continuing the last file's version, then exports.
 *   Without `cut` the newest file must be complete here (planned handover:
 *   no acknowledged write is lost). With `cut` (forced failover, the old
 *   primary unreachable) the last file is finished at what we hold; if the
 *   old primary wrote more, the histories now differ and every node sees a
 *   split brain.
 * - stepDown stops writes, lets the frontend go, finishes the current log
 *   file and publishes its version before the status that says we stepped
 *   down; the caller then takes up the secondary role.
 * Both run inside the façade's serialised role changes.
 */
import { formatLogName } from "../log/log-name.js";
import {
  LogStream,
  type FinishedLogFile,
  type LogPosition,
  type LogStreamOptions,
} from "../log/log-stream.js";
import {
  enterEmergency,
  isOwnGapFile,
  mayEnterFile,
  isLogSpaceFailure,
  noteGapStarted,
  openDirtyMap,
  removeLaterFiles,
} from "./emergency.js";
import { genesisVersion, type VersionEntry } from "../log/version.js";
import { writeCheckpoint } from "./checkpoint.js";
import { recover } from "./recovery.js";
import type { PrimaryParts, ResourceCore, RoleHooks } from "./resource-core.js";
import { isLocallyFinished } from "./secondary-role.js";
import { PrimaryVolume } from "./volume.js";
import { OperatorError } from "../util/errors.js";
import { VolumeFailedError } from "./block-volume.js";

/**
 * Becomes primary with the log present here: apply it all, then start the
 * next file. `cut`: the last file may be incomplete (forced failover); it
 * is finished at what we hold.
 */
export async function takeOver(
  core: ResourceCore,
  hooks: RoleHooks,
  options: { cut: boolean },
): Promise<void> {
  const { deps, name, logs } = core;
  const newest = logs.newest();
  let nextNumber = 1;
  let streamStart = 0;
  let prevVersion = genesisVersion(name, core.config.createdStampUs);
  let cutVersion: VersionEntry | undefined;
  if (newest) {
    const recovered = await recover({
      resource: name,
      logs,
      storage: deps.storage,
      applier: core.applier,
      checkpoint: core.applier.appliedPosition,
      host: core.host,
      metrics: deps.metrics,
      logger: deps.logger,
      maxInFlight: deps.settings.replayMaxInFlight,
      onFileReplayed: (v) => core.view.publishVersion(v),
      mayEnter: mayEnterFile(core),
    });
    if (recovered.stoppedAtGap) {
      throw new OperatorError(
        "NOT_CONSISTENT",
        `${recovered.stoppedAtGap} follows a gap in the log (emergency mode) that this disk has not resynced yet`,
      );
    }
    const position = recovered.endPosition as LogPosition;
    const lastVersion = recovered.lastVersion as VersionEntry;
    core.recovery = { replayedBytes: recovered.replayedBytes, tornBytes: recovered.tornBytes };
    deps.metrics.resourceRecoveredBytes.labels(name).inc(recovered.replayedBytes);
    if (recovered.replayedBytes > 0 || recovered.tornBytes > 0) {
      deps.logger.info({ resource: name, ...core.recovery }, "recovered the log onto the disk");
    }
    if (!options.cut && newest.host !== core.host && !(await isLocallyFinished(core, newest.name))) {
      throw new OperatorError(
        "NOT_CONSISTENT",
        `${newest.name} is not complete here; only a forced failover may cut it`,
      );
    }
    // Restarted after the gap file started and before emergency.json said so.
    if (core.emergencyFile?.active && isOwnGapFile(core, await logs.header(newest.name))) {
      await noteGapStarted(core, newest.name);
    }
    await core.checkpointer.checkpointNow();
    await writeCheckpoint(core.dir, position, deps.storage);
    logs.markFinished(lastVersion.file);
    core.view.publishVersion(lastVersion);
    cutVersion = lastVersion;
    nextNumber = position.fileNumber + 1;
    streamStart = position.streamBytes;
    prevVersion = lastVersion.version;
  }
  const log = await LogStream.start(
    primaryLogOptions(core, hooks),
    nextNumber,
    streamStart,
    prevVersion,
    core.emergencyFile?.active
      ? { reason: "emergency", host: core.host, afterFile: core.emergencyFile.afterFile }
      : undefined,
  );
  // Restarted in emergency mode: logging resumes after the gap, the members resync its regions.
  if (core.emergencyFile?.active) await noteGapStarted(core, formatLogName(log.current));
  if (core.emergencyFile) await openDirtyMap(core);
  // A forced failover: the history goes on through this cut (see publishCut).
  if (options.cut && cutVersion) core.view.publishCut(cutVersion, formatLogName(log.current));
  const volume = new PrimaryVolume(
    name,
    core.config.sizeBytes,
    core.backing,
    log,
    core.applier,
    deps.settings.volume,
    (err) => hooks.fatal(err),
  );
  if (deps.settings.emergencyEnabled) {
    volume.setEmergencySwitch({ isLogSpaceFailure, enter: (cause) => enterEmergency(core, hooks, cause) });
  }
  core.applier.markApplied(log.durablePosition());
  // Every local record is applied: the disk is a prefix of the history.
  core.repairUntil = undefined;
  core.primary = { log, volume };
  core.role = "primary";
  core.becomingPrimary = false;
  core.checkpointer.start();
  await core.files.writeFetch({
    file: formatLogName(log.current),
    verifiedBytes: 0,
    nextSeq: 0,
    finished: false,
  });
  deps.logger.info({ resource: name, file: formatLogName(log.current), cut: options.cut }, "primary");
  // Failed meanwhile (a checkpoint's sync, the log): never export a volume
  // whose files are about to close; the recovery takes over again.
  if (core.state !== "running") {
    volume.stopAll(new VolumeFailedError(`${name} failed: ${core.failure ?? "during the take-over"}`));
    return;
  }
  await hooks.attach(volume);
}

/** How the primary's log stream is set up (take-over, and leaving emergency mode). */
export function primaryLogOptions(core: ResourceCore, hooks: RoleHooks): LogStreamOptions {
  const { deps, name, logs } = core;
  return {
    dir: core.dir,
    resource: name,
    host: core.host,
    storage: deps.storage,
    clock: deps.clock,
    time: deps.time,
    limits: deps.settings.writerLimits,
    rotateBytes: deps.settings.logRotateBytes,
    observer: deps.metrics.logObserver(name, deps.settings.writerLimits.maxPendingBytes),
    onFileFinished: (file) => fileFinished(core, file),
    // A full log area is not a failure: the volume writes straight to the
    // disk instead (emergency mode), entered now rather than on the next write.
    onFailed: (err) => {
      if (!isLogSpaceFailure(err) || !core.primary || !deps.settings.emergencyEnabled) hooks.fatal(err);
      else core.primary.volume.writeDirect(err).catch((e: unknown) => hooks.fatal(e));
    },
    onFileStarted: (writer) => {
      const fileName = formatLogName(writer.header);
      logs.add(fileName, writer.durableOffsetBytes);
      writer.on("durable", (end) => {
        logs.grow(fileName, end);
        deps.metrics.logDurablePosition.labels(name).set(writer.header.streamStartBytes + end);
      });
    },
  };
}

/**
 * Leaves emergency mode: the next log file starts after the gap (its
 * header names this node and the last file before it) and the volume logs
 * again. Fails (and stays in emergency mode) while the log area is still
 * full; the caller retries.
 */
export async function leaveEmergency(core: ResourceCore, hooks: RoleHooks): Promise<void> {
  const parts = core.primary;
  const emergency = core.emergencyFile;
  if (!parts || !emergency?.active || !parts.volume.writingDirect) return;
  const startGapFile = await prepareGapFile(core, hooks, emergency.afterFile);
  const startMs = core.deps.time.monotonicMs();
  await parts.volume.resumeLogging(async () => {
    const log = await startGapFile();
    parts.log = log;
    core.applier.markApplied(log.durablePosition());
    return log;
  });
  // Writes wait while the gap file starts: the stall the application sees.
  const stallMs = Math.round(core.deps.time.monotonicMs() - startMs);
  await noteGapStarted(core, formatLogName(parts.log.current), stallMs);
  await core.files.writeFetch({
    file: formatLogName(parts.log.current),
    verifiedBytes: 0,
    nextSeq: 0,
    finished: false,
  });
  hooks.publishStatus(true);
}

/**
 * Writes the gap file a step-down in emergency mode would have written,
 * as a secondary (the secondary parts stopped): the step-down's own gap
 * file failed, or the node crashed, and the designation moved meanwhile
 * (simulator seed 980143). The file is empty and finished at once; the
 * disk's unlogged writes are then behind a gap of this node's history,
 * and the designated primary, which waits for them, resyncs their regions
 * from this node's map and takes over. space-watch.ts runs it when
 * role-decision.ts mayCloseGap allows.
 */
export async function closeGapAsSecondary(core: ResourceCore, hooks: RoleHooks): Promise<void> {
  const emergency = core.emergencyFile;
  if (core.primary || core.secondary || !emergency?.active) return;
  const log = await (await prepareGapFile(core, hooks, emergency.afterFile))();
  await noteGapStarted(core, formatLogName(log.current));
  core.applier.markApplied(log.durablePosition());
  await ownFileFinished(core, await log.close());
}

/**
 * Our last file is finished: its version goes out (before, or with, the
 * status that says we are a secondary: a new primary waits for exactly
 * this version), and fetching resumes after it.
 */
async function ownFileFinished(core: ResourceCore, finished: FinishedLogFile): Promise<void> {
  core.logs.rememberVersion(finished.versionEntry);
  core.view.publishVersion(finished.versionEntry);
  await core.applier.idle();
  await core.checkpointer.checkpointNow();
  await core.files.writeFetch({
    file: formatLogName(finished.name),
    verifiedBytes: finished.lengthBytes,
    nextSeq: 0,
    finished: true,
  });
}

/**
 * Checks that the last file before the gap is here, removes a later file
 * a failed start left behind, and returns how to start the gap file.
 */
async function prepareGapFile(
  core: ResourceCore,
  hooks: RoleHooks,
  afterFile: string,
): Promise<() => Promise<LogStream>> {
  const last = core.logs.get(afterFile);
  if (!last) throw new OperatorError("NOT_CONSISTENT", `${afterFile}, the last file before the gap, is gone`);
  const lastVersion = await core.logs.version(last.name);
  const header = await core.logs.header(last.name);
  await removeLaterFiles(core, last.fileNumber);
  return () =>
    LogStream.start(
      primaryLogOptions(core, hooks),
      last.fileNumber + 1,
      header.streamStartBytes + last.lengthBytes,
      lastVersion.version,
      { reason: "emergency", host: core.host, afterFile: last.name },
    );
}

function fileFinished(core: ResourceCore, file: FinishedLogFile): void {
  const name = formatLogName(file.name);
  core.deps.metrics.logRotations.labels(core.name).inc();
  core.logs.rememberVersion(file.versionEntry);
  core.logs.markFinished(name);
  core.logs.version(name).then(
    (v) => core.view.publishVersion(v),
    (err: unknown) =>
      core.deps.logger.error({ resource: core.name, file: name, err }, "cannot compute a file version"),
  );
}

/**
 * Leaves the primary role: writes stop, the frontend lets go (`detach`),
 * the current log file is finished and its version published. The caller
 * takes up the secondary role after.
 */
export async function stepDown(
  core: ResourceCore,
  hooks: RoleHooks,
  parts: PrimaryParts,
  detach: () => Promise<void>,
): Promise<void> {
  core.deps.logger.info(
    { resource: core.name, newPrimary: core.view.designatedPrimary() ?? null },
    "stepping down",
  );
  parts.volume.stopWrites();
  await detach();
  await parts.volume.idle();
  // In emergency mode the last writes are in no log: the file we finish is
  // the gap file, so the new primary resyncs their regions before it serves.
  if (parts.volume.writingDirect) await leaveEmergency(core, hooks);
  const finished = await parts.log.close();
  core.primary = undefined;
  await ownFileFinished(core, finished);
  core.role = "secondary";
}

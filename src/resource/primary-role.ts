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
import { LogStream, type FinishedLogFile, type LogPosition } from "../log/log-stream.js";
import { genesisVersion, type VersionEntry } from "../log/version.js";
import { writeCheckpoint } from "./checkpoint.js";
import { recover } from "./recovery.js";
import type { PrimaryParts, ResourceCore, RoleHooks } from "./resource-core.js";
import { isLocallyFinished } from "./secondary-role.js";
import { PrimaryVolume } from "./volume.js";
import { OperatorError } from "../util/errors.js";

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
    });
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
    {
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
      onFailed: (err) => hooks.fatal(err),
      onFileStarted: (writer) => {
        const fileName = formatLogName(writer.header);
        logs.add(fileName, writer.durableOffsetBytes);
        writer.on("durable", (end) => {
          logs.grow(fileName, end);
          deps.metrics.logDurablePosition.labels(name).set(writer.header.streamStartBytes + end);
        });
      },
    },
    nextNumber,
    streamStart,
    prevVersion,
  );
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
  core.applier.markApplied(log.durablePosition());
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
  await hooks.attach(volume);
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
  const finished = await parts.log.close();
  // The version of our last file goes out before (or with) the status that
  // says we stepped down: the new primary waits for exactly this version.
  core.logs.rememberVersion(finished.versionEntry);
  core.view.publishVersion(finished.versionEntry);
  core.primary = undefined;
  await core.applier.idle();
  await core.checkpointer.checkpointNow();
  await core.files.writeFetch({
    file: formatLogName(finished.name),
    verifiedBytes: finished.lengthBytes,
    nextSeq: 0,
    finished: true,
  });
  core.role = "secondary";
}

/**
 * The operator's log maintenance on one resource (resource.rotateLog,
 * resource.deleteReplayedLogs): the state checks and the failure mapping
 * around the log and retention modules.
 *
 * Contract:
 * - Rotation is the running primary's only: anything else is refused with
 *   OperatorError NOT_PRIMARY.
 * - Deletion runs only while the resource runs (else RESOURCE_FAILED; a
 *   failed resource's files are closed). Which files go is retention.ts.
 * - A MarsError from either passes through unchanged; any other error is
 *   an IO failure like anywhere else (a new log file's header write, a
 *   checkpoint sync, a removal): `fatal` fails the resource and the caller
 *   gets RESOURCE_FAILED.
 */
import type { FinishedLogFile } from "../log/log-stream.js";
import { MarsError, OperatorError, errorMessage } from "../util/errors.js";
import type { ResourceCore } from "./resource-core.js";
import { deleteReplayedLogs } from "./retention.js";

/** Finishes the primary's current log file and starts the next. */
export async function rotateLog(
  core: ResourceCore,
  fatal: (err: unknown) => void,
): Promise<FinishedLogFile | undefined> {
  if (!core.primary || core.state !== "running") {
    throw new OperatorError("NOT_PRIMARY", `${core.name}: only the primary rotates its log`);
  }
  try {
    return await core.primary.log.rotate();
  } catch (err) {
    throw asResourceFailure(core, err, fatal);
  }
}

/** Deletes local log files every member has replayed past (retention.ts). */
export async function deleteReplayedLogsChecked(
  core: ResourceCore,
  fatal: (err: unknown) => void,
): Promise<{ deleted: string[]; floorFileNumber: number | undefined }> {
  // A failed resource's files are closed until it recovers: nothing to decide on.
  if (core.state !== "running") {
    throw new OperatorError(
      "RESOURCE_FAILED",
      `${core.name} is ${core.state}: no log deletion until it runs again`,
    );
  }
  try {
    return await deleteReplayedLogs(core);
  } catch (err) {
    throw asResourceFailure(core, err, fatal);
  }
}

function asResourceFailure(core: ResourceCore, err: unknown, fatal: (err: unknown) => void): unknown {
  if (err instanceof MarsError) return err;
  fatal(err);
  return new OperatorError("RESOURCE_FAILED", `${core.name} failed: ${errorMessage(err)}`);
}

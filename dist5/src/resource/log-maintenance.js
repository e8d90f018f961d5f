import { MarsError, OperatorError, errorMessage } from "../util/errors.js";
import { deleteReplayedLogs } from "./retention.js";
/** Finishes the primary's current log file and starts the next. */
export async function rotateLog(core, fatal) {
    if (!core.primary || core.state !== "running") {
        throw new OperatorError("NOT_PRIMARY", `${core.name}: only the primary rotates its log`);
    }
    try {
        return await core.primary.log.rotate();
    }
    catch (err) {
        throw asResourceFailure(core, err, fatal);
    }
}
/** Deletes local log files every member has replayed past (retention.ts). */
export async function deleteReplayedLogsChecked(core, fatal) {
    // A failed resource's files are closed until it recovers: nothing to decide on.
    if (core.state !== "running") {
        throw new OperatorError("RESOURCE_FAILED", `${core.name} is ${core.state}: no log deletion until it runs again`);
    }
    try {
        return await deleteReplayedLogs(core);
    }
    catch (err) {
        throw asResourceFailure(core, err, fatal);
    }
}
function asResourceFailure(core, err, fatal) {
    if (err instanceof MarsError)
        return err;
    fatal(err);
    return new OperatorError("RESOURCE_FAILED", `${core.name} failed: ${errorMessage(err)}`);
}
//# sourceMappingURL=log-maintenance.js.map
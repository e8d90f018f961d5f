/**
 * resource.invalidate: a secondary drops its claim to consistency and
 * copies the primary's disk again, then replays from the primary's newest
 * log file (as a joining member does, without leaving: its disk, its
 * membership and its pauses stay). The sync compares digests, so what is
 * already equal is not sent: invalidating a replica that is equal but
 * for a few damaged blocks costs those blocks.
 *
 * Contract: refused on the primary (RESOURCE_CONFLICT) and on a failed
 * resource; PRIMARY_UNREACHABLE when the primary cannot say where its log
 * stands. Idempotent: a whole-disk sync already under way is left alone
 * (changed: false). Runs inside the serialised role changes.
 */
import { OperatorError } from "../util/errors.js";
import { findJoinStart } from "./join-start.js";
import { restartSecondaryFrom } from "./rejoin.js";
/** Checks what can be checked before asking the primary. */
export function checkInvalidate(core) {
    if (core.role === "primary" || core.becomingPrimary)
        throw new OperatorError("RESOURCE_CONFLICT", `this node is the primary of ${core.name}: invalidate a secondary (its disk is the one that is copied)`);
    if (core.state !== "running")
        throw new OperatorError("RESOURCE_FAILED", `resource ${core.name} is ${core.state}: it cannot resync now`);
}
/** Where the copy starts from: asked before entering the role queue (it is a network call). */
export async function invalidationStart(core) {
    checkInvalidate(core);
    const { primary, start } = await findJoinStart(core.deps.cluster, core.name);
    return { primary, file: start.name };
}
export async function invalidate(core, hooks, start) {
    checkInvalidate(core);
    const sync = core.syncFile;
    if (sync.state === "syncing" && !sync.regions && !sync.consistent)
        return false;
    core.deps.logger.warn({ resource: core.name, primary: start.primary, from: start.file }, "invalidated: copying the primary's disk (digests skip what is equal), then replaying from its newest log file");
    await restartSecondaryFrom(core, hooks, undefined, {
        resumeFile: start.file,
        sourceHost: start.primary,
        streamBytes: 0,
    });
    return true;
}
//# sourceMappingURL=invalidate.js.map
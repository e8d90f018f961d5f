/**
 * The clean shutdown of a running resource, in the order durability needs.
 *
 * Contract:
 * - The primary's volume refuses new writes (ClosedError), waits for the
 *   writes in flight, then finishes its log file durably.
 * - The secondary's fetcher, replayer and sync stop; the checkpointer stops,
 *   the apply queue drains, and one final checkpoint records how far the
 *   disk is applied and synced; the backing disk is closed last.
 * - Only a running resource is closed (anything else: nothing happens); it
 *   is marked "closed" and its status publishing stopped before the first
 *   step. The caller runs this in its role-change queue, so no role change
 *   interleaves; any error is the caller's (close() rejects with it).
 */
import { ClosedError } from "../util/errors.js";
import { stopSecondary } from "./secondary-role.js";
/** Stops the resource's writers and closes its files after a final checkpoint. */
export async function closeCleanly(core, stopStatus) {
    if (core.state !== "running")
        return;
    core.state = "closed";
    stopStatus();
    const primary = core.primary;
    if (primary) {
        primary.volume.stopAll(new ClosedError(`${core.name} is stopping`));
        await primary.volume.idle();
        // In emergency mode the log is closed already; emergency.json makes the
        // restart begin the next file after the gap.
        if (!primary.volume.writingDirect)
            await primary.log.close();
    }
    await stopSecondary(core);
    await core.checkpointer.stop();
    await core.applier.idle();
    await core.checkpointer.checkpointNow();
    await core.dirtyMap?.close();
    core.dirtyMap = undefined;
    await core.backing.close();
}
//# sourceMappingURL=shutdown.js.map
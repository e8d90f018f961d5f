/**
 * The periodic side of space safety, every emergency.retryMs:
 * - a primary in emergency mode (emergency.ts) logs again once the log
 *   space monitor allows it, and a gap map every member passed is cleared;
 * - a primary cuts loose the members that lag beyond the limits and
 *   withdraws the ones that caught up (cut-loose.ts);
 * - a secondary that was cut loose while behind rejoins (rejoin.ts).
 *
 * Contract: each round runs inside the resource's serialised role changes
 * (`enqueue`), so it never races a take-over or step-down, and rounds never
 * overlap. A log area that is still full leaves the resource in emergency
 * mode (retried next round); any other error fails the resource.
 */
import { clearMapIfResynced, isLogSpaceFailure } from "./emergency.js";
import { ownCutLoose, reviewLagging } from "./cut-loose.js";
import { leaveEmergency } from "./primary-role.js";
import { rejoinAfterCut } from "./rejoin.js";
import { deleteReplayedLogs } from "./retention.js";
export function watchSpace(core, hooks, options) {
    const { deps } = core;
    let running = false;
    const primaryRound = async () => {
        const emergency = core.emergencyFile;
        if (emergency?.active) {
            if (core.primary?.volume.writingDirect && options.level() !== "emergency") {
                try {
                    await leaveEmergency(core, hooks);
                }
                catch (err) {
                    if (!isLogSpaceFailure(err))
                        throw err;
                    deps.logger.warn({ resource: core.name, err }, "log area still full: staying in emergency mode");
                }
            }
        }
        else if (emergency) {
            await clearMapIfResynced(core);
        }
        const level = options.level();
        const cut = await reviewLagging(core, deps.settings.lagLimits(core.name), level === "cut" || level === "emergency");
        // What the member pinned goes now, not at the next scheduled deletion.
        if (cut)
            await deleteReplayedLogs(core);
    };
    const round = async () => {
        if (core.state !== "running")
            return;
        if (core.role === "primary")
            return primaryRound();
        const entry = ownCutLoose(core);
        if (entry && core.secondary)
            await rejoinAfterCut(core, hooks, entry);
    };
    const run = () => {
        if (running)
            return;
        running = true;
        options
            .enqueue(round)
            .catch((err) => hooks.fatal(err))
            .finally(() => (running = false));
    };
    const timer = deps.time.setRepeating(deps.settings.emergencyRetryMs, run);
    return {
        cancel: () => timer.cancel(),
        enterNow: (reason) => {
            // Inside the role changes: never half-way through a take-over or step-down.
            options
                .enqueue(async () => {
                const volume = core.state === "running" ? core.primary?.volume : undefined;
                if (volume?.writable && !volume.writingDirect)
                    await volume.writeDirect(new Error(reason));
            })
                .catch((err) => hooks.fatal(err));
        },
        checkNow: () => {
            if (core.role === "secondary" && ownCutLoose(core))
                run();
        },
    };
}
//# sourceMappingURL=space-watch.js.map
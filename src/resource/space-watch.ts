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
import type { ResourceCore, RoleHooks } from "./resource-core.js";

export interface SpaceWatchOptions {
  enqueue: <T>(work: () => Promise<T>) => Promise<T>;
  /** The log space monitor's level of this resource's log area ("ok" without a monitor). */
  level: () => string;
}

export interface SpaceWatch {
  cancel(): void;
  /** A serving primary stops logging now (the log space monitor's last level); anything else ignores it. */
  enterNow(reason: string): void;
  /** A secondary checks at once whether it was cut loose (a cluster state change said so). */
  checkNow(): void;
}

export function watchSpace(core: ResourceCore, hooks: RoleHooks, options: SpaceWatchOptions): SpaceWatch {
  const { deps } = core;
  let running = false;
  const primaryRound = async (): Promise<void> => {
    const emergency = core.emergencyFile;
    if (emergency?.active) {
      if (core.primary?.volume.writingDirect && options.level() !== "emergency") {
        try {
          await leaveEmergency(core, hooks);
        } catch (err) {
          if (!isLogSpaceFailure(err)) throw err;
          deps.logger.warn({ resource: core.name, err }, "log area still full: staying in emergency mode");
        }
      }
    } else if (emergency) {
      await clearMapIfResynced(core);
    }
    const level = options.level();
    const cut = await reviewLagging(
      core,
      deps.settings.lagLimits(core.name),
      level === "cut" || level === "emergency",
    );
    // What the member pinned goes now, not at the next scheduled deletion.
    if (cut) await deleteReplayedLogs(core);
  };
  const round = async (): Promise<void> => {
    if (core.state !== "running") return;
    if (core.role === "primary") return primaryRound();
    const entry = ownCutLoose(core);
    if (entry && core.secondary) await rejoinAfterCut(core, hooks, entry);
  };
  const run = (): void => {
    if (running) return;
    running = true;
    options
      .enqueue(round)
      .catch((err: unknown) => hooks.fatal(err))
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
          if (volume?.writable && !volume.writingDirect) await volume.writeDirect(new Error(reason));
        })
        .catch((err: unknown) => hooks.fatal(err));
    },
    checkNow: () => {
      if (core.role === "secondary" && ownCutLoose(core)) run();
    },
  };
}

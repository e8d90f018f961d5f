/**
 * The periodic side of emergency mode (emergency.ts): a primary writing
 * straight to its disk tries to log again once space allows, and a map
 * whose gap every member has passed is cleared.
 *
 * Contract: each attempt runs inside the resource's serialised role
 * changes (`enqueue`), so it never races a take-over or step-down. A log
 * area that is still full leaves the resource in emergency mode (retried
 * after retryMs); any other error fails the resource.
 */
import { clearMapIfResynced, isLogSpaceFailure } from "./emergency.js";
import { leaveEmergency } from "./primary-role.js";
import type { ResourceCore, RoleHooks } from "./resource-core.js";

export interface EmergencyWatchOptions {
  enqueue: <T>(work: () => Promise<T>) => Promise<T>;
  /** Whether the log area has room again (the log space monitor's level; true without one). */
  mayLog: () => boolean;
}

export interface EmergencyWatch {
  cancel(): void;
  /** A serving primary stops logging now (the log space monitor's last level); anything else ignores it. */
  enterNow(reason: string): void;
}

export function watchEmergency(
  core: ResourceCore,
  hooks: RoleHooks,
  options: EmergencyWatchOptions,
): EmergencyWatch {
  const { deps } = core;
  let running = false;
  const tick = async (): Promise<void> => {
    if (core.state !== "running" || !core.emergencyFile || core.role !== "primary") return;
    if (core.emergencyFile.active) {
      if (!core.primary?.volume.writingDirect || !options.mayLog()) return;
      try {
        await leaveEmergency(core, hooks);
      } catch (err) {
        if (!isLogSpaceFailure(err)) throw err;
        deps.logger.warn({ resource: core.name, err }, "log area still full: staying in emergency mode");
      }
    } else {
      await clearMapIfResynced(core);
    }
  };
  const timer = deps.time.setRepeating(deps.settings.emergencyRetryMs, () => {
    if (running || !core.emergencyFile) return;
    running = true;
    options
      .enqueue(tick)
      .catch((err: unknown) => hooks.fatal(err))
      .finally(() => (running = false));
  });
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
  };
}

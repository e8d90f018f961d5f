/**
 * The periodic side of space safety, every emergency.retryMs:
 * - a primary in emergency mode (emergency.ts) logs again once the log
 *   space monitor allows it, and a gap map every member passed is cleared;
 * - a primary cuts loose the members that lag beyond the limits and
 *   withdraws the ones that caught up (cut-loose.ts);
 * - a secondary that was cut loose while behind rejoins (rejoin.ts);
 * - a secondary whose disk holds writes it made as primary in emergency
 *   mode, in no log (its step-down's gap file failed, often because the
 *   log area was still full, or it crashed, and the designation moved),
 *   writes that gap file once nobody went on past it (closeOwedGap).
 *
 * Contract: each round runs inside the resource's serialised role changes
 * (`enqueue`), so it never races a take-over or step-down, and rounds never
 * overlap. A log area that is still full leaves the resource in emergency
 * mode (retried next round); any other error fails the resource.
 */
import { parseLogName } from "../log/log-name.js";
import { clearMapIfResynced, isLogSpaceFailure, owesGapFile } from "./emergency.js";
import { ownCutLoose, reviewLagging } from "./cut-loose.js";
import { closeGapAsSecondary, leaveEmergency } from "./primary-role.js";
import { mayCloseGap } from "./role-decision.js";
import { startSecondary, stopSecondary } from "./secondary-role.js";
import { memberHistories } from "./status-model.js";
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
    if (owesGapFile(core) && core.secondary) await closeOwedGap(core, hooks);
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

/**
 * Writes the gap file this secondary owes (emergency.ts owesGapFile) once
 * role-decision.ts mayCloseGap allows it: the designated primary, which
 * waits for these writes, then resyncs their regions from our map and
 * takes over (simulator seed 980143: it waited for ever). A log area that
 * is still full leaves it for the next round.
 */
async function closeOwedGap(core: ResourceCore, hooks: RoleHooks): Promise<void> {
  const afterFile = core.emergencyFile?.afterFile ?? "";
  const afterFileNumber = parseLogName(afterFile)?.fileNumber ?? 0;
  const designated = core.view.designatedPrimary();
  const allowed = mayCloseGap({
    host: core.host,
    designatedPrimary: designated,
    afterFileNumber,
    designatedHeard: designated !== undefined && core.deps.cluster.exchangedSinceStart(designated),
    designatedRole: designated === undefined ? undefined : core.view.publishedStatusOf(designated)?.role,
    others: memberHistories(core).filter((h) => h.host !== core.host),
    cutBeyond: [...core.view.cutStamps().keys()].some(
      (key) => (parseLogName(key)?.fileNumber ?? 0) > afterFileNumber,
    ),
  });
  if (!allowed) return;
  core.deps.logger.info(
    { resource: core.name, afterFile },
    "writing the gap file for this disk's unlogged emergency-mode writes (its step-down did not)",
  );
  await stopSecondary(core);
  try {
    await closeGapAsSecondary(core, hooks);
  } catch (err) {
    // Once the gap file is noted, any failure is the resource's (it recovers from disk).
    if (!isLogSpaceFailure(err) || !core.emergencyFile?.active) throw err;
    core.deps.logger.warn({ resource: core.name, err }, "log area still full: the gap file waits");
  }
  await startSecondary(core, hooks);
  hooks.publishStatus(true);
}

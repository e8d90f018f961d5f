/**
 * Failure isolation: what happens to a resource whose log, disk or
 * checkpoint IO failed (ENOSPC included), so that the rest of the node
 * keeps serving.
 *
 * Contract:
 * - markFailed(): the resource is "failed" with the reason, its volume
 *   refuses writes (VolumeFailedError), marsd_resource_failed is 1.
 * - releaseFiles(): the failed resource's export goes away and its files
 *   are closed WITHOUT being written or synced again (no log finish, no
 *   final checkpoint): after a failed fsync the kernel may have dropped the
 *   dirty pages, and a retried fsync on the same descriptor can "succeed"
 *   without the data (see src/log/writer.ts). What is on disk is the truth.
 * - FailureRecovery: re-runs the resource's recovery from what is on disk,
 *   through the same code path as the start-up (the manager's `attempt`
 *   opens a new Resource and starts it), after a backoff
 *   (recoveryDelayMs: initialMs doubling up to maxMs), until an attempt
 *   brings the resource back running, or it is cancelled (the operator
 *   removed the resource, or the node stops). Attempts never overlap: one
 *   timer per resource, and the manager runs an attempt under its lock.
 * - Metrics: marsd_resource_failures_total (each failure of a resource),
 *   marsd_resource_recoveries_total{result} (each attempt's outcome),
 *   marsd_resource_recovery_attempts (attempts since the failure; 0 when
 *   healthy).
 */
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import { errorMessage } from "../util/errors.js";
import { VolumeFailedError } from "./block-volume.js";
import type { ResourceCore } from "./resource-core.js";
import { stopSecondary } from "./secondary-role.js";

export interface RecoveryBackoff {
  /** Delay before the first attempt after a failure. */
  initialMs: number;
  /** The delay doubles per failed attempt up to this. */
  maxMs: number;
}

export const DEFAULT_RECOVERY_BACKOFF: RecoveryBackoff = { initialMs: 1_000, maxMs: 60_000 };

/** Delay before attempt number `attempt` (1 = the first after the failure): initialMs·2^(attempt-1), at most maxMs. */
export function recoveryDelayMs(attempt: number, backoff: RecoveryBackoff): number {
  const doublings = Math.max(0, Math.min(attempt - 1, 52));
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** doublings);
}

/** Marks the resource failed: state and reason, writes refused, gauge set, logged. */
export function markFailed(core: ResourceCore, err: unknown): void {
  core.state = "failed";
  core.failure = errorMessage(err);
  core.primary?.volume.stopAll(new VolumeFailedError(`${core.name} failed: ${core.failure}`));
  core.deps.metrics.resourceFailed.labels(core.name).set(1);
  core.deps.logger.error({ resource: core.name, err }, "resource failed");
}

/**
 * Closes a failed resource's parts without writing or syncing anything:
 * no new IO is admitted, the running operations end (they fail fast, the
 * log refuses appends), then every descriptor is closed.
 */
export async function releaseFiles(core: ResourceCore): Promise<void> {
  const primary = core.primary;
  if (primary) {
    await primary.volume.idle();
    await primary.log.abandon();
  }
  await stopSecondary(core);
  await core.checkpointer.stop();
  await core.applier.idle();
  // The map is read again from disk by the recovery (a failed mark was never acknowledged).
  await core.dirtyMap?.close().catch(() => undefined);
  core.dirtyMap = undefined;
  await core.backing.close();
}

/** How an attempt ended: running again, failed again, or the resource is gone (removed, node stopping). */
export type AttemptResult = "running" | "failed" | "gone";

export interface FailureRecoveryOptions {
  time: Clock;
  metrics: Metrics;
  logger: Logger;
  backoff: RecoveryBackoff;
  /** Re-opens and starts the resource from what is on disk (the start-up path). */
  attempt(name: string): Promise<AttemptResult>;
}

interface Episode {
  attempts: number;
  timer: TimerHandle | undefined;
}

export class FailureRecovery {
  private readonly episodes = new Map<string, Episode>();
  private stopped = false;

  constructor(private readonly options: FailureRecoveryOptions) {}

  /** Counters of a resource exist from its start (a rate over them needs a first sample). */
  watch(name: string): void {
    const { metrics } = this.options;
    metrics.resourceFailures.labels(name).inc(0);
    for (const result of ["succeeded", "failed"]) metrics.resourceRecoveries.labels(name, result).inc(0);
    if (!this.episodes.has(name)) metrics.resourceRecoveryAttempts.labels(name).set(0);
  }

  /** The resource failed: recover it after the backoff (a failure during an attempt is that attempt's result). */
  failed(name: string, err: unknown): void {
    if (this.stopped || this.episodes.has(name)) return;
    this.options.metrics.resourceFailures.labels(name).inc();
    const episode: Episode = { attempts: 0, timer: undefined };
    this.episodes.set(name, episode);
    this.options.logger.error(
      { resource: name, err: errorMessage(err) },
      "resource failed: the node's other resources keep serving; recovery from disk follows",
    );
    this.schedule(name, episode);
  }

  /** Recovering `name`: its attempts so far (undefined: not failed). */
  attempts(name: string): number | undefined {
    return this.episodes.get(name)?.attempts;
  }

  /** No more attempts for `name` (the operator removed it). */
  cancel(name: string): void {
    this.episodes.get(name)?.timer?.cancel();
    this.episodes.delete(name);
  }

  /** No more attempts at all (the node stops). */
  stop(): void {
    this.stopped = true;
    for (const name of [...this.episodes.keys()]) this.cancel(name);
  }

  private schedule(name: string, episode: Episode): void {
    const delayMs = recoveryDelayMs(episode.attempts + 1, this.options.backoff);
    this.options.logger.info(
      { resource: name, attempt: episode.attempts + 1, delayMs },
      "resource recovery scheduled",
    );
    episode.timer = this.options.time.setTimer(delayMs, () => {
      episode.timer = undefined;
      void this.run(name, episode);
    });
    episode.timer.unref();
  }

  private async run(name: string, episode: Episode): Promise<void> {
    const { metrics, logger } = this.options;
    episode.attempts += 1;
    metrics.resourceRecoveryAttempts.labels(name).set(episode.attempts);
    let result: AttemptResult;
    try {
      result = await this.options.attempt(name);
    } catch (err) {
      logger.error({ resource: name, err: errorMessage(err) }, "resource recovery attempt failed");
      result = "failed";
    }
    if (this.episodes.get(name) !== episode) return;
    if (result === "failed" && !this.stopped) {
      metrics.resourceRecoveries.labels(name, "failed").inc();
      this.schedule(name, episode);
      return;
    }
    this.episodes.delete(name);
    if (result === "running") {
      metrics.resourceRecoveries.labels(name, "succeeded").inc();
      metrics.resourceRecoveryAttempts.labels(name).set(0);
      logger.info({ resource: name, attempts: episode.attempts }, "resource recovered");
    }
  }
}

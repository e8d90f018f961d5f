import { errorMessage } from "../util/errors.js";
import { VolumeFailedError } from "./block-volume.js";
import { stopSecondary } from "./secondary-role.js";
export const DEFAULT_RECOVERY_BACKOFF = { initialMs: 1_000, maxMs: 60_000 };
/** Delay before attempt number `attempt` (1 = the first after the failure): initialMs·2^(attempt-1), at most maxMs. */
export function recoveryDelayMs(attempt, backoff) {
    const doublings = Math.max(0, Math.min(attempt - 1, 52));
    return Math.min(backoff.maxMs, backoff.initialMs * 2 ** doublings);
}
/** Marks the resource failed: state and reason, writes refused, gauge set, logged. */
export function markFailed(core, err) {
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
export async function releaseFiles(core) {
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
export class FailureRecovery {
    options;
    episodes = new Map();
    stopped = false;
    constructor(options) {
        this.options = options;
    }
    /** Counters of a resource exist from its start (a rate over them needs a first sample). */
    watch(name) {
        const { metrics } = this.options;
        metrics.resourceFailures.labels(name).inc(0);
        for (const result of ["succeeded", "failed"])
            metrics.resourceRecoveries.labels(name, result).inc(0);
        if (!this.episodes.has(name))
            metrics.resourceRecoveryAttempts.labels(name).set(0);
    }
    /** The resource failed: recover it after the backoff (a failure during an attempt is that attempt's result). */
    failed(name, err) {
        if (this.stopped || this.episodes.has(name))
            return;
        this.options.metrics.resourceFailures.labels(name).inc();
        const episode = { attempts: 0, timer: undefined };
        this.episodes.set(name, episode);
        this.options.logger.error({ resource: name, err: errorMessage(err) }, "resource failed: the node's other resources keep serving; recovery from disk follows");
        this.schedule(name, episode);
    }
    /** Recovering `name`: its attempts so far (undefined: not failed). */
    attempts(name) {
        return this.episodes.get(name)?.attempts;
    }
    /** No more attempts for `name` (the operator removed it). */
    cancel(name) {
        this.episodes.get(name)?.timer?.cancel();
        this.episodes.delete(name);
    }
    /** No more attempts at all (the node stops). */
    stop() {
        this.stopped = true;
        for (const name of [...this.episodes.keys()])
            this.cancel(name);
    }
    schedule(name, episode) {
        const delayMs = recoveryDelayMs(episode.attempts + 1, this.options.backoff);
        this.options.logger.info({ resource: name, attempt: episode.attempts + 1, delayMs }, "resource recovery scheduled");
        episode.timer = this.options.time.setTimer(delayMs, () => {
            episode.timer = undefined;
            void this.run(name, episode);
        });
        episode.timer.unref();
    }
    async run(name, episode) {
        const { metrics, logger } = this.options;
        episode.attempts += 1;
        metrics.resourceRecoveryAttempts.labels(name).set(episode.attempts);
        let result;
        try {
            result = await this.options.attempt(name);
        }
        catch (err) {
            logger.error({ resource: name, err: errorMessage(err) }, "resource recovery attempt failed");
            result = "failed";
        }
        if (this.episodes.get(name) !== episode)
            return;
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
//# sourceMappingURL=failure-recovery.js.map
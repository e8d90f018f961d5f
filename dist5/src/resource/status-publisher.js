import { errorMessage } from "../util/errors.js";
import { ownStatus } from "./status-model.js";
export class StatusPublisher {
    core;
    time;
    intervalMs;
    logger;
    timer;
    lastPublishedMs;
    constructor(core, time, intervalMs, logger) {
        this.core = core;
        this.time = time;
        this.intervalMs = intervalMs;
        this.logger = logger;
    }
    start() {
        this.timer ??= this.time.setRepeating(this.intervalMs, () => this.publish(false)).unref();
    }
    stop() {
        this.timer?.cancel();
    }
    /** Publishes our status: at once for discrete changes (`now`), else at most every intervalMs. */
    publish(now) {
        if (this.core.state === "closed")
            return;
        const nowMs = this.time.monotonicMs();
        if (!now && this.lastPublishedMs !== undefined && nowMs - this.lastPublishedMs < this.intervalMs)
            return;
        this.lastPublishedMs = nowMs;
        try {
            this.core.view.publishStatus(ownStatus(this.core), now);
        }
        catch (err) {
            this.logger.warn({ resource: this.core.name, err: errorMessage(err) }, "cannot publish status");
        }
    }
}
//# sourceMappingURL=status-publisher.js.map
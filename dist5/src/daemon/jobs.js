import { isValidCron, parseCron, scheduleCron } from "../platform/cron.js";
import { errorMessage } from "../util/errors.js";
export const DEFAULT_JOB_SCHEDULES = {
    logRotate: "0 * * * *",
    logDelete: "*/10 * * * *",
};
export function isValidSchedule(expression) {
    return expression === "" || isValidCron(expression);
}
export class ScheduledJobs {
    schedules;
    resources;
    logger;
    time;
    tasks = [];
    constructor(schedules, resources, logger, time) {
        this.schedules = schedules;
        this.resources = resources;
        this.logger = logger;
        this.time = time;
    }
    start() {
        this.add("log-rotate", this.schedules.logRotate, () => this.rotateAll());
        this.add("log-delete", this.schedules.logDelete, () => this.deleteAll());
    }
    stop() {
        for (const task of this.tasks.splice(0))
            task.stop();
    }
    add(name, expression, run) {
        if (!expression)
            return;
        this.tasks.push(scheduleCron(this.time, parseCron(expression), async () => {
            try {
                await run();
            }
            catch (err) {
                this.logger.error({ job: name, err: errorMessage(err) }, "scheduled job failed");
            }
        }));
    }
    async rotateAll() {
        for (const r of this.resources.list()) {
            if (r.role === "primary" && r.state === "running")
                await r.rotateLog();
        }
    }
    async deleteAll() {
        for (const r of this.resources.list())
            if (r.state === "running")
                await r.deleteReplayedLogs();
    }
}
//# sourceMappingURL=jobs.js.map
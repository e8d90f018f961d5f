/**
 * Periodic housekeeping (cron schedules on the Clock, src/platform/cron.ts), as MARS's `marsadm cron`:
 *
 * - log rotation by time: the primary finishes its current log file (if it
 *   holds any record), so old history can be deleted in whole files;
 * - log deletion: files every member has replayed past are removed here
 *   (every node runs the same rule, so each copy goes once it is safe).
 *
 * A run never overlaps the previous one, and a failure is logged, not
 * fatal: the next run tries again.
 */
import type { Logger } from "pino";
import type { Clock } from "../platform/clock.js";
import { isValidCron, parseCron, scheduleCron, type CronTask } from "../platform/cron.js";
import type { ResourceManager } from "../resource/manager.js";
import { errorMessage } from "../util/errors.js";

export interface JobSchedules {
  /** Cron expression for time-based log rotation ("" disables it). */
  logRotate: string;
  /** Cron expression for deleting replayed log files ("" disables it). */
  logDelete: string;
}

export const DEFAULT_JOB_SCHEDULES: JobSchedules = {
  logRotate: "0 * * * *",
  logDelete: "*/10 * * * *",
};

export function isValidSchedule(expression: string): boolean {
  return expression === "" || isValidCron(expression);
}

export class ScheduledJobs {
  private readonly tasks: CronTask[] = [];

  constructor(
    private readonly schedules: JobSchedules,
    private readonly resources: ResourceManager,
    private readonly logger: Logger,
    private readonly time: Clock,
  ) {}

  start(): void {
    this.add("log-rotate", this.schedules.logRotate, () => this.rotateAll());
    this.add("log-delete", this.schedules.logDelete, () => this.deleteAll());
  }

  stop(): void {
    for (const task of this.tasks.splice(0)) task.stop();
  }

  private add(name: string, expression: string, run: () => Promise<void>): void {
    if (!expression) return;
    this.tasks.push(
      scheduleCron(this.time, parseCron(expression), async () => {
        try {
          await run();
        } catch (err) {
          this.logger.error({ job: name, err: errorMessage(err) }, "scheduled job failed");
        }
      }),
    );
  }

  private async rotateAll(): Promise<void> {
    for (const r of this.resources.list()) {
      if (r.role === "primary" && r.state === "running") await r.rotateLog();
    }
  }

  private async deleteAll(): Promise<void> {
    for (const r of this.resources.list()) if (r.state === "running") await r.deleteReplayedLogs();
  }
}

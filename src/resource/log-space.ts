/**
 * The log space monitor: samples the free space of every filesystem that
 * holds resource logs, keeps each one's level (log-space-levels.ts), tells
 * listeners when a level changes, exports it as metrics, and at warning
 * level or worse deletes the logs no member needs any more.
 *
 * Contract:
 * - Samples on a repeating timer of the injected Clock (every
 *   `sampleIntervalMs`, the first at start()) and on demand
 *   (sampleNow()). Samples never overlap: a tick while one runs is
 *   skipped, sampleNow() waits for it and then samples again.
 * - Filesystems are told apart by the device of the watched directories
 *   (`roots`, then each resource's directory: its logs live there); each
 *   filesystem is statfs'ed once per sample however many resources share
 *   it. A directory's device is read once (a directory does not move to
 *   another filesystem under a running daemon) and forgotten with it.
 * - The `filesystem` of a sample (its metric label, its name in events) is
 *   the first root on it, else the smallest resource directory on it.
 * - Never throws, from the timer or sampleNow(): a failed stat or statfs
 *   (or anything else that fails a sample) is logged and counted
 *   (marsd_log_space_sample_errors_total), and the filesystem keeps its
 *   previous level and numbers.
 * - Level changes go to the onLevel listeners (a throwing listener is
 *   logged, the others still run), before any deletion of that sample.
 * - At warning level or worse, `deleteReplayedLogs` runs for every
 *   resource on the filesystem, at most once per sampling interval per
 *   resource (timer periods: sampleNow() calls between two ticks delete
 *   once); its failures are logged, never thrown.
 */
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { Storage } from "../platform/storage/types.js";
import { errorMessage } from "../util/errors.js";
import {
  LOG_SPACE_LEVELS,
  levelValue,
  nextLevel,
  thresholdBytes,
  type LogSpaceLevel,
  type LogSpaceSettings,
} from "./log-space-levels.js";

/** A resource whose logs are watched: its name and the directory its logs live in. */
export interface WatchedResource {
  name: string;
  dir: string;
}

/** The latest sample of one filesystem. */
export interface FilesystemSample {
  /** The label: a watched directory on this filesystem. */
  filesystem: string;
  /** Resources whose logs are on it, sorted. */
  resources: string[];
  level: LogSpaceLevel;
  sizeBytes: number;
  /** Available to unprivileged processes (statfs f_bavail). */
  freeBytes: number;
  /** freeBytes / sizeBytes (0 for an empty size). */
  freeRatio: number;
  /** Wall time of the statfs (time.nowMs()). */
  sampledAtMs: number;
}

/** A filesystem's level changed (its first sample counts as a change from "ok"). */
export interface LogSpaceLevelChange {
  filesystem: string;
  resources: string[];
  level: LogSpaceLevel;
  previous: LogSpaceLevel;
  freeBytes: number;
  sizeBytes: number;
}

export type LogSpaceListener = (change: LogSpaceLevelChange) => void;

export interface LogSpaceMonitorOptions {
  time: Clock;
  storage: Storage;
  logger: Logger;
  metrics: Metrics;
  settings: LogSpaceSettings;
  /** Directories sampled even without resources (the resources directory): names the common filesystem. */
  roots: readonly string[];
  /** The resources now (read at every sample). */
  resources: () => readonly WatchedResource[];
  /** Deletes the resource's log files every member has replayed (retention.ts); returns their names. */
  deleteReplayedLogs: (resource: string) => Promise<{ deleted: string[] }>;
}

export class LogSpaceMonitor {
  private readonly listeners = new Set<LogSpaceListener>();
  /** Device of each watched directory (read once). */
  private readonly devices = new Map<string, bigint>();
  /** The latest sample per filesystem device. */
  private readonly samples = new Map<bigint, FilesystemSample>();
  private readonly resourceLevels = new Map<string, LogSpaceLevel>();
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  /** Timer periods so far; a resource's logs are deleted at most once per period. */
  private period = 0;
  private readonly deletedInPeriod = new Map<string, number>();

  constructor(private readonly options: LogSpaceMonitorOptions) {}

  /** Samples now and then every sampleIntervalMs. */
  start(): void {
    if (this.timer) return;
    this.timer = this.options.time.setRepeating(this.options.settings.sampleIntervalMs, () => {
      this.period += 1;
      if (!this.running) void this.sample();
    });
    this.timer.unref();
    void this.sample();
  }

  /** Stops the timer and waits for a sample in progress. */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /** Samples every filesystem now (after a sample in progress), with what that entails. */
  async sampleNow(): Promise<void> {
    await this.settled();
    await this.sample();
  }

  /** Resolves once no sample is in progress (one the timer started included). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Calls `listener` at every level change; returns a function that unsubscribes it. */
  onLevel(listener: LogSpaceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The level of the filesystem holding the resource's logs (undefined before its first sample). */
  levelOf(resource: string): LogSpaceLevel | undefined {
    return this.resourceLevels.get(resource);
  }

  /** The sample of the filesystem holding the resource's logs (undefined before its first sample). */
  sampleOf(resource: string): FilesystemSample | undefined {
    return [...this.samples.values()].find((s) => s.resources.includes(resource));
  }

  /** The latest sample of every filesystem, in label order. */
  lastSamples(): FilesystemSample[] {
    return [...this.samples.values()].sort((a, b) => a.filesystem.localeCompare(b.filesystem));
  }

  private sample(): Promise<void> {
    const run = this.sampleOnce()
      .catch((err: unknown) => {
        // Anything unexpected (the resource list, a metric) fails this sample only, never the process.
        this.options.metrics.logSpaceSampleErrors.inc();
        this.options.logger.error({ err: errorMessage(err) }, "log space: sample failed");
      })
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    this.running = run;
    return run;
  }

  private async sampleOnce(): Promise<void> {
    const groups = await this.filesystems();
    const changes: LogSpaceLevelChange[] = [];
    const toDelete: string[] = [];
    for (const [device, group] of groups) {
      const previous = this.samples.get(device);
      const sample = await this.measure(group, previous);
      if (!sample) continue;
      if (previous && previous.filesystem !== sample.filesystem)
        this.dropFilesystemSeries(previous.filesystem);
      this.samples.set(device, sample);
      this.export(sample);
      const before = previous?.level ?? "ok";
      if (sample.level !== before) changes.push({ ...pick(sample), previous: before });
      if (sample.level !== "ok") toDelete.push(...sample.resources);
    }
    this.forgetGone(groups);
    for (const change of changes) this.announce(change);
    for (const resource of toDelete) await this.deleteLogs(resource);
  }

  /** Watched directories grouped by filesystem device: label, the directory to statfs, resources. */
  private async filesystems(): Promise<
    Map<bigint, { filesystem: string; dir: string; resources: string[] }>
  > {
    const resources = [...this.options.resources()].sort((a, b) => a.dir.localeCompare(b.dir));
    const dirs = [...this.options.roots, ...resources.map((r) => r.dir)];
    for (const known of [...this.devices.keys()]) if (!dirs.includes(known)) this.devices.delete(known);
    const groups = new Map<bigint, { filesystem: string; dir: string; resources: string[] }>();
    const place = async (dir: string, resource?: string): Promise<void> => {
      const device = await this.deviceOf(dir);
      if (device === undefined) return;
      let group = groups.get(device);
      if (!group) {
        group = { filesystem: dir, dir, resources: [] };
        groups.set(device, group);
      }
      if (resource !== undefined) group.resources.push(resource);
    };
    for (const root of this.options.roots) await place(root);
    for (const r of resources) await place(r.dir, r.name);
    for (const group of groups.values()) group.resources.sort();
    return groups;
  }

  private async deviceOf(dir: string): Promise<bigint | undefined> {
    const known = this.devices.get(dir);
    if (known !== undefined) return known;
    try {
      const { device } = await this.options.storage.stat(dir);
      this.devices.set(dir, device);
      return device;
    } catch (err) {
      this.sampleFailed(dir, "stat", err);
      return undefined;
    }
  }

  private async measure(
    group: { filesystem: string; dir: string; resources: string[] },
    previous: FilesystemSample | undefined,
  ): Promise<FilesystemSample | undefined> {
    let space;
    try {
      space = await this.options.storage.statfs(group.dir);
    } catch (err) {
      this.sampleFailed(group.dir, "statfs", err);
      // The previous numbers and level hold, for the resources there now.
      return previous && { ...previous, filesystem: group.filesystem, resources: group.resources };
    }
    const { sizeBytes, availableBytes: freeBytes } = space;
    return {
      filesystem: group.filesystem,
      resources: group.resources,
      level: nextLevel(this.options.settings, previous?.level ?? "ok", freeBytes, sizeBytes),
      sizeBytes,
      freeBytes,
      freeRatio: sizeBytes > 0 ? freeBytes / sizeBytes : 0,
      sampledAtMs: this.options.time.nowMs(),
    };
  }

  private sampleFailed(dir: string, what: string, err: unknown): void {
    this.options.metrics.logSpaceSampleErrors.inc();
    this.options.logger.warn({ dir, err: errorMessage(err) }, `log space: ${what} failed; the level holds`);
  }

  private export(sample: FilesystemSample): void {
    const { metrics, settings } = this.options;
    const fs = sample.filesystem;
    metrics.logFsSizeBytes.labels(fs).set(sample.sizeBytes);
    metrics.logFsFreeBytes.labels(fs).set(sample.freeBytes);
    metrics.logFsFreeRatio.labels(fs).set(sample.freeRatio);
    metrics.logSpaceLevel.labels(fs).set(levelValue(sample.level));
    for (const level of LOG_SPACE_LEVELS) {
      if (level === "ok") continue;
      metrics.logSpaceThresholdBytes.labels(fs, level).set(thresholdBytes(settings[level], sample.sizeBytes));
    }
    for (const resource of sample.resources) {
      this.resourceLevels.set(resource, sample.level);
      metrics.resourceLogSpaceLevel.labels(resource).set(levelValue(sample.level));
    }
  }

  /** Drops the state and series of filesystems and resources no longer watched. */
  private forgetGone(groups: Map<bigint, { resources: string[] }>): void {
    for (const [device, sample] of this.samples) {
      if (groups.has(device)) continue;
      this.samples.delete(device);
      this.dropFilesystemSeries(sample.filesystem);
    }
    const present = new Set([...groups.values()].flatMap((g) => g.resources));
    for (const resource of [...this.resourceLevels.keys()]) {
      if (present.has(resource)) continue;
      this.resourceLevels.delete(resource);
      this.deletedInPeriod.delete(resource);
      this.options.metrics.resourceLogSpaceLevel.remove(resource);
    }
  }

  private dropFilesystemSeries(fs: string): void {
    const { metrics } = this.options;
    for (const gauge of [metrics.logFsSizeBytes, metrics.logFsFreeBytes, metrics.logFsFreeRatio]) {
      gauge.remove(fs);
    }
    metrics.logSpaceLevel.remove(fs);
    for (const level of LOG_SPACE_LEVELS)
      if (level !== "ok") metrics.logSpaceThresholdBytes.remove(fs, level);
  }

  private announce(change: LogSpaceLevelChange): void {
    const worse = levelValue(change.level) > levelValue(change.previous);
    this.options.logger[worse ? "warn" : "info"](
      { ...change },
      `log space on ${change.filesystem}: ${change.previous} -> ${change.level}`,
    );
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger.error({ err: errorMessage(err) }, "log space listener failed");
      }
    }
  }

  private async deleteLogs(resource: string): Promise<void> {
    if (this.deletedInPeriod.get(resource) === this.period) return;
    this.deletedInPeriod.set(resource, this.period);
    try {
      const { deleted } = await this.options.deleteReplayedLogs(resource);
      if (deleted.length === 0) return;
      this.options.metrics.logSpaceDeletedFiles.labels(resource).inc(deleted.length);
      this.options.logger.info(
        { resource, deleted, level: this.resourceLevels.get(resource) },
        "log space low: deleted replayed log files",
      );
    } catch (err) {
      this.options.logger.warn(
        { resource, err: errorMessage(err) },
        "log space low: deleting replayed log files failed",
      );
    }
  }
}

function pick(sample: FilesystemSample): Omit<LogSpaceLevelChange, "previous"> {
  const { filesystem, resources, level, freeBytes, sizeBytes } = sample;
  return { filesystem, resources, level, freeBytes, sizeBytes };
}

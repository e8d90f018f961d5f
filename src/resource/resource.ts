/**
 * One replicated resource on this node, in the primary role: its backing
 * disk, its log stream, the ordered apply queue, the checkpointer and the
 * volume that frontends export.
 *
 * Opening a resource always runs crash recovery first (replay from the
 * checkpoint, cut a torn tail), then starts a fresh log file: a file that
 * was open during a crash is never appended to again (as MARS does).
 */
import { mkdir, rm, stat } from "node:fs/promises";
import type { Logger } from "pino";
import type { LamportClock } from "../cluster/clock.js";
import { listLogFiles } from "../log/log-directory.js";
import { formatLogName } from "../log/log-name.js";
import { LogStream, type FinishedLogFile, type LogPosition } from "../log/log-stream.js";
import { genesisVersion } from "../log/version.js";
import { DEFAULT_WRITER_LIMITS, type LogWriterLimits } from "../log/writer.js";
import type { Metrics } from "../metrics/metrics.js";
import type { RandomAccessFile, Storage } from "../storage/types.js";
import { ClosedError, errorMessage } from "../util/errors.js";
import { VolumeFailedError } from "./block-volume.js";
import { ApplyQueue } from "./apply-queue.js";
import { Checkpointer, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { recoverLog } from "./recovery.js";
import {
  readResourceConfig,
  resourceDir,
  writeResourceConfig,
  type ResourceConfig,
} from "./resource-config.js";
import { DEFAULT_VOLUME_OPTIONS, PrimaryVolume, type VolumeOptions } from "./volume.js";

export interface ResourceSettings {
  /** Rotate the log file when it reaches this size. */
  logRotateBytes: number;
  /** How often the applied position is synced and persisted. */
  checkpointIntervalMs: number;
  writerLimits: LogWriterLimits;
  volume: VolumeOptions;
}

export const DEFAULT_RESOURCE_SETTINGS: ResourceSettings = {
  logRotateBytes: 1024 * 1024 * 1024,
  checkpointIntervalMs: 1000,
  writerLimits: DEFAULT_WRITER_LIMITS,
  volume: DEFAULT_VOLUME_OPTIONS,
};

export interface ResourceDeps {
  dataDir: string;
  host: string;
  storage: Storage;
  clock: LamportClock;
  metrics: Metrics;
  logger: Logger;
  settings: ResourceSettings;
  /** The log or disk failed for good; the daemon must restart and recover. */
  onFatal: (resource: string, err: unknown) => void;
}

export type ResourceState = "running" | "failed" | "closed";

export interface PositionStatus {
  file: string;
  offsetBytes: number;
  streamBytes: number;
}

export interface ResourceStatus {
  name: string;
  role: "primary";
  state: ResourceState;
  error?: string;
  sizeBytes: number;
  disk: { path: string; sizeBytes: number };
  log: {
    currentFile?: string;
    files: Array<{ name: string; sizeBytes: number }>;
    durable?: PositionStatus;
    applied?: PositionStatus;
    checkpoint?: PositionStatus;
    pendingBytes: number;
    recovery: { replayedBytes: number; tornBytes: number };
  };
}

function positionStatus(p: LogPosition | undefined): PositionStatus | undefined {
  return p && { file: formatLogName(p), offsetBytes: p.offsetBytes, streamBytes: p.streamBytes };
}

export class Resource {
  private stateValue: ResourceState = "running";
  private failure: string | undefined;
  private log: LogStream | undefined;
  private volumeValue: PrimaryVolume | undefined;
  private applier: ApplyQueue | undefined;
  private checkpointer: Checkpointer | undefined;
  private recovery = { replayedBytes: 0, tornBytes: 0 };

  private constructor(
    readonly config: ResourceConfig,
    readonly dir: string,
    private readonly backing: RandomAccessFile,
    private readonly diskSizeBytes: number,
    private readonly deps: ResourceDeps,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get state(): ResourceState {
    return this.stateValue;
  }

  /** The exported volume; undefined unless running. */
  get volume(): PrimaryVolume | undefined {
    return this.stateValue === "running" ? this.volumeValue : undefined;
  }

  /** Creates the resource's directory and config, then opens it. */
  static async create(config: ResourceConfig, deps: ResourceDeps): Promise<Resource> {
    const dir = resourceDir(deps.dataDir, config.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeResourceConfig(dir, config);
    return Resource.open(dir, deps);
  }

  /**
   * Opens an existing resource and recovers it. Never throws for a damaged
   * log: the resource then comes up in the "failed" state with the reason,
   * so the operator sees it in resource.status.
   */
  static async open(dir: string, deps: ResourceDeps): Promise<Resource> {
    const config = await readResourceConfig(dir);
    if (!config) throw new Error(`${dir} has no resource configuration`);
    const backing = await deps.storage.open(config.disk, "readwrite");
    const diskSizeBytes = await backing.sizeBytes();
    const resource = new Resource(config, dir, backing, diskSizeBytes, deps);
    deps.metrics.resourceSizeBytes.labels(config.name).set(config.sizeBytes);
    try {
      await resource.start();
      deps.metrics.resourceFailed.labels(config.name).set(0);
    } catch (err) {
      resource.markFailed(err);
    }
    return resource;
  }

  private async start(): Promise<void> {
    const { deps, config } = this;
    const checkpoint = await readCheckpoint(this.dir);
    const recovered = await recoverLog({
      dir: this.dir,
      resource: config.name,
      storage: deps.storage,
      backing: this.backing,
      checkpoint,
    });
    this.recovery = { replayedBytes: recovered.replayedBytes, tornBytes: recovered.tornBytes };
    deps.metrics.resourceRecoveredBytes.labels(config.name).inc(recovered.replayedBytes);
    if (recovered.replayedBytes > 0 || recovered.tornBytes > 0) {
      deps.logger.info(
        { resource: config.name, replayedBytes: recovered.replayedBytes, tornBytes: recovered.tornBytes },
        "recovered the log onto the disk",
      );
    }
    const end = recovered.endPosition;
    if (end) await writeCheckpoint(this.dir, end);

    const log = await LogStream.start(
      {
        dir: this.dir,
        resource: config.name,
        host: deps.host,
        storage: deps.storage,
        clock: deps.clock,
        limits: deps.settings.writerLimits,
        rotateBytes: deps.settings.logRotateBytes,
        observer: deps.metrics.logObserver(config.name, deps.settings.writerLimits.maxPendingBytes),
        onFileFinished: (file) => this.fileFinished(file),
        onFailed: (err) => this.fatal(err),
      },
      (end?.fileNumber ?? 0) + 1,
      end?.streamBytes ?? 0,
      recovered.lastVersion ?? genesisVersion(config.name, config.createdStampUs),
    );
    this.log = log;
    const startPosition = log.durablePosition();
    const appliedGauge = deps.metrics.resourceAppliedPosition.labels(config.name);
    const applier = new ApplyQueue(this.backing, startPosition, (p) => appliedGauge.set(p.streamBytes));
    this.applier = applier;
    deps.metrics.watchApplyBacklog(
      config.name,
      deps.settings.volume.maxApplyBacklogBytes,
      () => applier.inFlightBytes,
    );
    this.checkpointer = new Checkpointer(
      this.dir,
      this.backing,
      () => this.applier?.appliedPosition,
      deps.settings.checkpointIntervalMs,
      (p) => deps.metrics.resourceCheckpointPosition.labels(config.name).set(p.streamBytes),
      (err) => this.fatal(err),
      end,
    );
    this.checkpointer.start();
    this.volumeValue = new PrimaryVolume(
      config.name,
      config.sizeBytes,
      this.backing,
      log,
      this.applier,
      deps.settings.volume,
      (err) => this.fatal(err),
    );
    log.currentWriter.on("durable", () => this.updatePositionMetrics());
    this.updatePositionMetrics();
  }

  private fileFinished(file: FinishedLogFile): void {
    this.deps.metrics.logRotations.labels(this.name).inc();
    this.deps.logger.info(
      { resource: this.name, file: formatLogName(file.name), lengthBytes: file.lengthBytes },
      "log file finished",
    );
    this.log?.currentWriter.on("durable", () => this.updatePositionMetrics());
  }

  private updatePositionMetrics(): void {
    const m = this.deps.metrics;
    if (this.log) m.logDurablePosition.labels(this.name).set(this.log.durablePosition().streamBytes);
    const applied = this.applier?.appliedPosition;
    if (applied) m.resourceAppliedPosition.labels(this.name).set(applied.streamBytes);
  }

  private markFailed(err: unknown): void {
    this.stateValue = "failed";
    this.failure = errorMessage(err);
    this.volumeValue?.stopWrites(new VolumeFailedError(`${this.name} failed: ${this.failure}`));
    this.deps.metrics.resourceFailed.labels(this.name).set(1);
    this.deps.logger.error({ resource: this.name, err }, "resource failed");
  }

  /** A failure of the log or the disk at runtime: stop writes and let the daemon restart. */
  private fatal(err: unknown): void {
    if (this.stateValue !== "running") return;
    this.markFailed(err);
    this.deps.onFatal(this.name, err);
  }

  /** Finishes the current log file and starts the next. */
  async rotateLog(): Promise<FinishedLogFile | undefined> {
    if (!this.log || this.stateValue !== "running") throw new Error(`${this.name} is not running`);
    return this.log.rotate();
  }

  async status(): Promise<ResourceStatus> {
    const files = await listLogFiles(this.dir);
    const sized = await Promise.all(
      files.map(async (f) => ({
        name: f.fileName,
        sizeBytes: (await stat(f.path).catch(() => ({ size: 0 }))).size,
      })),
    );
    this.deps.metrics.logFiles.labels(this.name).set(files.length);
    return {
      name: this.name,
      role: "primary",
      state: this.stateValue,
      ...(this.failure !== undefined ? { error: this.failure } : {}),
      sizeBytes: this.config.sizeBytes,
      disk: { path: this.config.disk, sizeBytes: this.diskSizeBytes },
      log: {
        currentFile: this.log ? formatLogName(this.log.current) : undefined,
        files: sized,
        durable: positionStatus(this.log?.durablePosition()),
        applied: positionStatus(this.applier?.appliedPosition),
        checkpoint: positionStatus(this.checkpointer?.position),
        pendingBytes: this.log
          ? this.log.currentWriter.projectedEndBytes - this.log.currentWriter.durableOffsetBytes
          : 0,
        recovery: this.recovery,
      },
    };
  }

  /**
   * Stops the resource: no new writes, in-flight work drained, the log
   * finished durably, a final checkpoint written, files closed.
   */
  async close(): Promise<void> {
    if (this.stateValue === "closed") return;
    const wasRunning = this.stateValue === "running";
    this.stateValue = "closed";
    this.volumeValue?.stopWrites(new ClosedError(`${this.name} is stopping`));
    await this.volumeValue?.idle();
    await this.checkpointer?.stop();
    if (wasRunning) {
      await this.log?.close();
      await this.applier?.idle();
      await this.checkpointer?.checkpointNow();
    } else {
      await this.log?.close().catch(() => undefined);
    }
    await this.backing.close();
  }

  /** Closes the resource and removes its directory (log files, config). The disk is left as it is. */
  async destroy(): Promise<void> {
    await this.close().catch((err: unknown) =>
      this.deps.logger.warn({ resource: this.name, err }, "closing a resource being deleted failed"),
    );
    await rm(this.dir, { recursive: true, force: true });
    await this.deps.metrics.forgetResource(this.name);
  }
}

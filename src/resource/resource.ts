/**
 * One resource on this node, in whatever role the cluster state gives it.
 *
 * Both roles share the backing disk, the local log files, the ordered apply
 * queue and the checkpoint (how far the log is applied and synced here).
 *
 * - primary: writes go through the log (durable) to the disk
 *   (PrimaryVolume); the frontend exports the volume.
 * - secondary: the fetcher pulls log files into local copies, the replayer
 *   applies them in order, and a joining member first copies the disk
 *   (full sync). The disk is always a prefix of the primary's history,
 *   except during that first copy (then it is marked Inconsistent).
 *
 * Role changes follow the designated primary in the cluster state
 * (`resource/<res>/primary`), serialised one at a time:
 *
 * - designated elsewhere while we are primary: step down. Writes stop, the
 *   frontend lets go, the current log file is finished (its version
 *   published), and we become a secondary of the new primary.
 * - designated here while we are secondary (planned handover): wait until
 *   the old primary's last file is complete here and replayed, then start
 *   the next log file, continuing its version. No acknowledged write is lost.
 * - forced (`makePrimary({force})`, the old primary unreachable): apply
 *   whatever is here, "cut" the last file at what we have (its version as
 *   held here), and continue from there. If the old primary wrote more, the
 *   two histories now differ and every node will see it (split brain).
 *
 * Opening a resource recovers it: replay from the checkpoint (cutting a
 * torn tail of our own last file), and a file that was being written when
 * we crashed is never appended to again.
 */
import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import type { Logger } from "pino";
import type { LamportClock } from "../cluster/clock.js";
import { Keys } from "../cluster/keys.js";
import type { StateEntry, StateStore } from "../cluster/state-store.js";
import { formatLogName, parseLogName } from "../log/log-name.js";
import { LogStream, type FinishedLogFile, type LogPosition } from "../log/log-stream.js";
import { scanLogFile } from "../log/scanner.js";
import { genesisVersion, type VersionEntry } from "../log/version.js";
import type { LogWriterLimits } from "../log/writer.js";
import type { Metrics } from "../metrics/metrics.js";
import type { PeerClient, PeerCredentials } from "../peer/client.js";
import { Fetcher, type FetchProgress } from "../replication/fetcher.js";
import { SyncClient } from "../replication/full-sync.js";
import { LocalLogs } from "../replication/local-logs.js";
import { Replayer } from "../replication/replayer.js";
import {
  isPublishedStatus,
  secondaryStates,
  type PublishedStatus,
  type Role,
} from "../replication/status.js";
import {
  detectForks,
  plannedTakeOverBlocker,
  type FilePosition,
  type Fork,
  type MemberHistory,
} from "../replication/history.js";
import { isVersionEntry, versionKeyPart } from "../replication/version.js";
import type { Clock } from "../platform/clock.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import { ClosedError, OperatorError, errorMessage } from "../util/errors.js";
import { VolumeFailedError } from "./block-volume.js";
import { ApplyQueue } from "./apply-queue.js";
import { Checkpointer, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { UnavailableDisk, diskFailureReason, openResourceDisk } from "./disk.js";
import { recover } from "./recovery.js";
import {
  readResourceConfig,
  resourceDir,
  writeResourceConfig,
  type ResourceConfig,
} from "./resource-config.js";
import {
  ResourceFiles,
  positionAtOrAfter,
  type FetchFile,
  type PauseFile,
  type SyncFile,
} from "./resource-files.js";
import { positionStatus } from "./resource-types.js";
import { PrimaryVolume, type VolumeOptions } from "./volume.js";

export interface ResourceSettings {
  logRotateBytes: number;
  checkpointIntervalMs: number;
  writerLimits: LogWriterLimits;
  volume: VolumeOptions;
  /** Fetched bytes are synced at least this often while data keeps coming. */
  fetchSyncEveryBytes: number;
  /** Long-poll for the next log file. */
  listWaitMs: number;
  retryMaxMs: number;
  replayMaxInFlight: number;
  /** Positions are published to the cluster at most this often (discrete changes at once). */
  statusPublishMs: number;
}

/** What a resource needs of the cluster layer. */
export interface ResourceCluster {
  state: StateStore;
  client: PeerClient;
  credentials(): PeerCredentials | undefined;
  addressOf(host: string): string | undefined;
  isAlive(host: string): boolean;
  /** A pull from `host` was answered since this process started (start-up confirmation). */
  exchangedSinceStart(host: string): boolean;
  /** `listener` runs after every answered pull. */
  onStateExchanged(listener: (host: string) => void): void;
  /** Pulls from every member now; resolves when each pull ended (failures included). */
  catchUp(): Promise<void>;
}

/** What a resource needs of the frontends. */
export interface FrontendHooks {
  attach(resource: Resource, volume: PrimaryVolume): Promise<void>;
  detach(name: string): Promise<void>;
}

export interface ResourceDeps {
  dataDir: string;
  host: string;
  storage: Storage;
  clock: LamportClock;
  time: Clock;
  metrics: Metrics;
  logger: Logger;
  settings: ResourceSettings;
  cluster: ResourceCluster;
  frontend: FrontendHooks;
  /** The log or disk failed for good; the daemon must restart and recover. */
  onFatal: (resource: string, err: unknown) => void;
}

export type ResourceState = "running" | "failed" | "closed";
export type PauseWhat = keyof PauseFile;

interface PrimaryParts {
  log: LogStream;
  volume: PrimaryVolume;
}

interface SecondaryParts {
  fetcher: Fetcher;
  replayer: Replayer;
  sync: SyncClient | undefined;
}

export interface ResourceEvents {
  /** Something visible in the status changed. */
  changed: [];
}

export class Resource extends EventEmitter<ResourceEvents> {
  private stateValue: ResourceState = "running";
  private failure: string | undefined;
  private roleValue: Role = "secondary";
  private primary: PrimaryParts | undefined;
  private secondary: SecondaryParts | undefined;
  private becomingPrimary = false;
  /** Why a pending take-over cannot complete yet (shown in status). */
  private takeOverBlockedBy: string | undefined;
  /** start() has taken up the role: role changes may run. */
  private started = false;
  /** The frontend serves our volume (set after attach, cleared before detach). */
  private exported = false;
  private transitions: Promise<unknown> = Promise.resolve();
  private statusTimer: NodeJS.Timeout | undefined;
  private lastPublished = 0;
  readonly logs: LocalLogs;
  readonly files: ResourceFiles;
  private applier: ApplyQueue;
  private checkpointer: Checkpointer;
  private syncFile: SyncFile;
  private pauseFile: PauseFile;
  private recovery = { replayedBytes: 0, tornBytes: 0 };
  /** The disk could not be opened: start() fails the resource with this. */
  private diskProblem: Error | undefined;

  private constructor(
    readonly config: ResourceConfig,
    readonly dir: string,
    private readonly backing: RandomAccessFile,
    private readonly diskSizeBytes: number,
    private readonly deps: ResourceDeps,
    checkpoint: LogPosition | undefined,
    syncFile: SyncFile,
    pauseFile: PauseFile,
  ) {
    super();
    this.logs = new LocalLogs(dir, deps.storage);
    this.files = new ResourceFiles(dir);
    const appliedGauge = deps.metrics.resourceAppliedPosition.labels(config.name);
    const applier = new ApplyQueue(backing, checkpoint, (p) => {
      appliedGauge.set(p.streamBytes);
      // The disk write that passes the sync end may complete after the
      // replayer's last progress event: check here too, or an idle replica
      // would stay Inconsistent.
      this.checkConsistent(p);
    });
    this.applier = applier;
    deps.metrics.watchResource(config.name, deps.settings.volume.maxApplyBacklogBytes, {
      applyBacklogBytes: () => applier.inFlightBytes,
      applyDirectIo: () => backing.directWrites === true,
      role: () => this.roleValue,
      paused: () => this.pauseFile,
      logFiles: () => this.logs.list().length,
      splitBrain: () => this.splitBrain() !== undefined,
    });
    this.syncFile = syncFile;
    this.pauseFile = pauseFile;
    this.logs.on("finished", () => this.progressed());
    this.checkpointer = new Checkpointer(
      dir,
      backing,
      () => this.applier.appliedPosition,
      deps.settings.checkpointIntervalMs,
      (p) => deps.metrics.resourceCheckpointPosition.labels(config.name).set(p.streamBytes),
      (err) => this.fatal(err),
      checkpoint,
    );
  }

  get name(): string {
    return this.config.name;
  }

  get state(): ResourceState {
    return this.stateValue;
  }

  get role(): Role {
    return this.roleValue;
  }

  private get host(): string {
    return this.deps.host;
  }

  private get state_(): StateStore {
    return this.deps.cluster.state;
  }

  /** The exported volume: only while this node is the running primary. */
  get volume(): PrimaryVolume | undefined {
    return this.stateValue === "running" ? this.primary?.volume : undefined;
  }

  /** The primary's durable log position (for sync: every write half in a copy is before it). */
  durablePosition(): LogPosition {
    if (!this.primary) throw new OperatorError("NOT_PRIMARY", `${this.name} is not primary here`);
    return this.primary.log.durablePosition();
  }

  /** Primary here, with the volume exported by its frontend. */
  get isServingPrimary(): boolean {
    return this.roleValue === "primary" && this.exported && this.stateValue === "running";
  }

  get consistent(): boolean {
    return this.syncFile.consistent;
  }

  // --- creation and opening -------------------------------------------------

  /** A new resource with this node as its primary; the disk's content is the initial content. */
  static async create(config: ResourceConfig, deps: ResourceDeps): Promise<Resource> {
    const dir = resourceDir(deps.dataDir, config.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const files = new ResourceFiles(dir);
    await files.writeSync({
      state: "done",
      doneBytes: config.sizeBytes,
      totalBytes: config.sizeBytes,
      consistent: true,
    });
    await writeResourceConfig(dir, config);
    return Resource.open(dir, deps);
  }

  /**
   * Joins an existing resource as a secondary: full sync of the disk, and
   * replay from the start of the primary's current log file (`startFile`).
   */
  static async join(config: ResourceConfig, startFile: string, deps: ResourceDeps): Promise<Resource> {
    const dir = resourceDir(deps.dataDir, config.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const start = parseLogName(startFile);
    if (!start) throw new Error(`bad start file ${startFile}`);
    const files = new ResourceFiles(dir);
    await files.writeSync({
      state: "syncing",
      doneBytes: 0,
      totalBytes: config.sizeBytes,
      consistent: false,
    });
    await files.writeFetch({ file: startFile, verifiedBytes: 0, nextSeq: 0, finished: false });
    await writeCheckpoint(dir, { ...start, offsetBytes: 0, nextSeq: 0, streamBytes: 0 });
    await writeResourceConfig(dir, config);
    return Resource.open(dir, deps);
  }

  /** Opens a resource's files and disk; start() recovers it and takes up its role. */
  static async open(dir: string, deps: ResourceDeps): Promise<Resource> {
    const config = await readResourceConfig(dir);
    if (!config) throw new Error(`${dir} has no resource configuration`);
    // A disk that is missing, replaced, busy or unreadable fails this
    // resource only (start() reports why), never the daemon's start-up.
    let diskProblem: unknown;
    const backing = await openResourceDisk(config.disk, config.diskIdentity, deps.storage).catch(
      (err: unknown) => {
        diskProblem = err;
        return new UnavailableDisk(config.disk, diskFailureReason(config.disk, err));
      },
    );
    const diskSizeBytes = await backing.sizeBytes();
    const files = new ResourceFiles(dir);
    const syncFile = (await files.readSync()) ?? {
      state: "done",
      doneBytes: config.sizeBytes,
      totalBytes: config.sizeBytes,
      consistent: true,
    };
    const resource = new Resource(
      config,
      dir,
      backing,
      diskSizeBytes,
      deps,
      await readCheckpoint(dir),
      syncFile,
      await files.readPause(),
    );
    if (diskProblem !== undefined)
      resource.diskProblem = new Error(diskFailureReason(config.disk, diskProblem), { cause: diskProblem });
    deps.metrics.resourceSizeBytes.labels(config.name).set(config.sizeBytes);
    deps.metrics.replicationSyncTotalBytes.labels(config.name).set(syncFile.totalBytes);
    deps.metrics.replicationSyncDoneBytes.labels(config.name).set(syncFile.doneBytes);
    return resource;
  }

  /**
   * Recovers and starts the resource in the role the cluster state gives
   * it. Separate from open() so that the manager registers the resource
   * first: a change of the designated primary that arrives during recovery
   * then reaches us instead of being dropped. Never throws for a damaged
   * log or disk: the resource then comes up "failed" with the reason,
   * visible in resource.status.
   */
  async start(): Promise<void> {
    await this.enqueue(async () => {
      try {
        if (this.diskProblem) throw this.diskProblem;
        await this.logs.load();
        await this.startRole();
        this.started = true;
        this.deps.metrics.resourceFailed.labels(this.name).set(0);
      } catch (err) {
        this.markFailed(err);
      }
    });
    this.statusTimer = setInterval(() => this.publishStatus(false), this.deps.settings.statusPublishMs);
    this.statusTimer.unref();
    this.publishStatus(true);
    if (this.becomingPrimary) this.reconsider();
  }

  // --- cluster state --------------------------------------------------------

  designatedPrimary(): string | undefined {
    const value = this.state_.value<string | null>(Keys.resourcePrimary(this.name));
    return typeof value === "string" ? value : undefined;
  }

  /** Hosts holding a replica (member entry present, not evicted). */
  members(): string[] {
    const prefix = `resource/${this.name}/host/`;
    const hosts: string[] = [];
    for (const e of this.state_.list(prefix)) {
      const m = /^resource\/[^/]+\/host\/([^/]+)\/member$/.exec(e.key);
      if (m && !this.isEvicted(m[1] as string)) hosts.push(m[1] as string);
    }
    return hosts.sort();
  }

  isEvicted(host: string): boolean {
    return this.state_.value<boolean>(Keys.resourceEvicted(this.name, host)) === true;
  }

  publishedStatusOf(host: string): PublishedStatus | undefined {
    const v = this.state_.value(Keys.resourceHost(this.name, host, "status"));
    return isPublishedStatus(v) ? v : undefined;
  }

  /** Version entries of every member: host -> file number -> entry. */
  versionEntries(): Map<string, Map<number, VersionEntry>> {
    const out = new Map<string, Map<number, VersionEntry>>();
    for (const e of this.state_.list(`resource/${this.name}/host/`)) {
      const m = /^resource\/[^/]+\/host\/([^/]+)\/version\/(\d+)$/.exec(e.key);
      if (!m || !isVersionEntry(e.value) || this.isEvicted(m[1] as string)) continue;
      const host = m[1] as string;
      let byNumber = out.get(host);
      if (!byNumber) out.set(host, (byNumber = new Map<number, VersionEntry>()));
      byNumber.set(Number(m[2]), e.value);
    }
    return out;
  }

  /**
   * Every member's history as this node knows it (src/replication/history.ts):
   * our own from what we hold now, the others' from their version entries
   * and the positions in their published status.
   */
  memberHistories(): MemberHistory[] {
    const versions = this.versionEntries();
    const hosts = new Set(this.members());
    hosts.add(this.host);
    return [...hosts].sort().map((host) => {
      if (host === this.host) {
        const own: LogPosition[] = [];
        if (this.applier.appliedPosition) own.push(this.applier.appliedPosition);
        if (this.primary) own.push(this.primary.log.durablePosition());
        return {
          host,
          versions: versions.get(host) ?? new Map<number, VersionEntry>(),
          positions: own.map((p) => ({
            fileNumber: p.fileNumber,
            file: formatLogName(p),
            offsetBytes: p.offsetBytes,
          })),
          role: this.roleValue,
        };
      }
      const status = this.publishedStatusOf(host);
      const positions: FilePosition[] = [];
      for (const p of [status?.durable, status?.applied]) {
        const fileNumber = p ? parseLogName(p.file)?.fileNumber : undefined;
        if (p && fileNumber !== undefined)
          positions.push({ fileNumber, file: p.file, offsetBytes: p.offsetBytes });
      }
      return {
        host,
        versions: versions.get(host) ?? new Map<number, VersionEntry>(),
        positions,
        ...(status ? { role: status.role } : {}),
      };
    });
  }

  /** Every fork among the members' histories that this node can see. */
  forks(): Fork[] {
    return detectForks(this.memberHistories());
  }

  /** The first fork, if any. */
  splitBrain(): Fork | undefined {
    return this.forks()[0];
  }

  /** Called by the manager for every change under resource/<name>/. */
  onStateChange(entry: StateEntry): void {
    if (this.stateValue !== "running") return;
    if (entry.key === Keys.resourcePrimary(this.name)) {
      // Never follow a host that is no longer designated, not even for the rest of a stream.
      this.secondary?.fetcher.reconsiderSource();
      this.reconsider();
    } else if (
      entry.key.includes("/version/") ||
      entry.key.endsWith("/status") ||
      entry.key.endsWith("/member")
    ) {
      // Another member's history moved: a pending take-over may now complete.
      if (this.becomingPrimary && entry.owner !== this.host) this.reconsider();
      this.emit("changed");
    }
  }

  /** We answered-pulled `host`'s state: a take-over waiting for confirmation may complete. */
  onStateExchanged(): void {
    if (this.becomingPrimary) this.reconsider();
  }

  /** Brings the role in line with the cluster state, after whatever runs now. */
  private reconsider(): void {
    this.enqueue(() => this.reconcile()).catch((err: unknown) =>
      this.deps.logger.error({ resource: this.name, err }, "role change failed"),
    );
  }

  private publishVersion(entry: VersionEntry): void {
    const n = parseLogName(entry.file)?.fileNumber;
    if (n === undefined) return;
    this.state_.set(Keys.resourceHost(this.name, this.host, `version/${versionKeyPart(n)}`), entry);
  }

  // --- roles ----------------------------------------------------------------

  /** Runs role changes one at a time. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.transitions.then(work, work);
    this.transitions = run.catch(() => undefined);
    return run;
  }

  private async startRole(): Promise<void> {
    if (this.designatedPrimary() !== this.host) {
      await this.startSecondary();
      return;
    }
    const newest = this.logs.newest();
    const handoverPending =
      newest !== undefined && newest.host !== this.host && !(await this.isLocallyFinished(newest.name));
    const others = this.members().filter((h) => h !== this.host);
    if (others.length === 0 && !handoverPending) {
      await this.takeOver({ cut: false });
      return;
    }
    // Designated here when we stopped. The designation may have moved while
    // we were down (a forced failover elsewhere): export nothing until we
    // have heard every other member, then take over only by the planned
    // rule (reconcile), exactly as in a handover.
    await this.startSecondary();
    this.becomingPrimary = true;
    this.deps.logger.info(
      { resource: this.name, members: others },
      "designated primary at start: confirming with the other members before exporting",
    );
  }

  /** Whether a local file is complete (a later file exists, or fetch progress says so). */
  private async isLocallyFinished(name: string): Promise<boolean> {
    const number = parseLogName(name)?.fileNumber ?? 0;
    if (this.logs.list().some((f) => f.fileNumber > number)) return true;
    const fetch = await this.files.readFetch();
    return fetch?.file === name && fetch.finished;
  }

  /**
   * Becomes primary with the log present here: apply it all, then start the
   * next file. `cut`: the last file may be incomplete (forced failover); it
   * is finished at what we hold.
   */
  private async takeOver(options: { cut: boolean }): Promise<void> {
    const { deps } = this;
    const newest = this.logs.newest();
    let nextNumber = 1;
    let streamStart = 0;
    let prevVersion = genesisVersion(this.name, this.config.createdStampUs);
    if (newest) {
      const recovered = await recover({
        resource: this.name,
        logs: this.logs,
        storage: deps.storage,
        applier: this.applier,
        checkpoint: this.applier.appliedPosition,
        host: this.host,
        metrics: deps.metrics,
        logger: deps.logger,
        maxInFlight: deps.settings.replayMaxInFlight,
        onFileReplayed: (v) => this.publishVersion(v),
      });
      const position = recovered.endPosition as LogPosition;
      const lastVersion = recovered.lastVersion as VersionEntry;
      this.recovery = { replayedBytes: recovered.replayedBytes, tornBytes: recovered.tornBytes };
      deps.metrics.resourceRecoveredBytes.labels(this.name).inc(recovered.replayedBytes);
      if (recovered.replayedBytes > 0 || recovered.tornBytes > 0) {
        deps.logger.info({ resource: this.name, ...this.recovery }, "recovered the log onto the disk");
      }
      if (!options.cut && newest.host !== this.host && !(await this.isLocallyFinished(newest.name))) {
        throw new Error(`${newest.name} is not complete here; only a forced failover may cut it`);
      }
      await this.checkpointer.checkpointNow();
      await writeCheckpoint(this.dir, position);
      this.logs.markFinished(lastVersion.file);
      this.publishVersion(lastVersion);
      nextNumber = position.fileNumber + 1;
      streamStart = position.streamBytes;
      prevVersion = lastVersion.version;
    }
    const log = await LogStream.start(
      {
        dir: this.dir,
        resource: this.name,
        host: this.host,
        storage: deps.storage,
        clock: deps.clock,
        time: deps.time,
        limits: deps.settings.writerLimits,
        rotateBytes: deps.settings.logRotateBytes,
        observer: deps.metrics.logObserver(this.name, deps.settings.writerLimits.maxPendingBytes),
        onFileFinished: (file) => this.fileFinished(file),
        onFailed: (err) => this.fatal(err),
        onFileStarted: (writer) => {
          const name = formatLogName(writer.header);
          this.logs.add(name, writer.durableOffsetBytes);
          writer.on("durable", (end) => {
            this.logs.grow(name, end);
            deps.metrics.logDurablePosition.labels(this.name).set(writer.header.streamStartBytes + end);
          });
        },
      },
      nextNumber,
      streamStart,
      prevVersion,
    );
    const volume = new PrimaryVolume(
      this.name,
      this.config.sizeBytes,
      this.backing,
      log,
      this.applier,
      deps.settings.volume,
      (err) => this.fatal(err),
    );
    this.applier.markApplied(log.durablePosition());
    this.primary = { log, volume };
    this.roleValue = "primary";
    this.becomingPrimary = false;
    this.checkpointer.start();
    await this.files.writeFetch({
      file: formatLogName(log.current),
      verifiedBytes: 0,
      nextSeq: 0,
      finished: false,
    });
    deps.logger.info({ resource: this.name, file: formatLogName(log.current), cut: options.cut }, "primary");
    await deps.frontend.attach(this, volume);
    this.exported = true;
    this.publishStatus(true);
    this.emit("changed");
  }

  private fileFinished(file: FinishedLogFile): void {
    const name = formatLogName(file.name);
    this.deps.metrics.logRotations.labels(this.name).inc();
    this.logs.rememberVersion(file.versionEntry);
    this.logs.markFinished(name);
    this.logs.version(name).then(
      (v) => this.publishVersion(v),
      (err: unknown) =>
        this.deps.logger.error({ resource: this.name, file: name, err }, "cannot compute a file version"),
    );
  }

  /** Starts fetching, replaying and (if needed) syncing. */
  private async startSecondary(): Promise<void> {
    const { deps } = this;
    const fetch = await this.prepareFetch();
    const start = this.applier.appliedPosition ?? {
      ...(parseLogName(fetch.file) as { fileNumber: number; host: string }),
      offsetBytes: 0,
      nextSeq: 0,
      streamBytes: 0,
    };
    const replayer = this.makeReplayer(start);
    const fetcher = new Fetcher(
      {
        resource: this.name,
        host: this.host,
        logs: this.logs,
        storage: deps.storage,
        time: deps.time,
        client: deps.cluster.client,
        credentials: () => deps.cluster.credentials(),
        addressOf: (h) => deps.cluster.addressOf(h),
        designatedPrimary: () => this.designatedPrimary(),
        saveProgress: (p: FetchProgress) => this.files.writeFetch(p),
        metrics: deps.metrics,
        logger: deps.logger,
        syncEveryBytes: deps.settings.fetchSyncEveryBytes,
        listWaitMs: deps.settings.listWaitMs,
        retryMaxMs: deps.settings.retryMaxMs,
      },
      fetch,
    );
    fetcher.on("state", () => this.progressed());
    fetcher.on("remote", () => this.progressed());
    replayer.on("progress", () => this.progressed());
    replayer.on("state", () => this.progressed());
    let sync: SyncClient | undefined;
    if (this.syncFile.state === "syncing") {
      sync = new SyncClient(
        {
          resource: this.name,
          disk: this.backing,
          sizeBytes: this.config.sizeBytes,
          time: deps.time,
          client: deps.cluster.client,
          credentials: () => deps.cluster.credentials(),
          source: () => {
            const p = this.designatedPrimary();
            const address = p && p !== this.host ? deps.cluster.addressOf(p) : undefined;
            return p && address ? { host: p, address } : undefined;
          },
          saveProgress: async (doneBytes, syncEnd) => {
            this.syncFile = { ...this.syncFile, doneBytes, ...(syncEnd ? { syncEnd } : {}) };
            await this.files.writeSync(this.syncFile);
            this.progressed();
          },
          metrics: deps.metrics,
          logger: deps.logger,
          retryMaxMs: deps.settings.retryMaxMs,
        },
        this.syncFile.doneBytes,
        (syncEnd) => {
          this.syncFinished(syncEnd).catch((err: unknown) => this.fatal(err));
        },
      );
    }
    this.secondary = { fetcher, replayer, sync };
    this.roleValue = "secondary";
    if (!this.pauseFile.fetch) fetcher.start();
    else fetcher.setPaused(true);
    if (sync) {
      if (this.pauseFile.sync) sync.setPaused(true);
      sync.start();
    } else if (!this.pauseFile.replay) {
      replayer.follow();
    }
    this.checkpointer.start();
    this.publishStatus(true);
  }

  /**
   * Where fetching resumes: the persisted progress, with the tail of a file
   * that was being fetched re-verified (bytes written but not yet synced
   * when we crashed may be torn).
   */
  private async prepareFetch(): Promise<FetchFile> {
    const newest = this.logs.newest();
    const saved = await this.files.readFetch();
    for (const f of this.logs.list()) if (f !== newest) this.logs.markFinished(f.name);
    if (!newest) {
      if (!saved) throw new Error("nothing to fetch: no log file and no fetch position");
      return { ...saved, verifiedBytes: 0, nextSeq: 0, finished: false };
    }
    const fromSaved = saved?.file === newest.name;
    const start = fromSaved
      ? { offsetBytes: saved.verifiedBytes, seq: saved.nextSeq }
      : { offsetBytes: 0, seq: 0 };
    const file = await this.deps.storage.open(newest.path, "readwrite");
    let length: number;
    let nextSeq: number;
    try {
      const outcome = await scanLogFile(file, {
        fromOffsetBytes: Math.min(start.offsetBytes, newest.lengthBytes),
        expectedSeq: start.offsetBytes === 0 ? undefined : start.seq,
      });
      if (outcome.status === "corrupt") throw new Error(`${newest.name}: ${outcome.reason}`);
      length = outcome.endOffsetBytes;
      nextSeq = outcome.nextSeq;
      if (outcome.status === "torn") {
        await file.truncate(length);
        await file.datasync();
      }
    } finally {
      await file.close();
    }
    this.logs.setLength(newest.name, length);
    const own = newest.host === this.host;
    // Our own last file is finished once we are no longer its writer (crash or step-down).
    const finished = own || (fromSaved && saved.finished);
    if (finished) {
      this.logs.markFinished(newest.name);
      if (own) this.publishVersion(await this.logs.version(newest.name));
    }
    const progress = { file: newest.name, verifiedBytes: length, nextSeq, finished };
    await this.files.writeFetch(progress);
    return progress;
  }

  private makeReplayer(start: LogPosition): Replayer {
    return new Replayer(
      {
        resource: this.name,
        logs: this.logs,
        storage: this.deps.storage,
        applier: this.applier,
        metrics: this.deps.metrics,
        logger: this.deps.logger,
        onFileReplayed: (v) => this.publishVersion(v),
        maxInFlight: this.deps.settings.replayMaxInFlight,
      },
      start,
    );
  }

  private async syncFinished(syncEnd: LogPosition): Promise<void> {
    this.syncFile = { ...this.syncFile, state: "done", doneBytes: this.config.sizeBytes, syncEnd };
    await this.files.writeSync(this.syncFile);
    this.deps.logger.info(
      { resource: this.name, syncEnd: formatLogName(syncEnd) },
      "full sync done; replaying",
    );
    if (this.secondary) {
      this.secondary.sync = undefined;
      if (!this.pauseFile.replay) this.secondary.replayer.follow();
    }
    this.progressed();
  }

  /** A replica becomes consistent once its applied position passes the sync end. */
  private checkConsistent(applied: LogPosition | undefined): void {
    const { syncFile } = this;
    if (!this.secondary || syncFile.consistent || syncFile.state !== "done" || !syncFile.syncEnd) return;
    if (!applied || !positionAtOrAfter(applied, syncFile.syncEnd)) return;
    this.syncFile = { ...syncFile, consistent: true };
    this.files.writeSync(this.syncFile).catch((err: unknown) => this.fatal(err));
    this.deps.logger.info({ resource: this.name }, "replica is consistent");
    this.publishStatus(true);
    this.emit("changed");
  }

  /** Fetch/replay/sync moved: check consistency, a pending take-over, publish. */
  private progressed(): void {
    this.checkConsistent(this.applier.appliedPosition);
    if (this.becomingPrimary) {
      this.reconsider();
    }
    this.publishStatus(false);
    this.emit("changed");
  }

  /** Brings the role in line with the designated primary. Runs inside enqueue(). */
  private async reconcile(): Promise<void> {
    if (this.stateValue !== "running" || !this.started) return;
    const designated = this.designatedPrimary();
    if (this.roleValue === "primary" && designated !== this.host) {
      await this.stepDown();
      return;
    }
    if (this.roleValue === "secondary" && designated === this.host) {
      this.becomingPrimary = true;
      const blocker = this.takeOverBlocker();
      if (blocker !== this.takeOverBlockedBy) {
        this.takeOverBlockedBy = blocker;
        if (blocker) this.deps.logger.info({ resource: this.name, reason: blocker }, "take-over waits");
      }
      if (!blocker) {
        await this.stopSecondary();
        await this.takeOver({ cut: false });
      } else {
        this.publishStatus(true);
      }
      return;
    }
    if (designated !== this.host) {
      this.becomingPrimary = false;
      this.takeOverBlockedBy = undefined;
    }
  }

  /**
   * Why a planned take-over cannot complete yet (undefined: it can). It is
   * decided on histories (src/replication/history.ts): we must have heard
   * every other member since we started, nobody else may still be primary,
   * and everything any member wrote or applied must be applied here.
   */
  private takeOverBlocker(): string | undefined {
    const parts = this.secondary;
    if (!parts || !this.started) return "not running as a secondary";
    const others = this.members().filter((h) => h !== this.host);
    const unheard = others.filter((h) => !this.deps.cluster.exchangedSinceStart(h));
    if (unheard.length > 0) {
      return `waiting to hear from ${unheard.join(", ")} since this node started (the designated primary may have moved meanwhile); force takes over without them`;
    }
    const newest = this.logs.newest();
    const read = parts.replayer.readPosition;
    const appliedNewestFile =
      newest === undefined ||
      (this.logs.isFinished(newest.name) &&
        formatLogName(read) === newest.name &&
        read.offsetBytes >= newest.lengthBytes);
    const histories = this.memberHistories();
    const own = histories.find((h) => h.host === this.host) as MemberHistory;
    return plannedTakeOverBlocker(
      {
        host: this.host,
        consistent: this.syncFile.consistent && this.syncFile.state !== "syncing",
        versions: own.versions,
        appliedNewestFile,
      },
      histories.filter((h) => h.host !== this.host),
    );
  }

  private async stopSecondary(): Promise<void> {
    const parts = this.secondary;
    if (!parts) return;
    this.secondary = undefined;
    await parts.sync?.stop();
    await parts.fetcher.stop();
    await parts.replayer.stop();
    await this.applier.idle();
  }

  private async stepDown(): Promise<void> {
    const parts = this.primary;
    if (!parts) return;
    this.deps.logger.info(
      { resource: this.name, newPrimary: this.designatedPrimary() ?? null },
      "stepping down",
    );
    parts.volume.stopWrites();
    this.exported = false;
    await this.deps.frontend.detach(this.name);
    await parts.volume.idle();
    const finished = await parts.log.close();
    // The version of our last file goes out before (or with) the status that
    // says we stepped down: the new primary waits for exactly this version.
    this.logs.rememberVersion(finished.versionEntry);
    this.publishVersion(finished.versionEntry);
    this.primary = undefined;
    await this.applier.idle();
    await this.checkpointer.checkpointNow();
    const name = formatLogName(finished.name);
    await this.files.writeFetch({
      file: name,
      verifiedBytes: finished.lengthBytes,
      nextSeq: 0,
      finished: true,
    });
    this.roleValue = "secondary";
    await this.startSecondary();
  }

  /**
   * resource.primary: planned handover (refused unless consistent and the
   * current primary is reachable), or forced failover. Resolves once this
   * node is primary, or rejects after timeoutMs (a planned handover then
   * completes later, when the old primary has finished its log).
   */
  async makePrimary(options: { force: boolean; timeoutMs: number }): Promise<{ changed: boolean }> {
    if (this.stateValue !== "running")
      throw new OperatorError("RESOURCE_FAILED", `${this.name} is ${this.stateValue}`);
    if (this.roleValue === "primary" && this.designatedPrimary() === this.host) return { changed: false };
    const current = this.designatedPrimary();
    // A half-synced replica holds a mix of old and new blocks: it never
    // becomes primary, not even by force (as in MARS).
    if (!this.syncFile.consistent || this.syncFile.state === "syncing") {
      throw new OperatorError(
        "NOT_CONSISTENT",
        `${this.name} is not consistent here (its sync or the replay after it is not finished); it cannot become primary, not even with force`,
      );
    }
    if (!options.force) {
      // Every precondition is checked before the current primary is asked to step down.
      if (
        this.splitBrain() ||
        this.secondary?.fetcher.stateValue === "split-brain" ||
        this.secondary?.replayer.state === "blocked"
      ) {
        throw new OperatorError("SPLIT_BRAIN", `${this.name} is in a split brain here; resolve it first`);
      }
      const paused = (["fetch", "replay", "sync"] as const).filter((what) => this.pauseFile[what]);
      if (paused.length > 0) {
        throw new OperatorError(
          "REPLICATION_PAUSED",
          `${paused.join(" and ")} paused on this node: resume it first (a handover waits for this node to fetch and replay everything)`,
          { paused },
        );
      }
      if (current && current !== this.host && !this.deps.cluster.isAlive(current)) {
        throw new OperatorError(
          "PRIMARY_UNREACHABLE",
          `the current primary ${current} is unreachable: use force for a failover`,
        );
      }
      this.state_.set(Keys.resourcePrimary(this.name), this.host);
      await this.state_.flush();
      await this.enqueue(() => this.reconcile());
      await this.waitFor(
        () => this.isServingPrimary,
        options.timeoutMs,
        `${this.name} to become primary here`,
      );
      return { changed: true };
    }
    await this.enqueue(async () => {
      this.state_.set(Keys.resourcePrimary(this.name), this.host);
      await this.state_.flush();
      if (this.roleValue === "primary") return;
      this.deps.logger.warn(
        { resource: this.name, previous: current ?? null },
        "forced failover: taking over with the log present here",
      );
      await this.stopSecondary();
      await this.takeOver({ cut: true });
    });
    return { changed: true };
  }

  /** resource.secondary: no primary designated any more; this node stops writing. */
  async makeSecondary(): Promise<{ changed: boolean }> {
    if (this.designatedPrimary() !== this.host) return { changed: false };
    this.state_.set(Keys.resourcePrimary(this.name), null);
    await this.state_.flush();
    await this.enqueue(() => this.reconcile());
    return { changed: true };
  }

  async setPaused(what: PauseWhat, paused: boolean): Promise<{ changed: boolean }> {
    if (this.pauseFile[what] === paused) return { changed: false };
    this.pauseFile = { ...this.pauseFile, [what]: paused };
    await this.files.writePause(this.pauseFile);
    const parts = this.secondary;
    if (parts) {
      if (what === "fetch") parts.fetcher.setPaused(paused);
      if (what === "sync") parts.sync?.setPaused(paused);
      if (what === "replay") {
        if (paused) await parts.replayer.pause();
        else if (!parts.sync) {
          parts.replayer.resume();
          parts.replayer.follow();
        }
      }
    }
    this.publishStatus(true);
    return { changed: true };
  }

  get paused(): PauseFile {
    return { ...this.pauseFile };
  }

  /** Resolves when `done()` holds, checked whenever the status changes. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        this.off("changed", check);
        reject(new OperatorError("WAIT_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          this.off("changed", check);
          resolve();
        }
      };
      this.on("changed", check);
    });
  }

  // --- log maintenance ------------------------------------------------------

  async rotateLog(): Promise<FinishedLogFile | undefined> {
    if (!this.primary || this.stateValue !== "running") {
      throw new OperatorError("NOT_PRIMARY", `${this.name}: only the primary rotates its log`);
    }
    return this.primary.log.rotate();
  }

  /**
   * Deletes local log files that every member has replayed past (the
   * lowest file any member still applies is kept, and everything after).
   * A member that has not reported a position pins everything.
   */
  async deleteReplayedLogs(): Promise<{ deleted: string[]; floorFileNumber: number | undefined }> {
    // Our floor is the persisted checkpoint (a restart replays from there): bring it up to date first.
    await this.checkpointer.checkpointNow();
    const floor = this.logFloor();
    if (floor === undefined) return { deleted: [], floorFileNumber: undefined };
    const inUse = new Set<string>();
    if (this.primary) inUse.add(formatLogName(this.primary.log.current));
    if (this.secondary) {
      inUse.add(formatLogName(this.secondary.replayer.readPosition));
      inUse.add(this.secondary.fetcher.current.file);
    }
    const newest = this.logs.newest();
    const deleted: string[] = [];
    for (const f of this.logs.list()) {
      if (f.fileNumber >= floor || inUse.has(f.name) || f === newest) continue;
      await this.logs.remove(f.name);
      deleted.push(f.name);
    }
    if (deleted.length > 0) {
      this.deps.logger.info({ resource: this.name, deleted }, "deleted replayed log files");
    }
    this.pruneVersions(floor);
    return { deleted, floorFileNumber: floor };
  }

  /**
   * Drops our version entries of files every member is past, keeping the
   * one right before the floor: the chain must still link to what we hold.
   * Without this the cluster state would grow by a few entries per file
   * forever.
   */
  private pruneVersions(floor: number): void {
    const prefix = `resource/${this.name}/host/${this.host}/version/`;
    for (const e of this.state_.list(prefix)) {
      const n = Number(e.key.slice(prefix.length));
      if (Number.isSafeInteger(n) && n < floor - 1) this.state_.delete(e.key);
    }
  }

  /** The lowest log file number any member still needs. */
  logFloor(): number | undefined {
    let floor: number | undefined;
    for (const host of this.members()) {
      const applied =
        host === this.host
          ? this.checkpointer.position?.fileNumber
          : parseLogName(this.publishedStatusOf(host)?.applied?.file ?? "")?.fileNumber;
      if (applied === undefined) return undefined;
      floor = floor === undefined ? applied : Math.min(floor, applied);
    }
    return floor;
  }

  // --- status ---------------------------------------------------------------

  private secondaryFacts() {
    const parts = this.secondary;
    const fetcher = parts?.fetcher;
    const fetchedFile = fetcher?.current.file;
    const fetched = fetchedFile ? this.logs.get(fetchedFile) : undefined;
    const fetchLagBytes =
      fetcher && fetched ? Math.max(0, fetcher.remoteLengthBytes - fetched.lengthBytes) : 0;
    const applied = this.applier.appliedPosition;
    const newest = this.logs.newest();
    let replayLagBytes = 0;
    if (applied && newest) {
      for (const f of this.logs.list()) {
        if (f.fileNumber > applied.fileNumber) replayLagBytes += f.lengthBytes;
        else if (f.fileNumber === applied.fileNumber)
          replayLagBytes += Math.max(0, f.lengthBytes - applied.offsetBytes);
      }
    }
    const designated = this.designatedPrimary();
    return {
      fetchLagBytes,
      replayLagBytes,
      designated,
      facts: {
        failed: this.stateValue === "failed",
        syncing: this.syncFile.state === "syncing",
        syncPaused: this.pauseFile.sync,
        consistent: this.syncFile.consistent,
        fetchPaused: this.pauseFile.fetch,
        replayPaused: this.pauseFile.replay,
        splitBrain:
          this.ownHistoryDiverged(designated) ||
          fetcher?.stateValue === "split-brain" ||
          parts?.replayer.state === "blocked",
        designatedPrimary: designated,
        primaryAlive:
          designated !== undefined && designated !== this.host && this.deps.cluster.isAlive(designated),
        fetchLagBytes,
        replayLagBytes,
        caughtUpWithPrimary: this.caughtUpWith(designated),
      },
    };
  }

  /**
   * Whether this node's own history left the designated primary's: at the
   * first file number where members' versions differ, ours is not the
   * primary's. A split brain elsewhere (another member diverged) does not
   * make this replica any less up to date.
   */
  private ownHistoryDiverged(primary: string | undefined): boolean {
    if (!primary || primary === this.host) return false;
    const histories = this.memberHistories();
    const ours = histories.find((h) => h.host === this.host);
    const theirs = histories.find((h) => h.host === primary);
    return ours !== undefined && theirs !== undefined && detectForks([ours, theirs]).length > 0;
  }

  /** Our applied position has reached the durable position `primary` last published. */
  private caughtUpWith(primary: string | undefined): boolean {
    const durable = primary ? this.publishedStatusOf(primary)?.durable : undefined;
    const applied = this.applier.appliedPosition;
    if (!durable || !applied) return false;
    const target = parseLogName(durable.file);
    if (!target) return false;
    if (applied.fileNumber !== target.fileNumber) return applied.fileNumber > target.fileNumber;
    return applied.host === target.host && applied.offsetBytes >= durable.offsetBytes;
  }

  /** This node's own view, as published to the cluster. */
  ownStatus(): PublishedStatus {
    const applied = positionStatus(this.applier.appliedPosition);
    if (this.stateValue === "failed") {
      return {
        role: this.roleValue,
        diskState: "Detached",
        replState: "Failed",
        consistent: this.syncFile.consistent,
        ...(applied ? { applied } : {}),
        ...(this.failure ? { error: this.failure } : {}),
      };
    }
    if (this.roleValue === "primary" && this.primary) {
      return {
        role: "primary",
        diskState: "UpToDate",
        replState: "Replicating",
        consistent: true,
        ...(applied ? { applied } : {}),
        durable: positionStatus(this.primary.log.durablePosition()),
      };
    }
    const { facts } = this.secondaryFacts();
    const states = secondaryStates(facts);
    const fetcher = this.secondary?.fetcher;
    const fetchedFile = fetcher?.current.file;
    const fetchedLocal = fetchedFile ? this.logs.get(fetchedFile) : undefined;
    return {
      role: "secondary",
      diskState: states.diskState,
      replState: this.becomingPrimary ? "NotYetPrimary" : states.replState,
      consistent: this.syncFile.consistent,
      ...(applied ? { applied } : {}),
      ...(fetchedLocal
        ? { fetched: { file: fetchedLocal.name, offsetBytes: fetchedLocal.lengthBytes, streamBytes: 0 } }
        : {}),
      ...(this.secondary?.replayer.lastAppliedStampUs
        ? { stampUs: this.secondary.replayer.lastAppliedStampUs }
        : {}),
      ...(this.syncFile.state === "syncing"
        ? { sync: { doneBytes: this.syncFile.doneBytes, totalBytes: this.syncFile.totalBytes } }
        : {}),
    };
  }

  /** Publishes our status: at once for discrete changes, else at most every statusPublishMs. */
  private publishStatus(now: boolean): void {
    if (this.stateValue === "closed") return;
    if (!now && Date.now() - this.lastPublished < this.deps.settings.statusPublishMs) return;
    this.lastPublished = Date.now();
    try {
      const status = this.ownStatus();
      const key = Keys.resourceHost(this.name, this.host, "status");
      const previous = this.state_.value<PublishedStatus>(key);
      const discrete =
        !previous ||
        previous.role !== status.role ||
        previous.diskState !== status.diskState ||
        previous.replState !== status.replState;
      if (now || discrete || JSON.stringify(previous) !== JSON.stringify(status))
        this.state_.set(key, status);
    } catch (err) {
      this.deps.logger.warn({ resource: this.name, err: errorMessage(err) }, "cannot publish status");
    }
  }

  /** Live numbers for resource.status. */
  detail() {
    const parts = this.secondary;
    const { fetchLagBytes, replayLagBytes } = this.secondaryFacts();
    const sync = parts?.sync;
    return {
      role: this.roleValue,
      becomingPrimary: this.becomingPrimary,
      takeOverBlockedBy: this.becomingPrimary ? this.takeOverBlockedBy : undefined,
      consistent: this.syncFile.consistent,
      paused: this.paused,
      recovery: this.recovery,
      disk: { path: this.config.disk, sizeBytes: this.diskSizeBytes },
      fetch: parts
        ? {
            state: parts.fetcher.stateValue,
            file: parts.fetcher.current.file,
            lagBytes: fetchLagBytes,
            ...(parts.fetcher.lastError ? { lastError: parts.fetcher.lastError } : {}),
            ...(parts.fetcher.splitBrainReason ? { splitBrainReason: parts.fetcher.splitBrainReason } : {}),
          }
        : undefined,
      replay: parts
        ? {
            state: parts.replayer.state,
            lagBytes: replayLagBytes,
            ...(parts.replayer.blockedReason ? { blockedReason: parts.replayer.blockedReason } : {}),
          }
        : undefined,
      sync:
        this.syncFile.state === "syncing"
          ? {
              doneBytes: this.syncFile.doneBytes,
              totalBytes: this.syncFile.totalBytes,
              rateBytesPerSec: Math.round(sync?.rateBytesPerSec ?? 0),
              etaSeconds:
                sync && sync.rateBytesPerSec > 0
                  ? Math.round((this.syncFile.totalBytes - this.syncFile.doneBytes) / sync.rateBytesPerSec)
                  : undefined,
              sameBytes: sync?.sameBytes ?? 0,
              ...(sync?.lastError ? { lastError: sync.lastError } : {}),
            }
          : undefined,
      log: {
        currentFile: this.primary ? formatLogName(this.primary.log.current) : undefined,
        files: this.logs.list().map((f) => ({ name: f.name, sizeBytes: f.lengthBytes })),
        durable: positionStatus(this.primary?.log.durablePosition()),
        applied: positionStatus(this.applier.appliedPosition),
        checkpoint: positionStatus(this.checkpointer.position),
        pendingBytes: this.primary
          ? this.primary.log.currentWriter.projectedEndBytes -
            this.primary.log.currentWriter.durableOffsetBytes
          : 0,
      },
      error: this.failure,
    };
  }

  // --- failures and shutdown -------------------------------------------------

  private markFailed(err: unknown): void {
    this.stateValue = "failed";
    this.failure = errorMessage(err);
    this.primary?.volume.stopWrites(new VolumeFailedError(`${this.name} failed: ${this.failure}`));
    this.deps.metrics.resourceFailed.labels(this.name).set(1);
    this.deps.logger.error({ resource: this.name, err }, "resource failed");
    this.publishStatus(true);
  }

  private fatal(err: unknown): void {
    if (this.stateValue !== "running") return;
    this.markFailed(err);
    this.deps.onFatal(this.name, err);
  }

  /** Stops everything cleanly: log finished durably, final checkpoint, files closed. */
  async close(): Promise<void> {
    if (this.stateValue === "closed") return;
    await this.enqueue(async () => {
      const wasRunning = this.stateValue === "running";
      this.stateValue = "closed";
      if (this.statusTimer) clearInterval(this.statusTimer);
      const primary = this.primary;
      if (primary) {
        primary.volume.stopWrites(new ClosedError(`${this.name} is stopping`));
        await primary.volume.idle();
        await primary.log.close().catch((err: unknown) => {
          if (wasRunning) throw err;
        });
      }
      await this.stopSecondary();
      await this.checkpointer.stop();
      if (wasRunning) {
        await this.applier.idle();
        await this.checkpointer.checkpointNow();
      }
      await this.backing.close();
    });
  }

  /** Closes and removes everything local (logs, state files); the disk is kept. */
  async destroy(): Promise<void> {
    await this.close().catch((err: unknown) =>
      this.deps.logger.warn({ resource: this.name, err }, "closing a resource being removed failed"),
    );
    await rm(this.dir, { recursive: true, force: true });
    await this.deps.metrics.forgetResource(this.name);
  }
}

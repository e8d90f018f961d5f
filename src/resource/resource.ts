/**
 * One resource on this node, in whatever role the cluster state gives it:
 * the façade that manager, rpc and frontend use. It owns the lifecycle
 * (open, start, failure, close) and hands each job to its module (the map
 * is in resource-core.ts). Both roles share the backing disk, the local log
 * files, the ordered apply queue and the checkpoint; role changes follow the
 * designated primary in the cluster state, one at a time (role-decision.ts).
 * Opening a resource recovers it: replay from the checkpoint, cutting a
 * torn tail of our own last file, which is never appended to again.
 */
import { recheckChains } from "./split-brain.js";
import { Repairs } from "./repairs.js";
import { EventEmitter } from "node:events";
import type { StateEntry } from "../cluster/state-store.js";
import type { FinishedLogFile, LogPosition } from "../log/log-stream.js";
import type { Fork } from "../replication/history.js";
import type { LocalLogs } from "../replication/local-logs.js";
import {
  assembleCore,
  diskConsistent,
  type ResourceCore,
  type ResourceDeps,
  type ResourceState,
  type RoleHooks,
} from "./resource-core.js";
import type { ResourceConfig } from "./resource-config.js";
import type { PauseWhat, ResourceFiles } from "./resource-files.js";
import { createLayout, joinLayout, loadLayout, type LoadedResource } from "./resource-layout.js";
import { markFailed, releaseFiles } from "./failure-recovery.js";
import { deleteReplayedLogsChecked, rotateLog } from "./log-maintenance.js";
import { RoleChanges } from "./role-changes.js";
import { checkConsistent, setPaused } from "./secondary-role.js";
import { secondarySyncSource } from "./secondary-sync.js";
import type { SyncSource } from "../replication/sync-server.js";
import { closeCleanly } from "./shutdown.js";
import { StatusPublisher } from "./status-publisher.js";
import { ownStatus, statusDetail, type PublishedStatus, type Role } from "./status-model.js";
import type { PrimaryVolume } from "./volume.js";
import { waitForChange } from "./wait-for.js";
import { dirtyRegionsAnswer } from "./emergency.js";
import { forksOf, metricSource } from "./resource-metric-source.js";
import type { DirtyRegionsAnswer } from "../replication/sync-regions.js";
import { watchSpace, type SpaceWatch } from "./space-watch.js";
import { SizeFollower } from "./resize.js";

export type {
  FrontendHooks,
  ResourceCluster,
  ResourceDeps,
  ResourceSettings,
  ResourceState,
} from "./resource-core.js";
export type { PauseWhat } from "./resource-files.js";

export interface ResourceEvents {
  /** Something visible in the status changed. */
  changed: [];
}

export class Resource extends EventEmitter<ResourceEvents> {
  readonly config: ResourceConfig;
  readonly dir: string;
  private readonly core: ResourceCore;
  private readonly hooks: RoleHooks;
  /** The frontend serves our volume (set after attach, cleared before detach). */
  private exported = false;
  private readonly roles: RoleChanges;
  private readonly status: StatusPublisher;
  /** The disk could not be opened: start() fails the resource with this. */
  private diskProblem: Error | undefined;
  /** A failed resource's files are being (or were) closed. */
  private released: Promise<void> | undefined;
  /** Emergency mode's retries, map clearing, cutting members loose (space-watch.ts). */
  private spaceWatch: SpaceWatch | undefined;
  /** resource.resize, and following the cluster's size as a member (resize.ts). */
  readonly size: SizeFollower;
  /** Invalidate, split-brain resolution, verify (repairs.ts). */
  readonly repairs: Repairs;

  private constructor(
    loaded: LoadedResource,
    private readonly deps: ResourceDeps,
  ) {
    super();
    this.config = loaded.config;
    this.dir = loaded.dir;
    this.diskProblem = loaded.diskProblem;
    const name = loaded.config.name;
    this.core = assembleCore(loaded, deps, {
      // The disk write that passes the sync end may complete after the
      // replayer's last progress event: check here too, or an idle replica
      // would stay Inconsistent.
      applied: (p) => this.checkConsistent(p),
      fatal: (err) => this.fatal(err),
    });
    this.status = new StatusPublisher(this.core, deps.time, deps.settings.statusPublishMs, deps.logger);
    this.hooks = {
      fatal: (err) => this.fatal(err),
      progressed: () => this.progressed(),
      publishStatus: (now) => this.publishStatus(now),
      attach: async (volume) => {
        await deps.frontend.attach(this, volume);
        this.exported = true;
        this.publishStatus(true);
        this.emit("changed");
      },
    };
    this.roles = new RoleChanges(this.core, this.hooks, deps.cluster, deps.logger, async () => {
      this.exported = false;
      await deps.frontend.detach(name);
    });
    this.size = new SizeFollower(this.core, this.hooks, (w) => this.roles.enqueue(w));
    this.repairs = new Repairs(this.core, this.hooks, (w) => this.roles.enqueue(w));
    deps.metrics.watchResource(name, deps.settings.volume.maxApplyBacklogBytes, metricSource(this.core));
    this.core.logs.on("finished", () => this.progressed());
  }

  get name(): string {
    return this.config.name;
  }

  get state(): ResourceState {
    return this.core.state;
  }

  get role(): Role {
    return this.core.role;
  }

  get logs(): LocalLogs {
    return this.core.logs;
  }

  get files(): ResourceFiles {
    return this.core.files;
  }

  /** The exported volume: only while this node is the running primary. */
  get volume(): PrimaryVolume | undefined {
    return this.core.state === "running" ? this.core.primary?.volume : undefined;
  }

  /**
   * What a member's sync copies from here: the running primary's volume and
   * durable position, or a consistent secondary's disk (secondary-sync.ts).
   */
  syncSource(): SyncSource | undefined {
    const { primary } = this.core;
    if (this.volume && primary)
      return { volume: this.volume, durablePosition: () => primary.log.durablePosition() };
    return secondarySyncSource(this.core);
  }

  /** Primary here, with the volume exported by its frontend. */
  get isServingPrimary(): boolean {
    return this.core.role === "primary" && this.exported && this.core.state === "running";
  }

  get consistent(): boolean {
    return diskConsistent(this.core);
  }

  // --- creation and opening -------------------------------------------------

  /** A new resource with this node as its primary; the disk's content is the initial content. */
  static async create(config: ResourceConfig, deps: ResourceDeps): Promise<Resource> {
    return Resource.open(await createLayout(deps.storage, deps.dataDir, config), deps);
  }

  /**
   * Joins an existing resource as a secondary: full sync of the disk, and
   * replay from the start of the primary's current log file (`startFile`).
   */
  static async join(config: ResourceConfig, startFile: string, deps: ResourceDeps): Promise<Resource> {
    return Resource.open(await joinLayout(deps.storage, deps.dataDir, config, startFile), deps);
  }

  /** Opens a resource's files and disk; start() recovers it and takes up its role. */
  static async open(dir: string, deps: ResourceDeps): Promise<Resource> {
    const loaded = await loadLayout(deps.storage, dir);
    const { name, sizeBytes } = loaded.config;
    deps.metrics.resourceSizeBytes.labels(name).set(sizeBytes);
    deps.metrics.replicationSyncTotalBytes.labels(name).set(loaded.syncFile.totalBytes);
    deps.metrics.replicationSyncDoneBytes.labels(name).set(loaded.syncFile.doneBytes);
    return new Resource(loaded, deps);
  }

  /**
   * Recovers and starts the resource in the role the cluster state gives it
   * (separate from open(): the manager registers it first, so a designation
   * change during recovery reaches us). A damaged log or disk never throws:
   * the resource comes up "failed" with the reason, in resource.status.
   */
  async start(): Promise<void> {
    await this.roles.enqueue(async () => {
      try {
        if (this.diskProblem) throw this.diskProblem;
        await this.core.logs.load();
        await this.roles.startRole();
        this.roles.markStarted();
        this.deps.metrics.resourceFailed.labels(this.name).set(0);
      } catch (err) {
        this.markFailed(err);
      }
    });
    this.status.start();
    this.spaceWatch = watchSpace(this.core, this.hooks, {
      enqueue: (work) => this.roles.enqueue(work),
      level: () => this.deps.logSpace?.levelOf(this.name) ?? "ok",
    });
    this.publishStatus(true);
    if (this.core.becomingPrimary) this.roles.reconsider();
    this.size.check(); // grown while we were away?
  }

  // --- cluster state --------------------------------------------------------

  designatedPrimary(): string | undefined {
    return this.core.view.designatedPrimary();
  }

  /** Hosts holding a replica (member entry present, not evicted). */
  members(): string[] {
    return this.core.view.members();
  }

  publishedStatusOf(host: string): PublishedStatus | undefined {
    return this.core.view.publishedStatusOf(host);
  }

  /** Every fork among the members' histories (src/replication/history.ts) that this node can see. */
  forks(): Fork[] {
    return forksOf(this.core);
  }

  /** The first fork, if any. */
  splitBrain(): Fork | undefined {
    return forksOf(this.core)[0];
  }

  /** Called by the manager for every change under resource/<name>/. */
  onStateChange(entry: StateEntry): void {
    if (this.core.state !== "running") return;
    this.size.onStateChange(entry.key);
    const kind = this.core.view.changeKind(entry.key);
    if (kind === "designation") {
      // Never follow a host that is no longer designated, not even for the rest of a stream.
      this.core.secondary?.fetcher.reconsiderSource();
      this.roles.reconsider();
    } else if (kind === "loose") {
      this.spaceWatch?.checkNow();
    } else if (kind === "history") {
      // Another member's history moved: a pending take-over may now complete.
      if (this.core.becomingPrimary && entry.owner !== this.core.host) this.roles.reconsider();
      if (entry.owner !== this.core.host) recheckChains(this.core);
      this.emit("changed");
    }
  }

  /** We answered-pulled `host`'s state: a take-over waiting for confirmation may complete. */
  onStateExchanged(): void {
    if (this.core.becomingPrimary) this.roles.reconsider();
  }

  // --- roles ----------------------------------------------------------------

  /**
   * resource.primary: planned handover (refused unless consistent and the
   * current primary is reachable), or forced failover. Resolves once this
   * node is primary, or rejects after timeoutMs (a planned handover then
   * completes later, when the old primary has finished its log).
   */
  async makePrimary(options: { force: boolean; timeoutMs: number }): Promise<{ changed: boolean }> {
    const changed = await this.roles.makePrimary({
      force: options.force,
      splitBrain: () => this.splitBrain() !== undefined,
    });
    if (changed && !options.force)
      await this.waitFor(
        () => this.isServingPrimary,
        options.timeoutMs,
        `${this.name} to become primary here`,
      );
    return { changed };
  }

  /** resource.secondary: no primary designated any more; this node stops writing. */
  async makeSecondary(): Promise<{ changed: boolean }> {
    return { changed: await this.roles.makeSecondary() };
  }

  /** Serialised with the role changes and the failure handling. */
  async setPaused(what: PauseWhat, paused: boolean): Promise<{ changed: boolean }> {
    const changed = await this.roles.enqueue(() =>
      setPaused(this.core, what, paused, (err) => this.fatal(err)),
    );
    if (changed) this.publishStatus(true);
    return { changed };
  }

  /** Resolves when `done()` holds, checked whenever the status changes. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitForChange(this, this.deps.time, done, timeoutMs, what);
  }

  // --- log maintenance ------------------------------------------------------

  async rotateLog(): Promise<FinishedLogFile | undefined> {
    return rotateLog(this.core, (err) => this.fatal(err));
  }

  /** Deletes local log files every member has replayed past (retention.ts). */
  async deleteReplayedLogs(): Promise<{ deleted: string[]; floorFileNumber: number | undefined }> {
    return deleteReplayedLogsChecked(this.core, (err) => this.fatal(err));
  }

  // --- status ---------------------------------------------------------------

  /** This node's own view, as published to the cluster. */
  ownStatus(): PublishedStatus {
    return ownStatus(this.core);
  }

  /** A serving primary stops logging (the log space monitor's last level); anything else ignores it. */
  enterEmergency(reason: string): void {
    this.spaceWatch?.enterNow(reason);
  }

  /** The regions of our dirty map (peers resyncing a gap we wrote ask for them). */
  dirtyRegions(member?: string): Promise<DirtyRegionsAnswer | undefined> {
    return dirtyRegionsAnswer(this.core, member);
  }

  /** Live numbers for resource.status. */
  detail(): ReturnType<typeof statusDetail> {
    return statusDetail(this.core);
  }

  private publishStatus(now: boolean): void {
    this.status.publish(now);
  }

  /** A replica becomes consistent once its applied position passes the sync end. */
  private checkConsistent(applied: LogPosition | undefined): void {
    if (!checkConsistent(this.core, this.hooks, applied)) return;
    this.publishStatus(true);
    this.emit("changed");
  }

  /** Fetch/replay/sync moved: check consistency, a pending take-over, publish. */
  private progressed(): void {
    this.checkConsistent(this.core.applier.appliedPosition);
    if (this.core.becomingPrimary) this.roles.reconsider();
    this.publishStatus(false);
    this.emit("changed");
  }

  // --- failures and shutdown -------------------------------------------------

  private markFailed(err: unknown): void {
    this.spaceWatch?.cancel();
    markFailed(this.core, err);
    this.publishStatus(true);
  }

  /**
   * The log, disk or checkpoint failed while running: this resource only
   * fails. Its export goes away and its files are closed without another
   * write or sync; the manager then recovers it from disk (failure-recovery.ts).
   */
  private fatal(err: unknown): void {
    if (this.core.state !== "running") return;
    this.markFailed(err);
    void this.release().finally(() => this.deps.onFailed(this, err));
  }

  /** Closes a failed resource's files once (never writing them); errors are logged, not thrown. */
  private release(): Promise<void> {
    this.released ??= this.roles.enqueue(async () => {
      if (this.exported) {
        this.exported = false;
        await this.deps.frontend.detach(this.name);
      }
      await releaseFiles(this.core);
    });
    return this.released.catch((err: unknown) =>
      this.deps.logger.error({ resource: this.name, err }, "closing a failed resource's files failed"),
    );
  }

  /**
   * Stops everything cleanly: log finished durably, final checkpoint, files
   * closed. A failed resource only closes its files (it stays "failed").
   */
  async close(): Promise<void> {
    if (this.core.state === "closed") return;
    this.spaceWatch?.cancel();
    this.size.stop();
    if (this.core.state === "failed") {
      this.status.stop();
      return this.release();
    }
    await this.roles.enqueue(() => closeCleanly(this.core, () => this.status.stop()));
    // It failed while waiting for its turn: close it as a failed one.
    if ((this.core.state as ResourceState) === "failed") return this.close();
  }

  /** Closes and removes everything local (logs, state files); the disk is kept. */
  async destroy(): Promise<void> {
    await this.close().catch((err: unknown) =>
      this.deps.logger.warn({ resource: this.name, err }, "closing a resource being removed failed"),
    );
    await this.deps.storage.removeTree(this.dir);
    await this.deps.metrics.forgetResource(this.name);
  }
}

/**
 * What a resource is made of, shared by the modules that each do one job
 * for it (src/resource/resource.ts is the façade over them):
 *
 * - role-decision.ts: which role change to make (pure);
 * - role-changes.ts: makes role changes, one at a time;
 * - primary-role.ts / secondary-role.ts: taking up and leaving each role;
 * - retention.ts: which log files and version entries may go;
 * - log-maintenance.ts: the operator's log rotation and deletion;
 * - shutdown.ts: the clean close; failure-recovery.ts: failing, releasing
 *   and recovering;
 * - status-model.ts: the published status and resource.status's detail;
 * - status-publisher.ts: publishing it, rate-limited;
 * - cluster-view.ts: the resource's keys in the cluster state;
 * - resource-files.ts / resource-config.ts: the files in its directory.
 *
 * Contract: the mutable fields below are changed only inside the
 * serialised role changes (role-changes.ts) or by the callbacks the role
 * modules install, on the event loop; nothing here does I/O by itself.
 */
import type { Logger } from "pino";
import type { LamportClock } from "../log/lamport-clock.js";
import type { StateStore } from "../cluster/state-store.js";
import type { LogPosition, LogStream } from "../log/log-stream.js";
import type { LogWriterLimits } from "../log/writer.js";
import type { Metrics } from "../metrics/metrics.js";
import type { PeerClient, PeerCredentials } from "../peer/client.js";
import type { Clock } from "../platform/clock.js";
import type { RandomAccessFile, Storage } from "../platform/storage/types.js";
import type { Fetcher } from "../replication/fetcher.js";
import type { BandwidthLimits } from "../replication/bandwidth.js";
import type { SyncSlots } from "../replication/sync-slots.js";
import type { VerifyReport } from "./verify.js";
import type { SyncClient } from "../replication/sync-client.js";
import { LocalLogs } from "../replication/local-logs.js";
import type { Replayer } from "../replication/replayer.js";
import { ApplyQueue } from "./apply-queue.js";
import { Checkpointer } from "./checkpoint.js";
import type { RecoveryBackoff } from "./failure-recovery.js";
import { ClusterView } from "./cluster-view.js";
import type { ResourceConfig } from "./resource-config.js";
import type { DirtyMap } from "./dirty-map.js";
import { ResourceFiles, type EmergencyFile, type PauseFile, type SyncFile } from "./resource-files.js";
import type { LoadedResource } from "./resource-layout.js";
import type { Resource } from "./resource.js";
import type { ResizeProblem, Role } from "./status-model.js";
import type { PrimaryVolume, VolumeOptions } from "./volume.js";

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
  /** Delays between recovery attempts of a failed resource. */
  recoveryBackoff: RecoveryBackoff;
  /** A full log area makes the primary write straight to the disk (else the resource fails). */
  emergencyEnabled: boolean;
  /** Bytes of disk per bit of the dirty-region map (emergency mode). */
  dirtyGranularityBytes: number;
  /**
   * How often a primary in emergency mode tries to log again, a served map
   * is checked for clearing, and lagging members are reviewed.
   */
  emergencyRetryMs: number;
  /** Beyond either a member of that resource is cut loose (resource/cut-loose.ts). */
  lagLimits: (resource: string) => { maxLagBytes: number; maxLagSeconds: number };
  /** Whether this node asks for compressed fetch and sync data of a resource (unset: it does not). */
  compressionEnabled?: (resource: string) => boolean;
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
  /** The exported volume grew (resize.ts): the device shows it where the frontend can. Never throws. */
  resized(name: string): Promise<void>;
}

export interface ResourceDeps {
  dataDir: string;
  host: string;
  storage: Storage;
  /** The Lamport clock (stamps of log records and state entries). */
  clock: LamportClock;
  /** Wall time, monotonic time and timers. */
  time: Clock;
  metrics: Metrics;
  logger: Logger;
  settings: ResourceSettings;
  cluster: ResourceCluster;
  frontend: FrontendHooks;
  /**
   * The resource's log, disk or checkpoint IO failed: it is "failed" and has
   * closed its files (failure-recovery.ts); the manager recovers it.
   */
  onFailed: (resource: Resource, err: unknown) => void;
  /** The node's log space monitor: the level of a resource's log area (emergency mode, cutting loose). */
  logSpace?: { levelOf(resource: string): string | undefined };
  /** The node's transfer bounds, shared by its resources. */
  transfers: Transfers;
}

/** What every resource's syncs and fetches share on a node. */
export interface Transfers {
  limits: BandwidthLimits;
  syncSlots: SyncSlots;
  /** Each sync's data bytes requested and not yet written (sync.maxInFlightBytes). */
  syncInFlightBytes: number;
}

export type ResourceState = "running" | "failed" | "closed";

export interface PrimaryParts {
  log: LogStream;
  volume: PrimaryVolume;
}

export interface SecondaryParts {
  fetcher: Fetcher;
  replayer: Replayer;
  sync: SyncClient | undefined;
}

export interface RecoveryCounts {
  replayedBytes: number;
  tornBytes: number;
}

/** One resource's parts and mutable state, shared by its modules. */
export interface ResourceCore {
  readonly name: string;
  readonly host: string;
  readonly config: ResourceConfig;
  readonly dir: string;
  readonly deps: ResourceDeps;
  readonly backing: RandomAccessFile;
  /** Read at open; a grow (resize.ts) updates it. */
  diskSizeBytes: number;
  readonly logs: LocalLogs;
  readonly files: ResourceFiles;
  readonly applier: ApplyQueue;
  readonly checkpointer: Checkpointer;
  readonly view: ClusterView;
  state: ResourceState;
  failure: string | undefined;
  role: Role;
  primary: PrimaryParts | undefined;
  secondary: SecondaryParts | undefined;
  /** Designated here, taking over once the planned rule allows it. */
  becomingPrimary: boolean;
  /** The last online verify's report (verify.ts), until the next one or a restart. */
  verify?: VerifyReport;
  /** Why a pending take-over cannot complete yet (shown in status). */
  takeOverBlockedBy: string | undefined;
  /** Why this member has not grown to the cluster's size yet (resize.ts); published with its status. */
  sizeProblem: ResizeProblem | undefined;
  syncFile: SyncFile;
  pauseFile: PauseFile;
  /**
   * Set when a secondary starts (after a restart or an in-place recovery)
   * behind the end of its local log: any of the writes up to there may have
   * reached the disk before, some torn, and the disk is a prefix of the
   * history again only once replay has passed this (secondary-role.ts).
   * Infinite from loading until a role is taken up.
   */
  repairUntil: { fileNumber: number; offsetBytes: number } | undefined;
  recovery: RecoveryCounts;
  /** Emergency mode's record (emergency.ts); undefined when none is active or pending. */
  emergencyFile: EmergencyFile | undefined;
  /** The dirty-region map, once opened. */
  dirtyMap: DirtyMap | undefined;
  /** The dirty maps of members this node cut loose (resource/cut-loose.ts), once opened. */
  memberMaps: Map<string, DirtyMap>;
}

/** The disk is a prefix of the history: synced (or never needed it) and repaired after a restart. */
export function diskConsistent(core: ResourceCore): boolean {
  return core.syncFile.consistent && core.repairUntil === undefined;
}

/** What the role modules call back into the façade for. */
export interface RoleHooks {
  /** The log or disk failed for good. */
  fatal(err: unknown): void;
  /** Fetch, replay or sync moved. */
  progressed(): void;
  /** Publish our status: `now` for a discrete change, else rate-limited. */
  publishStatus(now: boolean): void;
  /** Hand the volume to the frontend. */
  attach(volume: PrimaryVolume): Promise<void>;
}

/**
 * Assembles a resource's parts from what its directory holds, in the
 * state of a resource not started yet (secondary, running, no role parts).
 */
export function assembleCore(
  loaded: LoadedResource,
  deps: ResourceDeps,
  on: { applied(position: LogPosition): void; fatal(err: unknown): void },
): ResourceCore {
  const { config, dir, backing, checkpoint } = loaded;
  const name = config.name;
  const appliedGauge = deps.metrics.resourceAppliedPosition.labels(name);
  const applier = new ApplyQueue(
    deps.time,
    backing,
    checkpoint,
    (p) => {
      appliedGauge.set(p.streamBytes);
      on.applied(p);
    },
    (err) => on.fatal(err),
  );
  const checkpointer = new Checkpointer(
    deps.time,
    deps.storage,
    dir,
    backing,
    () => applier.appliedPosition,
    deps.settings.checkpointIntervalMs,
    (p) => deps.metrics.resourceCheckpointPosition.labels(name).set(p.streamBytes),
    (err) => on.fatal(err),
    checkpoint,
  );
  return {
    name,
    host: deps.host,
    config,
    dir,
    deps,
    backing,
    diskSizeBytes: loaded.diskSizeBytes,
    logs: new LocalLogs(dir, deps.storage),
    files: new ResourceFiles(dir, deps.storage),
    applier,
    checkpointer,
    view: new ClusterView(deps.cluster.state, name, deps.host),
    state: "running",
    failure: undefined,
    role: "secondary",
    primary: undefined,
    secondary: undefined,
    becomingPrimary: false,
    takeOverBlockedBy: undefined,
    sizeProblem: undefined,
    syncFile: loaded.syncFile,
    pauseFile: loaded.pauseFile,
    // Unknown until a role is taken up (startSecondary, takeOver): a status
    // asked during start-up must not call the disk consistent yet.
    repairUntil: { fileNumber: Number.POSITIVE_INFINITY, offsetBytes: 0 },
    recovery: { replayedBytes: 0, tornBytes: 0 },
    emergencyFile: loaded.emergencyFile,
    dirtyMap: undefined,
    memberMaps: new Map(),
  };
}

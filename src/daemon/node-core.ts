/**
 * The node without its edges: the cluster state and the peer listener,
 * the resources with their replication routes, and the JSON-RPC methods,
 * composed over the three injected seams (Clock, Storage, Transport). The
 * Daemon (daemon.ts) puts the edges around it: the pid lock, the admin
 * HTTP listener, the NBD server and ublk, the scheduled jobs. The
 * simulator (test/sim/) runs several NodeCores in one process over
 * simulated seams, so everything here is the code that runs in production.
 *
 * Contract:
 * - start(): the peer listener and the cluster state, then every resource
 *   recovered and attached through `frontends`; the RPC endpoint exists
 *   only after that.
 * - stop(): finishes every log durably, then the cluster exchange, then the
 *   peer listener and outgoing connections. The caller stops the frontends
 *   first (no new IO) and decides what happens after.
 * - A resource whose log, disk or checkpoint IO fails fails alone: it
 *   closes its files and recovers from disk with a backoff
 *   (src/resource/failure-recovery.ts) while the other resources, the
 *   admin and the peer APIs keep serving; `onResourceFailed` is told. The
 *   core never exits the process.
 */
import { NodeTransfers } from "./transfers.js";
import path from "node:path";
import type { Logger } from "pino";
import { LamportClock } from "../log/lamport-clock.js";
import { ClusterService } from "../cluster/cluster.js";
import { PeerClient } from "../peer/client.js";
import { PeerServer } from "../peer/server.js";
import { SyncServer } from "../replication/sync-server.js";
import { LogServer } from "../replication/log-server.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import type { FrontendSet } from "../frontend/frontend-set.js";
import type { Metrics } from "../metrics/metrics.js";
import { ResourceManager } from "../resource/manager.js";
import { LogSpaceMonitor } from "../resource/log-space.js";
import { RpcEndpoint } from "../rpc/endpoint.js";
import { nodeMethods } from "../rpc/methods/node.js";
import { resourceMethods } from "../rpc/methods/resource.js";
import { clusterMethods } from "../rpc/methods/cluster.js";
import { compileValidators, loadOpenRpcDocument } from "../rpc/openrpc.js";
import type { NodeServices } from "../rpc/context.js";
import { NotStartedError } from "../util/errors.js";
import type { Clock } from "../platform/clock.js";
import type { Random } from "../platform/random.js";
import type { Storage } from "../platform/storage/types.js";
import type { Transport } from "../platform/transport.js";
import { parseHostPort } from "../frontend/nbd/server.js";
import { compressionEnabled, derivePeerAdvertise, type DaemonConfig } from "./config.js";
import type { Compress, CompressionPolicy } from "../replication/compression.js";

export interface NodeCoreOptions {
  config: DaemonConfig;
  logger: Logger;
  time: Clock;
  storage: Storage;
  transport: Transport;
  /** Cluster ids, secrets, nonces, jitter (crypto-grade in production, seeded in the simulator). */
  random: Random;
  metrics: Metrics;
  /** Where recovered volumes are exported (NBD and ublk in the daemon). */
  frontends: FrontendSet;
  clock?: LamportClock;
  /** A resource failed (it recovers by itself; for observers such as tests and the simulator). */
  onResourceFailed?(resource: string, err: unknown): void;
  /** How served fetch and sync data is compressed (the thread pool in the daemon, inline in the simulator). */
  compress: Compress;
}

/** Longest a log-stream request may wait for new records before it answers. */
const LOG_STREAM_MAX_WAIT_MS = 60_000;

export class NodeCore implements NodeServices {
  readonly config: DaemonConfig;
  readonly logger: Logger;
  readonly time: Clock;
  readonly storage: Storage;
  readonly metrics: Metrics;
  readonly frontends: FrontendSet;
  readonly clock: LamportClock;
  /** Bandwidth limits and sync slots, shared by every resource of the node. */
  readonly transfers: NodeTransfers;
  private readonly startedMonotonicMs: number;
  private resourceManager: ResourceManager | undefined;
  private clusterService: ClusterService | undefined;
  private logServer: LogServer | undefined;
  private peerServer: PeerServer | undefined;
  private peerClient: PeerClient | undefined;
  private endpoint: RpcEndpoint<NodeServices> | undefined;
  private logSpaceMonitor: LogSpaceMonitor | undefined;
  private stopping = false;

  constructor(private readonly options: NodeCoreOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.time = options.time;
    this.storage = options.storage;
    this.metrics = options.metrics;
    this.frontends = options.frontends;
    this.startedMonotonicMs = this.time.monotonicMs();
    this.transfers = new NodeTransfers(options.config, this.time, this.metrics);
    this.clock =
      options.clock ??
      new LamportClock({ wall: this.time, maxFutureUs: options.config.maxClockFutureMs * 1000 });
  }

  get resources(): ResourceManager {
    if (!this.resourceManager) throw new NotStartedError("the resource layer is not started");
    return this.resourceManager;
  }

  get cluster(): ClusterService {
    if (!this.clusterService) throw new NotStartedError("the cluster layer is not started");
    return this.clusterService;
  }

  /** The JSON-RPC methods of this node (validated against api/openrpc.json). */
  get rpc(): RpcEndpoint<NodeServices> {
    if (!this.endpoint) throw new NotStartedError("the RPC endpoint is not started");
    return this.endpoint;
  }

  /** The peer listener's actual port (port 0 in the config picks a free one). */
  get peerPort(): number {
    return this.peerServer?.port ?? 0;
  }

  /** Free space levels of the log filesystems (read-only use: levelOf, lastSamples, onLevel). */
  get logSpace(): LogSpaceMonitor {
    if (!this.logSpaceMonitor) throw new NotStartedError("the log space monitor is not started");
    return this.logSpaceMonitor;
  }

  deviceOf(resource: string): DeviceInfo | undefined {
    return this.frontends.device(resource);
  }

  isStopping(): boolean {
    return this.stopping;
  }

  uptimeSeconds(): number {
    return (this.time.monotonicMs() - this.startedMonotonicMs) / 1000;
  }

  async start(): Promise<void> {
    await this.startCluster();
    this.resourceManager = this.createResourceManager();
    this.cluster.leaveBlocker = () => this.resources.leaveBlocker();
    this.startReplicationRoutes();
    await this.resources.loadAll();
    this.logSpaceMonitor = this.createLogSpaceMonitor();
    // Below the last level a primary stops logging before its log writes fail (emergency mode).
    this.logSpaceMonitor.onLevel((change) => {
      if (change.level !== "emergency") return;
      for (const name of change.resources)
        this.resources.get(name)?.enterEmergency("log space below the emergency level");
    });
    this.logSpaceMonitor.start();
    this.endpoint = new RpcEndpoint<NodeServices>(
      compileValidators(loadOpenRpcDocument()),
      { "rpc.discover": () => loadOpenRpcDocument(), ...nodeMethods, ...resourceMethods, ...clusterMethods },
      this.logger,
      this.time,
      this.options.random,
      this.metrics,
    );
  }

  /** From now on RPC mutations are refused (the daemon is stopping). */
  markStopping(): void {
    this.stopping = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.logServer?.closeAll();
    await this.logSpaceMonitor?.stop();
    await this.resourceManager?.closeAll();
    await this.clusterService?.stop();
    await this.peerServer?.close();
    this.peerClient?.close();
  }

  private async startCluster(): Promise<void> {
    const { config, logger } = this;
    const listen = parseHostPort(config.peerListen);
    const { host, port } = listen;
    const peerServer = new PeerServer({
      listen,
      transport: this.options.transport,
      auth: {
        clusterId: () => this.clusterService?.clusterId(),
        secret: () => this.clusterService?.secret(),
        isRemoved: (name) => this.clusterService?.isRemoved(name) ?? false,
        requestKey: (name) => this.clusterService?.requestKey(name),
      },
      clock: this.clock,
      time: this.time,
      storage: this.storage,
      metrics: this.metrics,
      logger,
      timeWindowMs: config.peer.timeWindowMs,
      maxRequestBodyBytes: config.peer.maxRequestBodyBytes,
      maxControlBodyBytes: config.peer.maxControlBodyBytes,
      maxConnections: config.peer.maxConnections,
      maxUnauthenticatedRequests: config.peer.maxUnauthenticatedRequests,
      maxUnauthenticatedBytes: config.peer.maxUnauthenticatedBytes,
      replayFloorFile: path.join(config.dataDir, "peer", "replay-floors.json"),
      replayLeaseMs: config.peer.replayLeaseMs,
    });
    await peerServer.start();
    this.peerServer = peerServer;
    const advertise =
      config.peerAdvertise ?? derivePeerAdvertise(`${host}:${port === 0 ? peerServer.port : port}`);
    this.peerClient = new PeerClient({
      host: config.host,
      clock: this.clock,
      time: this.time,
      random: this.options.random,
      metrics: this.metrics,
      transport: this.options.transport,
      timeoutMs: config.peer.requestTimeoutMs,
      maxResponseBytes: config.peer.maxBodyBytes,
    });
    const cluster = await ClusterService.open({
      dataDir: config.dataDir,
      settings: {
        host: config.host,
        advertise,
        addressOverrides: config.peer.addressOverrides,
        syncIntervalMs: config.peer.syncIntervalMs,
        retryMaxMs: config.peer.retryMaxMs,
        aliveWindowMs: config.peer.aliveWindowMs,
        pushConcurrency: 16,
        tombstoneMinAgeMs: config.peer.tombstoneMinAgeMs,
      },
      clock: this.clock,
      time: this.time,
      random: this.options.random,
      storage: this.storage,
      metrics: this.metrics,
      logger,
      server: peerServer,
      client: this.peerClient,
    });
    cluster.start();
    this.clusterService = cluster;
    logger.info(
      { peerListen: `${host}:${peerServer.port}`, advertise, clusterId: cluster.clusterId() },
      "peer listener up",
    );
  }

  private createResourceManager(): ResourceManager {
    const { config, logger } = this;
    const cluster = this.cluster;
    const client = this.peerClient as PeerClient;
    return new ResourceManager({
      dataDir: config.dataDir,
      host: config.host,
      storage: this.storage,
      clock: this.clock,
      time: this.time,
      metrics: this.metrics,
      logger,
      settings: {
        logRotateBytes: config.log.rotateBytes,
        checkpointIntervalMs: config.log.checkpointIntervalMs,
        writerLimits: {
          maxBatchBytes: config.log.maxBatchBytes,
          maxBatchRecords: 256,
          maxPendingBytes: config.log.maxPendingBytes,
          maxBatchesInFlight: config.log.maxBatchesInFlight,
          preallocateBytes: config.log.preallocateBytes,
        },
        volume: {
          maxRecordPayloadBytes: config.log.maxRecordPayloadBytes,
          maxZeroRecordBytes: 64 * 1024 * 1024,
          maxApplyBacklogBytes: 64 * 1024 * 1024,
        },
        fetchSyncEveryBytes: config.replication.fetchSyncEveryBytes,
        listWaitMs: config.replication.listWaitMs,
        retryMaxMs: config.peer.retryMaxMs,
        replayMaxInFlight: config.replication.replayMaxInFlight,
        statusPublishMs: config.replication.statusPublishMs,
        recoveryBackoff: {
          initialMs: config.resourceRecovery.initialBackoffMs,
          maxMs: Math.max(config.resourceRecovery.initialBackoffMs, config.resourceRecovery.maxBackoffMs),
        },
        emergencyEnabled: config.emergency.enabled,
        dirtyGranularityBytes: config.emergency.dirtyGranularityBytes,
        emergencyRetryMs: config.emergency.retryMs,
        lagLimits: (name) => ({
          maxLagBytes: config.lagging.resources?.[name]?.maxLagBytes ?? config.lagging.maxLagBytes,
          maxLagSeconds: config.lagging.resources?.[name]?.maxLagSeconds ?? config.lagging.maxLagSeconds,
        }),
        compressionEnabled: (name) => compressionEnabled(config.compression, name),
      },
      cluster: {
        state: cluster.state,
        client,
        credentials: () => {
          const id = cluster.clusterId();
          const secret = cluster.secret();
          return id && secret ? { clusterId: id, secret } : undefined;
        },
        addressOf: (name) => cluster.addressOf(name),
        isAlive: (name) => cluster.isAlive(name),
        exchangedSinceStart: (name) => cluster.exchangedSinceStart(name),
        onStateExchanged: (listener) => cluster.onStateExchanged(listener),
        catchUp: () => cluster.catchUp(),
      },
      frontend: {
        attach: async (resource, volume) => {
          const device = await this.frontends.attach(volume, resource.config.frontend, resource.dir);
          logger.info({ resource: resource.name, device }, "resource exported");
        },
        detach: (name) => this.frontends.detach(name),
        resized: (name) => this.frontends.resized(name),
      },
      // Emergency mode leaves only once the log area is out of the emergency level (with hysteresis).
      logSpace: { levelOf: (name) => this.logSpaceMonitor?.levelOf(name) },
      transfers: this.transfers,
      onResourceFailed: (resource, err) => {
        // Its log files are closed: streams of them would follow a dead instance forever.
        this.logServer?.closeResource(resource);
        this.options.onResourceFailed?.(resource, err);
      },
    });
  }

  private createLogSpaceMonitor(): LogSpaceMonitor {
    return new LogSpaceMonitor({
      time: this.time,
      storage: this.storage,
      logger: this.logger,
      metrics: this.metrics,
      settings: this.config.logSpace,
      roots: [path.join(this.config.dataDir, "resources")],
      resources: () => this.resources.list().map((r) => ({ name: r.name, dir: r.dir })),
      // Only a running resource decides on its files (a failed one has them closed).
      deleteReplayedLogs: async (name) => {
        const resource = this.resources.get(name);
        return resource?.state === "running" ? resource.deleteReplayedLogs() : { deleted: [] };
      },
    });
  }

  /** Log shipping and full sync, served on the peer listener. */
  private startReplicationRoutes(): void {
    const server = this.peerServer as PeerServer;
    this.logServer = new LogServer({
      server,
      storage: this.storage,
      time: this.time,
      metrics: this.metrics,
      logger: this.logger,
      lookup: (name) => {
        const resource = this.resources.get(name);
        return resource && resource.state === "running" ? { logs: resource.logs } : undefined;
      },
      chunkBytes: this.config.replication.chunkBytes,
      heartbeatMs: this.config.replication.heartbeatMs,
      maxWaitMs: LOG_STREAM_MAX_WAIT_MS,
      compression: { policy: (name) => this.compressionPolicy(name), compress: this.options.compress },
    });
    new SyncServer(
      server,
      // The primary, or a consistent secondary (a gap's writer after it stepped down, who cut a member loose).
      (name) => this.resources.get(name)?.syncSource(),
      this.metrics,
      (name, member) => this.resources.get(name)?.dirtyRegions(member) ?? Promise.resolve(undefined),
      (name, from) => this.resources.get(name)?.repairs.historyRegions(from) ?? Promise.resolve(undefined),
      { policy: (name) => this.compressionPolicy(name), compress: this.options.compress, time: this.time },
    );
  }

  /** How this node compresses the data it serves of a resource (undefined: it does not). */
  private compressionPolicy(name: string): CompressionPolicy | undefined {
    const { compression } = this.config;
    return compressionEnabled(compression, name)
      ? { codec: compression.codec, level: compression.level }
      : undefined;
  }
}

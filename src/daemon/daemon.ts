/**
 * Wires one node together: storage, clock, metrics, resources, frontends,
 * admin API. Start-up order and shutdown order are the promises of the
 * brief in code:
 *
 * start: lock the data dir -> recover every resource (replay logs) ->
 *        export volumes -> admin API.
 * stop:  refuse new RPC mutations -> stop NBD intake and answer in-flight
 *        requests -> finish every log durably and checkpoint -> close
 *        sockets -> release the lock.
 */
import http from "node:http";
import type { Express } from "express";
import path from "node:path";
import type { Logger } from "pino";
import { LamportClock } from "../log/lamport-clock.js";
import { ClusterService } from "../cluster/cluster.js";
import { PeerClient } from "../peer/client.js";
import { SyncServer } from "../replication/full-sync.js";
import { LogServer } from "../replication/log-server.js";
import { ScheduledJobs } from "./jobs.js";
import { PeerServer } from "../peer/server.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import { FrontendSet } from "../frontend/frontend-set.js";
import { NbdExports, NbdFrontend } from "../frontend/nbd/nbd-frontend.js";
import { NbdServer, parseHostPort } from "../frontend/nbd/server.js";
import { detectUblk } from "../frontend/ublk/availability.js";
import { UblkFrontend } from "../frontend/ublk/ublk-frontend.js";
import { Metrics } from "../metrics/metrics.js";
import { ResourceManager } from "../resource/manager.js";
import { answerClientError, createAdminApp } from "../rpc/admin-app.js";
import { RpcEndpoint } from "../rpc/endpoint.js";
import { nodeMethods } from "../rpc/methods/node.js";
import { resourceMethods } from "../rpc/methods/resource.js";
import { clusterMethods } from "../rpc/methods/cluster.js";
import { compileValidators, loadOpenRpcDocument } from "../rpc/openrpc.js";
import { systemClock, type Clock } from "../platform/clock.js";
import { NodeTransport } from "../platform/node-transport.js";
import { nodeStorage } from "../platform/storage/node-file.js";
import type { Storage } from "../platform/storage/types.js";
import { derivePeerAdvertise, type DaemonConfig } from "./config.js";
import { readOrCreateToken } from "./admin-token.js";
import { acquirePidLock } from "./pid-lock.js";
import type { NodeServices } from "../rpc/context.js";
import { NotStartedError } from "../util/errors.js";

export interface DaemonOptions {
  storage?: Storage;
  /** Wall time, monotonic time and timers (default: the system's). */
  time?: Clock;
  clock?: LamportClock;
  /** Called when a resource's log or disk failed for good (default: the process exits for a restart). */
  onFatal?: (err: unknown) => void;
}

/** Exit status after a fatal log/disk failure: systemd restarts us and recovery runs. */
export const EXIT_FATAL = 70;

export class Daemon implements NodeServices {
  readonly clock: LamportClock;
  readonly time: Clock;
  readonly storage: Storage;
  readonly metrics = new Metrics();
  private resourceManager: ResourceManager | undefined;
  private logServer: LogServer | undefined;
  private jobs: ScheduledJobs | undefined;
  private readonly startedMonotonicMs: number;
  private readonly nbdExports = new NbdExports();
  private readonly nbdServer: NbdServer;
  readonly frontends = new FrontendSet();
  private httpServer: http.Server | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private adminAddress: { host: string; port: number } | undefined;
  /** The admin HTTP app and its JSON-RPC endpoint, once started (tests drive them in-process). */
  adminApp: Express | undefined;
  rpcEndpoint: RpcEndpoint<NodeServices> | undefined;
  private peerServer: PeerServer | undefined;
  private peerClient: PeerClient | undefined;
  private clusterService: ClusterService | undefined;

  constructor(
    readonly config: DaemonConfig,
    readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.time = options.time ?? systemClock;
    this.storage = options.storage ?? nodeStorage;
    this.startedMonotonicMs = this.time.monotonicMs();
    this.clock =
      options.clock ?? new LamportClock({ wall: this.time, maxFutureUs: config.maxClockFutureMs * 1000 });
    this.nbdServer = new NbdServer({
      socketPath: config.nbd.socket,
      tcpListen: config.nbd.tcpListen,
      maxInFlightPerConnection: config.nbd.maxInFlightPerConnection,
      maxConnections: config.nbd.maxConnections,
      maxHandshakes: config.nbd.maxHandshakes,
      handshakeTimeoutMs: config.nbd.handshakeTimeoutMs,
      maxBufferedBytesPerConnection: config.nbd.maxBufferedBytesPerConnection,
      maxBufferedBytesTotal: config.nbd.maxBufferedBytesTotal,
      replyStallTimeoutMs: config.nbd.replyStallTimeoutMs,
      registry: this.nbdExports,
      metrics: this.metrics,
      logger,
      time: this.time,
    });
    this.frontends.add(new NbdFrontend(this.nbdServer, this.nbdExports));
    // ublk when the addon loaded and /dev/ublk-control is usable; else NBD only, and why.
    const ublk = detectUblk();
    if (ublk.available)
      this.frontends.add(new UblkFrontend(ublk.addon, logger, this.time, this.storage, config.ublk));
    else {
      this.frontends.markUnavailable("ublk", ublk.reason);
      logger.info({ reason: ublk.reason }, "ublk frontend unavailable: serving NBD only");
    }
  }

  /** The admin listener's actual address (port 0 in the config picks a free one). */
  get adminUrl(): string {
    const a = this.adminAddress;
    if (!a) throw new NotStartedError("admin listener not started");
    return `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }

  get resources(): ResourceManager {
    if (!this.resourceManager) throw new NotStartedError("the resource layer is not started");
    return this.resourceManager;
  }

  get cluster(): ClusterService {
    if (!this.clusterService) throw new NotStartedError("the cluster layer is not started");
    return this.clusterService;
  }

  /** The peer listener's actual port (port 0 in the config picks a free one). */
  get peerPort(): number {
    return this.peerServer?.port ?? 0;
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
    const { config, logger } = this;
    const { storage } = this;
    await storage.makeDirectory(config.dataDir, { mode: 0o700 });
    await storage.makeDirectory(config.runDir, { mode: 0o755 });
    await storage.makeDirectory(path.dirname(config.nbd.socket));
    this.releaseLock = await acquirePidLock(storage, path.join(config.dataDir, "marsd.pid"));
    const token = await readOrCreateToken(storage, config.tokenFile);

    await this.startCluster();
    await this.nbdServer.start();
    this.resourceManager = this.createResourceManager();
    this.cluster.leaveBlocker = () => this.resources.leaveBlocker();
    this.startReplicationRoutes();
    await this.resources.loadAll();
    this.jobs = new ScheduledJobs(config.jobs, this.resources, logger, this.time);
    this.jobs.start();

    const validators = compileValidators(loadOpenRpcDocument());
    const endpoint = new RpcEndpoint<NodeServices>(
      validators,
      { "rpc.discover": () => loadOpenRpcDocument(), ...nodeMethods, ...resourceMethods, ...clusterMethods },
      logger,
      this.time,
      this.metrics,
    );
    const app = createAdminApp({
      endpoint,
      context: this,
      token,
      metrics: this.metrics,
      logger,
      maxBodyBytes: config.admin.maxBodyBytes,
      health: () => ({
        ok: !this.stopping,
        details: {
          host: config.host,
          resources: this.resources.list().map((r) => ({ name: r.name, role: r.role, state: r.state })),
        },
      }),
    });
    this.adminApp = app;
    this.rpcEndpoint = endpoint;
    const { host, port } = parseHostPort(config.adminListen);
    const server = http.createServer(app);
    server.keepAliveTimeout = 5_000;
    // Beyond it node closes new connections at once: a flood cannot grow memory per connection.
    server.maxConnections = config.admin.maxConnections;
    server.on("clientError", answerClientError(logger));
    this.metrics.adminLimit.labels("connections").set(config.admin.maxConnections);
    this.metrics.adminLimit.labels("bodyBytes").set(config.admin.maxBodyBytes);
    let adminConnections = 0;
    server.on("connection", (socket) => {
      this.metrics.adminConnections.set(++adminConnections);
      socket.once("close", () => this.metrics.adminConnections.set(--adminConnections));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.httpServer = server;
    this.adminAddress = { host, port: (server.address() as { port: number }).port };
    logger.info(
      { adminUrl: this.adminUrl, nbdSocket: config.nbd.socket, resources: this.resources.list().length },
      "marsd ready",
    );
  }

  private async startCluster(): Promise<void> {
    const { config, logger } = this;
    const listen = parseHostPort(config.peerListen);
    const transport = new NodeTransport({
      ...(config.peer.tls ? { tls: config.peer.tls } : {}),
      maxSocketsPerAddress: config.peer.maxSocketsPerPeer,
    });
    const peerServer = new PeerServer({
      listen,
      transport,
      auth: {
        clusterId: () => this.clusterService?.clusterId(),
        secret: () => this.clusterService?.secret(),
        isRemoved: (host) => this.clusterService?.isRemoved(host) ?? false,
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
      config.peerAdvertise ??
      derivePeerAdvertise(`${listen.host}:${listen.port === 0 ? peerServer.port : listen.port}`);
    this.peerClient = new PeerClient({
      host: config.host,
      clock: this.clock,
      time: this.time,
      metrics: this.metrics,
      transport,
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
      storage: this.storage,
      metrics: this.metrics,
      logger,
      server: peerServer,
      client: this.peerClient,
    });
    cluster.start();
    this.clusterService = cluster;
    logger.info(
      { peerListen: `${listen.host}:${peerServer.port}`, advertise, clusterId: cluster.clusterId() },
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
      },
      cluster: {
        state: cluster.state,
        client,
        credentials: () => {
          const id = cluster.clusterId();
          const secret = cluster.secret();
          return id && secret ? { clusterId: id, secret } : undefined;
        },
        addressOf: (host) => cluster.addressOf(host),
        isAlive: (host) => cluster.isAlive(host),
        exchangedSinceStart: (host) => cluster.exchangedSinceStart(host),
        onStateExchanged: (listener) => cluster.onStateExchanged(listener),
        catchUp: () => cluster.catchUp(),
      },
      frontend: {
        attach: async (resource, volume) => {
          const device = await this.frontends.attach(volume, resource.config.frontend, resource.dir);
          logger.info({ resource: resource.name, device }, "resource exported");
        },
        detach: (name) => this.frontends.detach(name),
      },
      onFatal: (resource, err) => this.fatal(resource, err),
    });
  }

  /** Log shipping and full sync, served on the peer listener. */
  private startReplicationRoutes(): void {
    const server = this.peerServer as PeerServer;
    const storage = this.storage;
    this.logServer = new LogServer({
      server,
      storage,
      time: this.time,
      metrics: this.metrics,
      logger: this.logger,
      lookup: (name) => {
        const resource = this.resources.get(name);
        return resource && resource.state === "running" ? { logs: resource.logs } : undefined;
      },
      chunkBytes: this.config.replication.chunkBytes,
      heartbeatMs: this.config.replication.heartbeatMs,
      maxWaitMs: 60_000,
    });
    new SyncServer(
      server,
      (name) => {
        const resource = this.resources.get(name);
        const volume = resource?.volume;
        return resource && volume ? { volume, durablePosition: () => resource.durablePosition() } : undefined;
      },
      this.metrics,
    );
  }

  /** Graceful stop; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    this.logger.info("stopping: draining IO, finishing logs");
    this.jobs?.stop();
    await this.frontends.detachAll();
    await this.nbdServer.close(this.config.shutdownGraceMs);
    this.logServer?.closeAll();
    await this.resourceManager?.closeAll();
    await this.clusterService?.stop();
    await this.peerServer?.close();
    this.peerClient?.close();
    if (this.httpServer) {
      const server = this.httpServer;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        this.time.setTimer(2_000, () => server.closeAllConnections()).unref();
      });
    }
    await this.releaseLock?.();
    this.logger.info("stopped");
  }

  private fatal(resource: string, err: unknown): void {
    this.logger.fatal({ err, resource }, "log or disk failure: stopping for restart and recovery");
    if (this.options.onFatal) this.options.onFatal(err);
    else {
      void this.stop().finally(() => process.exit(EXIT_FATAL));
    }
  }
}

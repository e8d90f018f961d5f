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
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import type { Logger } from "pino";
import type { LamportClock } from "../log/lamport-clock.js";
import type { ClusterService } from "../cluster/cluster.js";
import { ScheduledJobs } from "./jobs.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import { FrontendSet } from "../frontend/frontend-set.js";
import { NbdExports, NbdFrontend } from "../frontend/nbd/nbd-frontend.js";
import { NbdServer, parseHostPort } from "../frontend/nbd/server.js";
import { detectUblk } from "../frontend/ublk/availability.js";
import { UblkFrontend } from "../frontend/ublk/ublk-frontend.js";
import { Metrics } from "../metrics/metrics.js";
import type { ResourceManager } from "../resource/manager.js";
import { answerClientError, createAdminApp } from "../rpc/admin-app.js";
import type { RpcEndpoint } from "../rpc/endpoint.js";
import { systemClock, type Clock } from "../platform/clock.js";
import { NodeTransport } from "../platform/node-transport.js";
import { nodeStorage } from "../platform/storage/node-file.js";
import type { Storage } from "../platform/storage/types.js";
import type { DaemonConfig } from "./config.js";
import { NodeCore } from "./node-core.js";
import { readOrCreateToken } from "./admin-token.js";
import { acquirePidLock } from "./pid-lock.js";
import type { NodeServices } from "../rpc/context.js";

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
  readonly time: Clock;
  readonly storage: Storage;
  readonly metrics = new Metrics();
  readonly frontends = new FrontendSet();
  /** Cluster, peers, resources and RPC methods: everything but the edges this class adds. */
  readonly core: NodeCore;
  private jobs: ScheduledJobs | undefined;
  private readonly nbdExports = new NbdExports();
  private readonly nbdServer: NbdServer;
  private httpServer: http.Server | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private stopped: Promise<void> | undefined;
  private adminAddress: { host: string; port: number } | undefined;
  /** The admin HTTP app and its JSON-RPC endpoint, once started (tests drive them in-process). */
  adminApp: Express | undefined;
  rpcEndpoint: RpcEndpoint<NodeServices> | undefined;

  constructor(
    readonly config: DaemonConfig,
    readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.time = options.time ?? systemClock;
    this.storage = options.storage ?? nodeStorage;
    this.core = new NodeCore({
      config,
      logger,
      time: this.time,
      storage: this.storage,
      transport: new NodeTransport({
        ...(config.peer.tls ? { tls: config.peer.tls } : {}),
        maxSocketsPerAddress: config.peer.maxSocketsPerPeer,
      }),
      metrics: this.metrics,
      frontends: this.frontends,
      ...(options.clock ? { clock: options.clock } : {}),
      onFatal: (resource, err) => this.fatal(resource, err),
    });
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

  get clock(): LamportClock {
    return this.core.clock;
  }

  /** The admin listener's actual address (port 0 in the config picks a free one). */
  get adminUrl(): string {
    const a = this.adminAddress;
    if (!a) throw new Error("admin listener not started");
    return `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }

  get resources(): ResourceManager {
    return this.core.resources;
  }

  get cluster(): ClusterService {
    return this.core.cluster;
  }

  /** The peer listener's actual port (port 0 in the config picks a free one). */
  get peerPort(): number {
    return this.core.peerPort;
  }

  deviceOf(resource: string): DeviceInfo | undefined {
    return this.core.deviceOf(resource);
  }

  isStopping(): boolean {
    return this.core.isStopping();
  }

  uptimeSeconds(): number {
    return this.core.uptimeSeconds();
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const { storage } = this;
    await makeDirectoryDurable(config.dataDir, storage, { mode: 0o700 });
    await storage.makeDirectory(config.runDir, { mode: 0o755 });
    await storage.makeDirectory(path.dirname(config.nbd.socket));
    this.releaseLock = await acquirePidLock(storage, path.join(config.dataDir, "marsd.pid"));
    const token = await readOrCreateToken(storage, config.tokenFile);

    // The NBD listener before the core: recovering a resource exports its volume.
    await this.nbdServer.start();
    await this.core.start();
    this.jobs = new ScheduledJobs(config.jobs, this.resources, logger, this.time);
    this.jobs.start();

    const endpoint = this.core.rpc;
    const app = createAdminApp({
      endpoint,
      context: this,
      token,
      metrics: this.metrics,
      logger,
      maxBodyBytes: config.admin.maxBodyBytes,
      health: () => ({
        ok: !this.isStopping(),
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

  /** Graceful stop; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.core.markStopping();
    this.logger.info("stopping: draining IO, finishing logs");
    this.jobs?.stop();
    await this.frontends.detachAll();
    await this.nbdServer.close(this.config.shutdownGraceMs);
    await this.core.stop();
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

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
import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import type { Logger } from "pino";
import { LamportClock } from "../cluster/clock.js";
import type { DeviceInfo } from "../frontend/frontend.js";
import { FrontendSet } from "../frontend/frontend-set.js";
import { NbdExports, NbdFrontend } from "../frontend/nbd/nbd-frontend.js";
import { NbdServer, parseHostPort } from "../frontend/nbd/server.js";
import { Metrics } from "../metrics/metrics.js";
import { ResourceManager } from "../resource/manager.js";
import type { Resource } from "../resource/resource.js";
import { createAdminApp } from "../rpc/admin-app.js";
import { RpcEndpoint } from "../rpc/endpoint.js";
import { nodeMethods } from "../rpc/methods/node.js";
import { resourceMethods } from "../rpc/methods/resource.js";
import { compileValidators, loadOpenRpcDocument } from "../rpc/openrpc.js";
import { writeFileAtomic } from "../storage/atomic-file.js";
import { nodeStorage } from "../storage/node-file.js";
import type { Storage } from "../storage/types.js";
import { isErrno } from "../util/errors.js";
import type { DaemonConfig } from "./config.js";
import { acquirePidLock } from "./pid-lock.js";
import type { NodeServices } from "./services.js";

export interface DaemonOptions {
  storage?: Storage;
  clock?: LamportClock;
  /** Called when a resource's log or disk failed for good (default: the process exits for a restart). */
  onFatal?: (err: unknown) => void;
}

/** Exit status after a fatal log/disk failure: systemd restarts us and recovery runs. */
export const EXIT_FATAL = 70;

export async function readOrCreateToken(file: string): Promise<string> {
  try {
    const token = (await readFile(file, "utf8")).trim();
    if (token.length < 16) throw new Error(`admin token in ${file} is shorter than 16 characters`);
    return token;
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
    const token = randomBytes(32).toString("hex");
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, token + "\n");
    return token;
  }
}

export class Daemon implements NodeServices {
  readonly clock: LamportClock;
  readonly metrics = new Metrics();
  readonly resources: ResourceManager;
  readonly startedAtMs = Date.now();
  private readonly nbdExports = new NbdExports();
  private readonly nbdServer: NbdServer;
  readonly frontends = new FrontendSet();
  private httpServer: http.Server | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private adminAddress: { host: string; port: number } | undefined;

  constructor(
    readonly config: DaemonConfig,
    readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.clock = options.clock ?? new LamportClock();
    this.resources = new ResourceManager({
      dataDir: config.dataDir,
      host: config.host,
      storage: options.storage ?? nodeStorage,
      clock: this.clock,
      metrics: this.metrics,
      logger,
      settings: {
        logRotateBytes: config.log.rotateBytes,
        checkpointIntervalMs: config.log.checkpointIntervalMs,
        writerLimits: {
          maxBatchBytes: config.log.maxBatchBytes,
          maxBatchRecords: 256,
          maxPendingBytes: config.log.maxPendingBytes,
        },
        volume: {
          maxRecordPayloadBytes: config.log.maxRecordPayloadBytes,
          maxZeroRecordBytes: 64 * 1024 * 1024,
        },
      },
      onFatal: (resource, err) => this.fatal(resource, err),
    });
    this.nbdServer = new NbdServer({
      socketPath: config.nbd.socket,
      tcpListen: config.nbd.tcpListen,
      maxInFlightPerConnection: config.nbd.maxInFlightPerConnection,
      maxConnections: config.nbd.maxConnections,
      handshakeTimeoutMs: 30_000,
      registry: this.nbdExports,
      metrics: this.metrics,
      logger,
    });
    this.frontends.add(new NbdFrontend(this.nbdServer, this.nbdExports));
    this.frontends.markUnavailable("ublk", "the ublk frontend is not built into this daemon");
  }

  /** The admin listener's actual address (port 0 in the config picks a free one). */
  get adminUrl(): string {
    const a = this.adminAddress;
    if (!a) throw new Error("admin listener not started");
    return `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }

  deviceOf(resource: string): DeviceInfo | undefined {
    return this.frontends.device(resource);
  }

  isStopping(): boolean {
    return this.stopping;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(config.runDir, { recursive: true, mode: 0o755 });
    await mkdir(path.dirname(config.nbd.socket), { recursive: true });
    this.releaseLock = await acquirePidLock(path.join(config.dataDir, "marsd.pid"));
    const token = await readOrCreateToken(config.tokenFile);

    await this.nbdServer.start();
    this.resources.on("added", (resource) => {
      this.exportResource(resource).catch((err: unknown) =>
        logger.error({ err, resource: resource.name }, "exporting failed"),
      );
    });
    this.resources.beforeRemove = (name) => this.frontends.detach(name);
    await this.resources.loadAll();

    const validators = compileValidators(loadOpenRpcDocument());
    const endpoint = new RpcEndpoint<NodeServices>(
      validators,
      { "rpc.discover": () => loadOpenRpcDocument(), ...nodeMethods, ...resourceMethods },
      logger,
      this.metrics,
    );
    const app = createAdminApp({
      endpoint,
      context: this,
      token,
      metrics: this.metrics,
      logger,
      health: () => ({
        ok: !this.stopping,
        details: {
          host: config.host,
          resources: this.resources.list().map((r) => ({ name: r.name, state: r.state })),
        },
      }),
    });
    const { host, port } = parseHostPort(config.adminListen);
    const server = http.createServer(app);
    server.keepAliveTimeout = 5_000;
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

  private async exportResource(resource: Resource): Promise<void> {
    const volume = resource.volume;
    if (!volume) return;
    const device = await this.frontends.attach(volume, resource.config.frontend, resource.dir);
    this.logger.info({ resource: resource.name, device }, "resource exported");
  }

  /** Graceful stop; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    this.logger.info("stopping: draining IO, finishing logs");
    await this.frontends.detachAll();
    await this.nbdServer.close(this.config.shutdownGraceMs);
    await this.resources.closeAll();
    if (this.httpServer) {
      const server = this.httpServer;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
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

import path from "node:path";
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import { ScheduledJobs } from "./jobs.js";
import { FrontendSet } from "../frontend/frontend-set.js";
import { NbdExports, NbdFrontend } from "../frontend/nbd/nbd-frontend.js";
import { NbdServer, parseHostPort } from "../frontend/nbd/server.js";
import { detectUblk } from "../frontend/ublk/availability.js";
import { UblkFrontend } from "../frontend/ublk/ublk-frontend.js";
import { Metrics } from "../metrics/metrics.js";
import { answerClientError, createAdminApp } from "../rpc/admin-app.js";
import { systemClock } from "../platform/clock.js";
import { NodeTransport } from "../platform/node-transport.js";
import { listenHttp } from "../platform/http-listener.js";
import { nodeStorage } from "../platform/storage/node-file.js";
import { systemRandom } from "../platform/random.js";
import { NodeCore } from "./node-core.js";
import { readOrCreateToken } from "./admin-token.js";
import { acquirePidLock } from "./pid-lock.js";
import { NotStartedError } from "../util/errors.js";
import { MAX_COMPRESSIONS_IN_FLIGHT, threadPoolCompressor } from "../replication/compression.js";
import { compressionSlots } from "../metrics/compression-metrics.js";
export class Daemon {
    config;
    logger;
    options;
    time;
    random;
    storage;
    metrics = new Metrics();
    frontends = new FrontendSet();
    /** Cluster, peers, resources and RPC methods: everything but the edges this class adds. */
    core;
    jobs;
    nbdExports = new NbdExports();
    nbdServer;
    adminListener;
    releaseLock;
    stopped;
    adminAddress;
    /** The admin HTTP app and its JSON-RPC endpoint, once started (tests drive them in-process). */
    adminApp;
    rpcEndpoint;
    constructor(config, logger, options = {}) {
        this.config = config;
        this.logger = logger;
        this.options = options;
        this.time = options.time ?? systemClock;
        this.random = options.random ?? systemRandom;
        this.storage = options.storage ?? nodeStorage;
        this.core = new NodeCore({
            config,
            logger,
            time: this.time,
            storage: this.storage,
            random: this.random,
            transport: new NodeTransport({
                ...(config.peer.tls ? { tls: config.peer.tls } : {}),
                maxSocketsPerAddress: config.peer.maxSocketsPerPeer,
            }),
            metrics: this.metrics,
            frontends: this.frontends,
            ...(options.clock ? { clock: options.clock } : {}),
            onResourceFailed: (resource, err) => this.options.onResourceFailed?.(resource, err),
            compress: threadPoolCompressor(MAX_COMPRESSIONS_IN_FLIGHT, compressionSlots(this.metrics.compression)),
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
            this.frontends.add(new UblkFrontend(ublk.addon, logger, this.time, this.storage, this.random, config.ublk, (name) => this.metrics.ublkObserver(name)));
        else {
            this.frontends.markUnavailable("ublk", ublk.reason);
            logger.info({ reason: ublk.reason }, "ublk frontend unavailable: serving NBD only");
        }
    }
    get clock() {
        return this.core.clock;
    }
    /** The admin listener's actual address (port 0 in the config picks a free one). */
    get adminUrl() {
        const a = this.adminAddress;
        if (!a)
            throw new NotStartedError("admin listener not started");
        return `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
    }
    get resources() {
        return this.core.resources;
    }
    get transfers() {
        return this.core.transfers;
    }
    get cluster() {
        return this.core.cluster;
    }
    /** The peer listener's actual port (port 0 in the config picks a free one). */
    get peerPort() {
        return this.core.peerPort;
    }
    deviceOf(resource) {
        return this.core.deviceOf(resource);
    }
    isStopping() {
        return this.core.isStopping();
    }
    uptimeSeconds() {
        return this.core.uptimeSeconds();
    }
    async start() {
        const { config, logger } = this;
        const { storage } = this;
        await makeDirectoryDurable(config.dataDir, storage, { mode: 0o700 });
        await storage.makeDirectory(config.runDir, { mode: 0o755 });
        await storage.makeDirectory(path.dirname(config.nbd.socket));
        this.releaseLock = await acquirePidLock(storage, path.join(config.dataDir, "marsd.pid"));
        const token = await readOrCreateToken(storage, this.random, config.tokenFile);
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
        this.metrics.adminLimit.labels("connections").set(config.admin.maxConnections);
        this.metrics.adminLimit.labels("bodyBytes").set(config.admin.maxBodyBytes);
        // Beyond maxConnections new connections are closed at once: a flood cannot grow memory per connection.
        this.adminListener = await listenHttp(app, {
            host,
            port,
            maxConnections: config.admin.maxConnections,
            keepAliveTimeoutMs: 5_000,
            onClientError: answerClientError(logger),
            onConnectionCount: (open) => this.metrics.adminConnections.set(open),
        });
        this.adminAddress = { host, port: this.adminListener.port };
        logger.info({ adminUrl: this.adminUrl, nbdSocket: config.nbd.socket, resources: this.resources.list().length }, "marsd ready");
    }
    /** Graceful stop; idempotent. */
    stop() {
        this.stopped ??= this.doStop();
        return this.stopped;
    }
    async doStop() {
        this.core.markStopping();
        this.logger.info("stopping: draining IO, finishing logs");
        this.jobs?.stop();
        await this.frontends.detachAll();
        await this.nbdServer.close(this.config.shutdownGraceMs);
        await this.core.stop();
        // In-flight admin requests get 2 s, idle keep-alive connections close at once.
        await this.adminListener?.close(2_000);
        await this.releaseLock?.();
        this.logger.info("stopped");
    }
}
//# sourceMappingURL=daemon.js.map
#!/usr/bin/env -S node --no-incremental-marking
/**
 * marsd: the per-node daemon. Configuration comes from --config (JSON) and
 * flags; see docs/operations.md. SIGTERM/SIGINT stop it gracefully (exit
 * 0); a failed log or disk fails only its resource, which recovers in
 * place (src/resource/failure-recovery.ts), so the process does not exit.
 */
import { Command } from "commander";
import { ConfigError, loadConfig } from "./config-loader.js";
import { Daemon } from "./daemon.js";
import { createLogger } from "./logger.js";
import { BUILD } from "../platform/build-info.js";
import { missingGcFlags } from "./gc-tuning.js";
import { systemClock } from "../platform/clock.js";
import { nodeStorage } from "../platform/storage/node-file.js";
import { createServiceNotifier, defaultNotifySender } from "../platform/sd-notify.js";
async function main() {
    const program = new Command("marsd")
        .description("Asynchronous long-distance block device replication daemon")
        .version(`${BUILD.version} (${BUILD.commit})`)
        .option("-c, --config <file>", "JSON configuration file")
        .option("--data-dir <dir>", "node data directory (logs, state)")
        .option("--run-dir <dir>", "runtime directory (sockets)")
        .option("--host <name>", "this node's permanent name")
        .option("--admin-listen <host:port>", "admin listener (JSON-RPC, metrics)")
        .option("--token-file <file>", "admin bearer token file (created if missing)")
        .option("--nbd-socket <path>", "NBD Unix socket")
        .option("--nbd-listen <host:port>", "also serve NBD on TCP")
        .option("--log-level <level>", "trace|debug|info|warn|error|fatal")
        .option("--peer-listen <host:port>", "peer listener (cluster traffic)")
        .option("--peer-advertise <host:port>", "address other nodes use to reach this one")
        .parse();
    const flags = program.opts();
    const overrides = {
        dataDir: flags.dataDir,
        runDir: flags.runDir,
        host: flags.host,
        adminListen: flags.adminListen,
        tokenFile: flags.tokenFile,
        logLevel: flags.logLevel,
        nbd: { socket: flags.nbdSocket, tcpListen: flags.nbdListen },
        peerListen: flags.peerListen,
        peerAdvertise: flags.peerAdvertise,
    };
    let config;
    try {
        config = await loadConfig(nodeStorage, flags.config, overrides);
    }
    catch (err) {
        if (err instanceof ConfigError) {
            process.stderr.write(`marsd: ${err.message}\n`);
            process.exit(2);
        }
        throw err;
    }
    const logger = createLogger(config.logLevel, config.host);
    const missing = missingGcFlags();
    if (missing.length > 0) {
        logger.warn({ missing }, "node was started without the daemon's GC flags: large writes may slow later small ones (docs/performance.md)");
    }
    const daemon = new Daemon(config, logger, { time: systemClock, storage: nodeStorage });
    // systemd's Type=notify (systemd/marsd.service); a no-op without NOTIFY_SOCKET.
    const notifier = createServiceNotifier({
        time: systemClock,
        env: process.env,
        pid: process.pid,
        sender: defaultNotifySender(),
        onError: (message, err) => logger.warn({ err }, message),
    });
    let signals = 0;
    const onSignal = (signal) => {
        signals += 1;
        if (signals > 1) {
            logger.warn({ signal }, "second signal: exiting without a clean stop");
            process.exit(1);
        }
        logger.info({ signal }, "signal received");
        void notifier.stopping(`stopping on ${signal}`);
        daemon.stop().then(() => process.exit(0), (err) => {
            logger.fatal({ err }, "clean stop failed");
            process.exit(1);
        });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    try {
        await daemon.start();
    }
    catch (err) {
        logger.fatal({ err }, "start-up failed");
        await daemon.stop().catch(() => undefined);
        process.exit(1);
    }
    // Start-up is complete here: the NBD and peer listeners, the admin RPC
    // listener and every resource run (Daemon.start resolves last of all).
    if (signals === 0) {
        await notifier.ready(`serving as ${config.host}`);
        notifier.startWatchdog();
        if (notifier.enabled)
            logger.info({ via: notifier.via, watchdogIntervalMs: notifier.watchdogIntervalMs ?? null }, "told systemd: ready");
    }
}
void main();
//# sourceMappingURL=main.js.map
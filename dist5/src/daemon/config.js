/**
 * Daemon configuration: its shape (DaemonConfig) and its defaults.
 *
 * The effective configuration is these defaults, then the JSON config file,
 * then command line flags (config-loader.ts), validated as a whole against
 * config-schema.ts. Defaults come from the modules' own DEFAULT_* settings
 * where a module has them, so they live once.
 */
import os from "node:os";
import path from "node:path";
import { MAX_PAYLOAD_BYTES } from "../frontend/nbd/protocol.js";
import { DEFAULT_MAX_FUTURE_US } from "../log/lamport-clock.js";
import { DEFAULT_BATCHES_IN_FLIGHT, DEFAULT_PREALLOCATE_BYTES, DEFAULT_WRITER_LIMITS, } from "../log/writer-settings.js";
import { DEFAULT_VOLUME_OPTIONS } from "../resource/volume.js";
import { DEFAULT_RECOVERY_BACKOFF } from "../resource/failure-recovery.js";
import { DEFAULT_LOG_SPACE_SETTINGS } from "../resource/log-space-levels.js";
import { DEFAULT_UBLK_OPTIONS } from "../frontend/ublk/device.js";
import { DEFAULT_COMPRESSION_LEVEL } from "../replication/compression.js";
import { DEFAULT_JOB_SCHEDULES } from "./jobs.js";
/** Whether compression is on for a resource (its own setting, else the node's). */
export function compressionEnabled(settings, resource) {
    return settings.resources?.[resource]?.enabled ?? settings.enabled;
}
/** Smallest NBD byte budget: one maximal request (32 MiB payload) plus room for a socket read. */
export const MIN_NBD_BUFFERED_BYTES = MAX_PAYLOAD_BYTES + 1024 * 1024;
function defaultHost() {
    const name = os
        .hostname()
        .toLowerCase()
        .split(".")[0]
        ?.replace(/[^a-z0-9-]/g, "-") ?? "";
    return /^[a-z]/.test(name) ? name.slice(0, 63) : `node-${name}`.slice(0, 63);
}
export function defaultConfig(overrides = {}) {
    const dataDir = overrides.dataDir ?? "/var/lib/marsd";
    const runDir = overrides.runDir ?? "/run/marsd";
    return {
        host: defaultHost(),
        dataDir,
        runDir,
        adminListen: "127.0.0.1:7780",
        tokenFile: path.join(dataDir, "admin.token"),
        admin: { maxBodyBytes: 1024 * 1024, maxConnections: 64 },
        logLevel: "info",
        nbd: {
            socket: path.join(runDir, "nbd.sock"),
            maxInFlightPerConnection: 128,
            maxConnections: 256,
            maxHandshakes: 64,
            handshakeTimeoutMs: 10_000,
            maxBufferedBytesPerConnection: 64 * 1024 * 1024,
            maxBufferedBytesTotal: 256 * 1024 * 1024,
            replyStallTimeoutMs: 30_000,
        },
        log: {
            rotateBytes: 1024 * 1024 * 1024,
            maxBatchBytes: DEFAULT_WRITER_LIMITS.maxBatchBytes,
            maxPendingBytes: DEFAULT_WRITER_LIMITS.maxPendingBytes,
            maxRecordPayloadBytes: DEFAULT_VOLUME_OPTIONS.maxRecordPayloadBytes,
            checkpointIntervalMs: 1000,
            maxBatchesInFlight: DEFAULT_BATCHES_IN_FLIGHT,
            preallocateBytes: DEFAULT_PREALLOCATE_BYTES,
        },
        shutdownGraceMs: 10_000,
        peerListen: "0.0.0.0:7777",
        peer: {
            addressOverrides: {},
            syncIntervalMs: 5_000,
            retryMaxMs: 10_000,
            aliveWindowMs: 30_000,
            timeWindowMs: 300_000,
            requestTimeoutMs: 30_000,
            maxBodyBytes: 64 * 1024 * 1024,
            maxRequestBodyBytes: 16 * 1024 * 1024,
            maxControlBodyBytes: 256 * 1024,
            maxConnections: 1024,
            maxUnauthenticatedRequests: 32,
            maxUnauthenticatedBytes: 32 * 1024 * 1024,
            replayLeaseMs: 1000,
            maxSocketsPerPeer: 16,
            tombstoneMinAgeMs: 3_600_000,
        },
        maxClockFutureMs: DEFAULT_MAX_FUTURE_US / 1000,
        replication: {
            statusPublishMs: 2_000,
            listWaitMs: 20_000,
            heartbeatMs: 5_000,
            chunkBytes: 1024 * 1024,
            fetchSyncEveryBytes: 8 * 1024 * 1024,
            replayMaxInFlight: 64,
        },
        jobs: { ...DEFAULT_JOB_SCHEDULES },
        ublk: { ...DEFAULT_UBLK_OPTIONS },
        resourceRecovery: {
            initialBackoffMs: DEFAULT_RECOVERY_BACKOFF.initialMs,
            maxBackoffMs: DEFAULT_RECOVERY_BACKOFF.maxMs,
        },
        emergency: { enabled: true, dirtyGranularityBytes: 1024 * 1024, retryMs: 5_000 },
        lagging: { maxLagBytes: 64 * 1024 ** 3, maxLagSeconds: 86_400 },
        logSpace: structuredClone(DEFAULT_LOG_SPACE_SETTINGS),
        bandwidth: { syncBytesPerSec: 0, fetchBytesPerSec: 0 },
        sync: { maxConcurrent: 2, maxInFlightBytes: 64 * 1024 * 1024 },
        // On: brotli at quality 1 costs ~0.5 ms per MiB of compressible data and ~1 ms of incompressible
        // data (docs/performance.md), a few percent of a core at LAN rates, and saves most of a WAN link.
        compression: { enabled: true, codec: "brotli", level: DEFAULT_COMPRESSION_LEVEL.brotli },
    };
}
/**
 * The address to advertise when none is configured: the listen address if
 * it is specific, else this machine's first non-internal IPv4 address.
 */
export function derivePeerAdvertise(peerListen) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(peerListen);
    const host = m?.[1] ?? m?.[2] ?? "0.0.0.0";
    const port = m?.[3] ?? "7777";
    if (host !== "0.0.0.0" && host !== "::")
        return peerListen;
    for (const addresses of Object.values(os.networkInterfaces())) {
        for (const a of addresses ?? [])
            if (a.family === "IPv4" && !a.internal)
                return `${a.address}:${port}`;
    }
    return `127.0.0.1:${port}`;
}
//# sourceMappingURL=config.js.map
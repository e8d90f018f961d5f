/**
 * The JSON schema of the whole daemon configuration, compiled once.
 *
 * `validateConfig` accepts only a complete configuration (defaults already
 * applied) with no unknown keys, every bound within its range, and valid
 * host names and "host:port" addresses; it reports every error at once
 * (`validateConfig.errors`). Checks across fields live in config-loader.ts.
 */
import { Ajv } from "ajv";
import { MAX_UBLK_QUEUES } from "../frontend/ublk/device.js";
import { MIN_NBD_BUFFERED_BYTES } from "./config.js";
const HOST_PATTERN = "^[a-z][a-z0-9-]{0,62}$";
const ADDRESS_PATTERN = "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$";
/** A bandwidth limit: bytes per second, 0 for none (up to 100 GB/s). */
const BYTES_PER_SEC = { type: "integer", minimum: 0, maximum: 100_000_000_000 };
/** A log space threshold: free bytes and percent of the size (0 turns a criterion off). */
const SPACE_THRESHOLD = {
    type: "object",
    additionalProperties: false,
    required: ["freeBytes", "freePercent"],
    properties: {
        freeBytes: { type: "integer", minimum: 0, maximum: 2 ** 53 },
        freePercent: { type: "number", minimum: 0, maximum: 100 },
    },
};
const schema = {
    type: "object",
    additionalProperties: false,
    required: [
        "host",
        "dataDir",
        "runDir",
        "adminListen",
        "tokenFile",
        "admin",
        "logLevel",
        "nbd",
        "log",
        "shutdownGraceMs",
        "peerListen",
        "peer",
        "maxClockFutureMs",
        "replication",
        "jobs",
        "ublk",
        "resourceRecovery",
        "emergency",
        "logSpace",
        "lagging",
        "bandwidth",
        "sync",
        "compression",
    ],
    properties: {
        host: { type: "string", pattern: HOST_PATTERN },
        dataDir: { type: "string", minLength: 1 },
        runDir: { type: "string", minLength: 1 },
        adminListen: { type: "string", pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" },
        tokenFile: { type: "string", minLength: 1 },
        admin: {
            type: "object",
            additionalProperties: false,
            required: ["maxBodyBytes", "maxConnections"],
            properties: {
                maxBodyBytes: { type: "integer", minimum: 4096, maximum: 268435456 },
                maxConnections: { type: "integer", minimum: 1, maximum: 65536 },
            },
        },
        logLevel: { enum: ["trace", "debug", "info", "warn", "error", "fatal"] },
        nbd: {
            type: "object",
            additionalProperties: false,
            required: [
                "socket",
                "maxInFlightPerConnection",
                "maxConnections",
                "maxHandshakes",
                "handshakeTimeoutMs",
                "maxBufferedBytesPerConnection",
                "maxBufferedBytesTotal",
                "replyStallTimeoutMs",
            ],
            properties: {
                socket: { type: "string", minLength: 1, maxLength: 100 },
                tcpListen: { type: "string", pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" },
                maxInFlightPerConnection: { type: "integer", minimum: 1, maximum: 4096 },
                maxConnections: { type: "integer", minimum: 1, maximum: 65536 },
                maxHandshakes: { type: "integer", minimum: 1, maximum: 65536 },
                handshakeTimeoutMs: { type: "integer", minimum: 100, maximum: 600_000 },
                // One request of the largest size plus a socket read must fit, or a connection could stall.
                maxBufferedBytesPerConnection: { type: "integer", minimum: MIN_NBD_BUFFERED_BYTES, maximum: 2 ** 40 },
                maxBufferedBytesTotal: { type: "integer", minimum: MIN_NBD_BUFFERED_BYTES, maximum: 2 ** 42 },
                replyStallTimeoutMs: { type: "integer", minimum: 100, maximum: 3_600_000 },
            },
        },
        log: {
            type: "object",
            additionalProperties: false,
            required: [
                "rotateBytes",
                "maxBatchBytes",
                "maxPendingBytes",
                "maxRecordPayloadBytes",
                "checkpointIntervalMs",
                "maxBatchesInFlight",
                "preallocateBytes",
            ],
            properties: {
                rotateBytes: { type: "integer", minimum: 1048576 },
                maxBatchBytes: { type: "integer", minimum: 65536, maximum: 268435456 },
                maxPendingBytes: { type: "integer", minimum: 1048576 },
                maxRecordPayloadBytes: { type: "integer", minimum: 4096, maximum: 16777216 },
                checkpointIntervalMs: { type: "integer", minimum: 10, maximum: 3600000 },
                maxBatchesInFlight: { type: "integer", minimum: 1, maximum: 64 },
                preallocateBytes: { type: "integer", minimum: 0, maximum: 1073741824 },
            },
        },
        shutdownGraceMs: { type: "integer", minimum: 0 },
        peerListen: { type: "string", pattern: ADDRESS_PATTERN },
        peerAdvertise: { type: "string", pattern: ADDRESS_PATTERN },
        peer: {
            type: "object",
            additionalProperties: false,
            required: [
                "addressOverrides",
                "syncIntervalMs",
                "retryMaxMs",
                "aliveWindowMs",
                "timeWindowMs",
                "requestTimeoutMs",
                "maxBodyBytes",
                "maxRequestBodyBytes",
                "maxControlBodyBytes",
                "maxConnections",
                "maxUnauthenticatedRequests",
                "maxUnauthenticatedBytes",
                "replayLeaseMs",
                "maxSocketsPerPeer",
                "tombstoneMinAgeMs",
            ],
            properties: {
                tls: {
                    type: "object",
                    additionalProperties: false,
                    required: ["certFile", "keyFile", "caFile"],
                    properties: {
                        certFile: { type: "string", minLength: 1 },
                        keyFile: { type: "string", minLength: 1 },
                        caFile: { type: "string", minLength: 1 },
                    },
                },
                addressOverrides: {
                    type: "object",
                    propertyNames: { pattern: HOST_PATTERN },
                    additionalProperties: { type: "string", pattern: ADDRESS_PATTERN },
                },
                syncIntervalMs: { type: "integer", minimum: 50, maximum: 3600000 },
                retryMaxMs: { type: "integer", minimum: 50, maximum: 3600000 },
                aliveWindowMs: { type: "integer", minimum: 100 },
                timeWindowMs: { type: "integer", minimum: 1000 },
                requestTimeoutMs: { type: "integer", minimum: 100 },
                maxBodyBytes: { type: "integer", minimum: 65536 },
                maxRequestBodyBytes: { type: "integer", minimum: 65536, maximum: 1073741824 },
                maxControlBodyBytes: { type: "integer", minimum: 4096, maximum: 1073741824 },
                maxConnections: { type: "integer", minimum: 1, maximum: 1048576 },
                maxUnauthenticatedRequests: { type: "integer", minimum: 1, maximum: 65536 },
                maxUnauthenticatedBytes: { type: "integer", minimum: 65536 },
                replayLeaseMs: { type: "integer", minimum: 0, maximum: 60000 },
                maxSocketsPerPeer: { type: "integer", minimum: 1, maximum: 256 },
                tombstoneMinAgeMs: { type: "integer", minimum: 0 },
            },
        },
        maxClockFutureMs: { type: "integer", minimum: 1000 },
        replication: {
            type: "object",
            additionalProperties: false,
            required: [
                "statusPublishMs",
                "listWaitMs",
                "heartbeatMs",
                "chunkBytes",
                "fetchSyncEveryBytes",
                "replayMaxInFlight",
            ],
            properties: {
                statusPublishMs: { type: "integer", minimum: 50, maximum: 600000 },
                listWaitMs: { type: "integer", minimum: 100, maximum: 60000 },
                heartbeatMs: { type: "integer", minimum: 100, maximum: 60000 },
                chunkBytes: { type: "integer", minimum: 4096, maximum: 4194304 },
                fetchSyncEveryBytes: { type: "integer", minimum: 65536 },
                replayMaxInFlight: { type: "integer", minimum: 1, maximum: 4096 },
            },
        },
        resourceRecovery: {
            type: "object",
            additionalProperties: false,
            required: ["initialBackoffMs", "maxBackoffMs"],
            properties: {
                initialBackoffMs: { type: "integer", minimum: 10, maximum: 3600000 },
                maxBackoffMs: { type: "integer", minimum: 10, maximum: 3600000 },
            },
        },
        emergency: {
            type: "object",
            additionalProperties: false,
            required: ["enabled", "dirtyGranularityBytes", "retryMs"],
            properties: {
                enabled: { type: "boolean" },
                // A power of two from 4 KiB to 64 MiB (checked in config-loader.ts).
                dirtyGranularityBytes: { type: "integer", minimum: 4096, maximum: 67108864 },
                retryMs: { type: "integer", minimum: 100, maximum: 3600000 },
            },
        },
        lagging: {
            type: "object",
            additionalProperties: false,
            required: ["maxLagBytes", "maxLagSeconds"],
            properties: {
                maxLagBytes: { type: "integer", minimum: 1048576 },
                maxLagSeconds: { type: "integer", minimum: 1 },
                // Per resource: either limit overrides the node's default.
                resources: {
                    type: "object",
                    maxProperties: 4096,
                    additionalProperties: {
                        type: "object",
                        additionalProperties: false,
                        properties: {
                            maxLagBytes: { type: "integer", minimum: 1048576 },
                            maxLagSeconds: { type: "integer", minimum: 1 },
                        },
                    },
                },
            },
        },
        bandwidth: {
            type: "object",
            additionalProperties: false,
            required: ["syncBytesPerSec", "fetchBytesPerSec"],
            properties: {
                syncBytesPerSec: BYTES_PER_SEC,
                fetchBytesPerSec: BYTES_PER_SEC,
                resources: {
                    type: "object",
                    maxProperties: 4096,
                    additionalProperties: {
                        type: "object",
                        additionalProperties: false,
                        properties: { syncBytesPerSec: BYTES_PER_SEC, fetchBytesPerSec: BYTES_PER_SEC },
                    },
                },
            },
        },
        sync: {
            type: "object",
            additionalProperties: false,
            required: ["maxConcurrent", "maxInFlightBytes"],
            properties: {
                maxConcurrent: { type: "integer", minimum: 1, maximum: 64 },
                maxInFlightBytes: { type: "integer", minimum: 1048576, maximum: 1073741824 },
            },
        },
        compression: {
            type: "object",
            additionalProperties: false,
            required: ["enabled", "codec", "level"],
            properties: {
                enabled: { type: "boolean" },
                codec: { enum: ["brotli", "deflate"] },
                // brotli 0-11, deflate 1-9 (checked in config-loader.ts).
                level: { type: "integer", minimum: 0, maximum: 11 },
                resources: {
                    type: "object",
                    maxProperties: 4096,
                    additionalProperties: {
                        type: "object",
                        additionalProperties: false,
                        properties: { enabled: { type: "boolean" } },
                    },
                },
            },
        },
        logSpace: {
            type: "object",
            additionalProperties: false,
            required: ["sampleIntervalMs", "warning", "cut", "emergency", "hysteresisPercent"],
            properties: {
                sampleIntervalMs: { type: "integer", minimum: 100, maximum: 3600000 },
                warning: SPACE_THRESHOLD,
                cut: SPACE_THRESHOLD,
                emergency: SPACE_THRESHOLD,
                hysteresisPercent: { type: "number", minimum: 0, maximum: 50 },
            },
        },
        ublk: {
            type: "object",
            additionalProperties: false,
            required: ["queues", "queueDepth", "maxIoBytes", "recoveryWaitMs"],
            properties: {
                queues: { type: "integer", minimum: 1, maximum: MAX_UBLK_QUEUES },
                queueDepth: { type: "integer", minimum: 1, maximum: 4096 },
                maxIoBytes: { type: "integer", minimum: 4096, maximum: 33554432, multipleOf: 4096 },
                recoveryWaitMs: { type: "integer", minimum: 0, maximum: 600000 },
            },
        },
        jobs: {
            type: "object",
            additionalProperties: false,
            required: ["logRotate", "logDelete"],
            properties: {
                logRotate: { type: "string", maxLength: 100 },
                logDelete: { type: "string", maxLength: 100 },
            },
        },
    },
};
export const validateConfig = new Ajv({ allErrors: true }).compile(schema);
//# sourceMappingURL=config-schema.js.map
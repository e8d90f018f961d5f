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
import {
  DEFAULT_BATCHES_IN_FLIGHT,
  DEFAULT_PREALLOCATE_BYTES,
  DEFAULT_WRITER_LIMITS,
} from "../log/writer-settings.js";
import { DEFAULT_VOLUME_OPTIONS } from "../resource/volume.js";
import { DEFAULT_RECOVERY_BACKOFF } from "../resource/failure-recovery.js";
import { DEFAULT_LOG_SPACE_SETTINGS, type LogSpaceSettings } from "../resource/log-space-levels.js";
import { DEFAULT_UBLK_OPTIONS, type UblkOptions } from "../frontend/ublk/device.js";
import { DEFAULT_COMPRESSION_LEVEL, type CompressionCodec } from "../replication/compression.js";
import { DEFAULT_JOB_SCHEDULES, type JobSchedules } from "./jobs.js";
import type { LogLevel } from "./logger.js";

export interface DaemonConfig {
  /** This node's permanent name (as MARS: never change it). */
  host: string;
  dataDir: string;
  /** Sockets and other runtime files. */
  runDir: string;
  /** Admin listener (JSON-RPC, /metrics, /healthz), "host:port". */
  adminListen: string;
  /** File holding the admin bearer token; created with a random token if missing. */
  tokenFile: string;
  admin: {
    /** Largest JSON-RPC request body (after decompression); larger ones answer 413 unread. */
    maxBodyBytes: number;
    /** Open connections to the admin listener; further ones are closed at once. */
    maxConnections: number;
  };
  logLevel: LogLevel;
  nbd: {
    socket: string;
    /** Optional TCP listener "host:port" for NBD clients on other machines. */
    tcpListen?: string;
    maxInFlightPerConnection: number;
    /** Connections, negotiating or not; beyond it the oldest negotiating one is closed. */
    maxConnections: number;
    /** Connections still negotiating; beyond it the oldest of them is closed. */
    maxHandshakes: number;
    /** A client must finish negotiating within this time. */
    handshakeTimeoutMs: number;
    /** Unparsed request bytes plus unflushed reply/payload bytes per connection; reading pauses beyond it. */
    maxBufferedBytesPerConnection: number;
    /** The same for all NBD connections together. */
    maxBufferedBytesTotal: number;
    /** While connections wait for that total, one whose replies have not moved for this long is closed. */
    replyStallTimeoutMs: number;
  };
  log: {
    rotateBytes: number;
    maxBatchBytes: number;
    maxPendingBytes: number;
    maxRecordPayloadBytes: number;
    checkpointIntervalMs: number;
    /** Group-commit batches written and synced at the same time (1 = strictly one after the other). */
    maxBatchesInFlight: number;
    /** Zero-filled space kept ahead of the log's write position (0 = off); see src/log/preallocator.ts. */
    preallocateBytes: number;
  };
  shutdownGraceMs: number;
  /** Peer listener (cluster state, log shipping), "host:port". */
  peerListen: string;
  /** The address other nodes use to reach our peer listener (default: derived from peerListen). */
  peerAdvertise?: string;
  peer: {
    /** TLS for peer traffic: our certificate and key, and the CA that signs every node's certificate. */
    tls?: { certFile: string; keyFile: string; caFile: string };
    /** Reach these hosts at these addresses instead of what they advertise. */
    addressOverrides: Record<string, string>;
    syncIntervalMs: number;
    retryMaxMs: number;
    aliveWindowMs: number;
    /** Requests whose sender clock is further off than this are refused (replay protection window). */
    timeWindowMs: number;
    requestTimeoutMs: number;
    /** Largest response body accepted from a peer (state answers, log list). */
    maxBodyBytes: number;
    /** Largest request body of a state route (join, push): they carry cluster state entries. */
    maxRequestBodyBytes: number;
    /** Largest request body of a control route (pull, log list, log stream, sync window). */
    maxControlBodyBytes: number;
    /** Open connections to the peer listener (idle, reading a head, authenticated); further ones are closed. */
    maxConnections: number;
    /** Requests whose body is being read before their signature can be checked, at once. */
    maxUnauthenticatedRequests: number;
    /** Body bytes reserved (by Content-Length) for requests not yet authenticated, together. */
    maxUnauthenticatedBytes: number;
    /** How far ahead of a sender's newest stamp its persisted replay floor is written (see peer/replay-floor.ts). */
    replayLeaseMs: number;
    maxSocketsPerPeer: number;
    tombstoneMinAgeMs: number;
  };
  /** Stamps further ahead of our wall clock than this are refused. */
  maxClockFutureMs: number;
  replication: {
    /** Own position and state are published to the cluster at most this often. */
    statusPublishMs: number;
    /** Long-poll for the next log file. */
    listWaitMs: number;
    /** An idle log stream sends a heartbeat this often. */
    heartbeatMs: number;
    /** Bytes per frame of a log stream. */
    chunkBytes: number;
    /** Fetched bytes are fdatasync'ed at least this often while data keeps coming. */
    fetchSyncEveryBytes: number;
    /** Disk writes in flight during replay. */
    replayMaxInFlight: number;
  };
  /** A failed resource is recovered from disk after initialBackoffMs, doubling up to maxBackoffMs. */
  resourceRecovery: { initialBackoffMs: number; maxBackoffMs: number };
  /**
   * Emergency mode (log area full): on (else a full log area fails the
   * resource), dirty-map granularity, how often logging is retried.
   */
  emergency: { enabled: boolean; dirtyGranularityBytes: number; retryMs: number };
  /**
   * A member whose lag exceeds either is cut loose: it no longer pins log
   * files (resource/cut-loose.ts). `resources` overrides them per resource.
   */
  lagging: {
    maxLagBytes: number;
    maxLagSeconds: number;
    resources?: Record<string, { maxLagBytes?: number; maxLagSeconds?: number }>;
  };
  /** Free space levels of the filesystems holding logs (src/resource/log-space-levels.ts). */
  logSpace: LogSpaceSettings;
  /**
   * Bandwidth limits in bytes per second (0: none) for syncs and fetches,
   * node-wide and per resource (both apply); changeable at runtime
   * (node.setBandwidth) until the next restart.
   */
  bandwidth: {
    syncBytesPerSec: number;
    fetchBytesPerSec: number;
    resources?: Record<string, { syncBytesPerSec?: number; fetchBytesPerSec?: number }>;
  };
  /** Syncs copying at once on this node (the others queue), and each one's data bytes in flight. */
  sync: { maxConcurrent: number; maxInFlightBytes: number };
  /**
   * Wire compression of fetch and sync data (src/replication/compression.ts):
   * used when both ends enable it for the resource; `resources` turns it
   * off (or on) per resource. As a server this node compresses with
   * `codec` at `level`; as a requester it accepts every codec it knows.
   */
  compression: CompressionSettings;
  /** Cron schedules of housekeeping jobs ("" disables one; see src/platform/cron.ts). */
  jobs: JobSchedules;
  /** The ublk frontend's queues (used when it is available and chosen). */
  ublk: UblkOptions;
}

export interface CompressionSettings {
  enabled: boolean;
  codec: CompressionCodec;
  /** deflate: 1-9; brotli: quality 0-11. */
  level: number;
  resources?: Record<string, { enabled?: boolean }>;
}

/** Whether compression is on for a resource (its own setting, else the node's). */
export function compressionEnabled(settings: CompressionSettings, resource: string): boolean {
  return settings.resources?.[resource]?.enabled ?? settings.enabled;
}

export type ConfigOverrides = {
  [K in keyof DaemonConfig]?: DaemonConfig[K] extends object ? Partial<DaemonConfig[K]> : DaemonConfig[K];
};

/** Smallest NBD byte budget: one maximal request (32 MiB payload) plus room for a socket read. */
export const MIN_NBD_BUFFERED_BYTES = MAX_PAYLOAD_BYTES + 1024 * 1024;

function defaultHost(): string {
  const name =
    os
      .hostname()
      .toLowerCase()
      .split(".")[0]
      ?.replace(/[^a-z0-9-]/g, "-") ?? "";
  return /^[a-z]/.test(name) ? name.slice(0, 63) : `node-${name}`.slice(0, 63);
}

export function defaultConfig(overrides: { dataDir?: string; runDir?: string } = {}): DaemonConfig {
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
      maxSocketsPerPeer: 24,
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
    sync: { maxConcurrent: 2, maxInFlightBytes: 96 * 1024 * 1024 },
    // On: brotli at quality 1 costs ~0.5 ms per MiB of compressible data and ~1 ms of incompressible
    // data (docs/performance.md), a few percent of a core at LAN rates, and saves most of a WAN link.
    compression: { enabled: true, codec: "brotli", level: DEFAULT_COMPRESSION_LEVEL.brotli },
  };
}

/**
 * The address to advertise when none is configured: the listen address if
 * it is specific, else this machine's first non-internal IPv4 address.
 */
export function derivePeerAdvertise(peerListen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(peerListen);
  const host = m?.[1] ?? m?.[2] ?? "0.0.0.0";
  const port = m?.[3] ?? "7777";
  if (host !== "0.0.0.0" && host !== "::") return peerListen;
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return `${a.address}:${port}`;
  }
  return `127.0.0.1:${port}`;
}

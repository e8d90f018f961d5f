/**
 * All Prometheus metrics of one daemon, in one registry (no globals, so
 * several daemons can live in one test process). Names follow the
 * Prometheus conventions and pass `promtool check metrics`: base units,
 * `_total` on counters only, `_info` for metadata.
 *
 * Every bound the daemon enforces is exported next to its usage
 * (`..._limit_...` gauges), so saturation is visible on a dashboard.
 */
import client from "prom-client";
import type { LogWriterObserver } from "../log/writer.js";
import { BUILD } from "../platform/build-info.js";

const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
const BATCH_RECORD_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const BATCH_BYTES_BUCKETS = [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/** prom-client's default metrics include gauges named `*_total`, which promtool rejects. */
const MISNAMED_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export interface ClusterGaugeValues {
  members: number;
  entries: number;
  tombstones: number;
  lamportAheadUs: number;
}

/** What a resource reports about itself at scrape time. */
export interface ResourceMetricSource {
  applyBacklogBytes(): number;
  applyDirectIo(): boolean;
  role(): "primary" | "secondary";
  paused(): { sync: boolean; fetch: boolean; replay: boolean };
  logFiles(): number;
  splitBrain(): boolean;
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly resourceSources = new Map<string, ResourceMetricSource>();

  readonly logAppendedBytes = this.counter(
    "marsd_log_appended_bytes_total",
    "Bytes appended durably to the transaction log, headers included.",
    ["resource"],
  );
  readonly logAppendedRecords = this.counter(
    "marsd_log_appended_records_total",
    "Records appended durably to the transaction log.",
    ["resource"],
  );
  readonly logFsyncDuration = new client.Histogram({
    name: "marsd_log_fsync_duration_seconds",
    help: "Time of one group-commit batch: writev plus fdatasync of the log file.",
    labelNames: ["resource"],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly logBatchRecords = new client.Histogram({
    name: "marsd_log_batch_records",
    help: "Records per group-commit batch.",
    labelNames: ["resource"],
    buckets: BATCH_RECORD_BUCKETS,
    registers: [this.registry],
  });
  readonly logBatchBytes = new client.Histogram({
    name: "marsd_log_batch_bytes",
    help: "Bytes per group-commit batch.",
    labelNames: ["resource"],
    buckets: BATCH_BYTES_BUCKETS,
    registers: [this.registry],
  });
  readonly logPendingBytes = this.gauge(
    "marsd_log_pending_bytes",
    "Bytes queued for the log and not yet durable.",
    ["resource"],
  );
  readonly logPendingLimitBytes = this.gauge(
    "marsd_log_pending_limit_bytes",
    "Bound on queued log bytes; appends wait beyond it.",
    ["resource"],
  );
  readonly logDurablePosition = this.gauge(
    "marsd_log_durable_position_bytes",
    "Stream position up to which the log is durable.",
    ["resource"],
  );
  readonly logFiles = this.perResource(
    "marsd_log_files",
    "Log files present for the resource on this node.",
    (s) => s.logFiles(),
  );
  readonly logRotations = this.counter("marsd_log_rotations_total", "Log files finished and rotated.", [
    "resource",
  ]);

  readonly resourceAppliedPosition = this.gauge(
    "marsd_resource_applied_position_bytes",
    "Stream position up to which the log is applied to the backing disk.",
    ["resource"],
  );
  readonly resourceApplyBacklogBytes = this.perResource(
    "marsd_resource_apply_backlog_bytes",
    "Bytes acknowledged (durable in the log) and not yet written to the backing disk.",
    (s) => s.applyBacklogBytes(),
  );
  readonly resourceApplyBacklogLimitBytes = this.gauge(
    "marsd_resource_apply_backlog_limit_bytes",
    "Bound on the apply backlog; beyond it writes wait for their own disk write.",
    ["resource"],
  );
  readonly resourceApplyDirectIo = this.perResource(
    "marsd_resource_apply_direct_io",
    "1 when aligned writes reach the backing disk with O_DIRECT (page cache bypassed), 0 when all are buffered.",
    (s) => (s.applyDirectIo() ? 1 : 0),
  );
  readonly resourceCheckpointPosition = this.gauge(
    "marsd_resource_checkpoint_position_bytes",
    "Stream position of the last persisted checkpoint (applied and synced).",
    ["resource"],
  );
  readonly resourceSizeBytes = this.gauge("marsd_resource_size_bytes", "Size of the resource's volume.", [
    "resource",
  ]);
  readonly resourceFailed = this.gauge(
    "marsd_resource_failed",
    "1 when the resource stopped because of an IO or log failure.",
    ["resource"],
  );
  readonly resourceSplitBrain = this.perResource(
    "marsd_resource_split_brain",
    "1 when members' version chains of the resource diverged (split brain).",
    (s) => (s.splitBrain() ? 1 : 0),
  );
  readonly resourceRole = this.perResourceFlags(
    "marsd_resource_role",
    "The resource's role on this node: 1 on the series of the current role, 0 on the other.",
    "role",
    ["primary", "secondary"],
    (s, role) => s.role() === role,
  );
  readonly replicationPaused = this.perResourceFlags(
    "marsd_replication_paused",
    "1 while an operator paused the resource's sync, fetch or replay on this node (marsadm pause).",
    "what",
    ["sync", "fetch", "replay"],
    (s, what) => s.paused()[what],
  );
  readonly resourceRecoveredBytes = this.counter(
    "marsd_resource_recovery_replayed_bytes_total",
    "Log bytes replayed onto the backing disk during crash recovery.",
    ["resource"],
  );

  readonly nbdRequests = this.counter("marsd_nbd_requests_total", "NBD requests completed, by command.", [
    "resource",
    "command",
  ]);
  readonly nbdRequestBytes = this.counter(
    "marsd_nbd_request_bytes_total",
    "Bytes read or written by NBD requests, by command.",
    ["resource", "command"],
  );
  readonly nbdRequestErrors = this.counter(
    "marsd_nbd_request_errors_total",
    "NBD requests answered with an error, by command and errno name.",
    ["resource", "command", "error"],
  );
  readonly nbdRequestDuration = new client.Histogram({
    name: "marsd_nbd_request_duration_seconds",
    help: "NBD request latency from receipt to reply, by command.",
    labelNames: ["command"],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly nbdConnections = this.gauge(
    "marsd_nbd_connections",
    "Open NBD connections in the transmission phase.",
    ["resource"],
  );
  readonly nbdInflightRequests = this.gauge(
    "marsd_nbd_inflight_requests",
    "NBD requests received and not yet answered.",
    [],
  );
  readonly nbdInflightLimitRequests = this.gauge(
    "marsd_nbd_inflight_limit_requests",
    "Bound on in-flight requests per NBD connection; reading pauses beyond it.",
    [],
  );
  readonly nbdBufferedBytes = this.gauge(
    "marsd_nbd_buffered_bytes",
    "Memory held for NBD connections: received and unparsed request bytes plus reply bytes not yet flushed to the socket.",
    [],
  );
  readonly nbdBufferedLimitBytes = this.gauge(
    "marsd_nbd_buffered_limit_bytes",
    "Bounds on NBD buffered bytes, per connection and for the whole server; reading pauses beyond them.",
    ["scope"],
  );
  readonly nbdBackpressurePauses = this.counter(
    "marsd_nbd_backpressure_pauses_total",
    "Times an NBD connection stopped reading or dispatching requests, by the bound that stopped it.",
    ["reason"],
  );
  readonly nbdStalledSessionsClosed = this.counter(
    "marsd_nbd_stalled_connections_closed_total",
    "NBD connections closed because their replies were not read for nbd.replyStallTimeoutMs while others waited for memory.",
    [],
  );
  readonly nbdHandshakes = this.gauge(
    "marsd_nbd_handshakes",
    "NBD connections still negotiating (before NBD_OPT_GO / EXPORT_NAME).",
    [],
  );
  readonly nbdHandshakeLimit = this.gauge(
    "marsd_nbd_handshake_limit",
    "Bound on NBD connections negotiating at once; the oldest is closed beyond it.",
    [],
  );
  readonly nbdHandshakesDropped = this.counter(
    "marsd_nbd_handshakes_dropped_total",
    "NBD connections closed during negotiation, by reason (timeout, evicted, protocol).",
    ["reason"],
  );
  readonly nbdConnectionsRefused = this.counter(
    "marsd_nbd_connections_refused_total",
    "NBD connections closed on arrival because nbd.maxConnections sessions were open.",
    [],
  );

  readonly replicationFetchedBytes = this.counter(
    "marsd_replication_fetched_bytes_total",
    "Log bytes fetched from peers, verified and synced locally.",
    ["resource"],
  );
  readonly replicationFetchErrors = this.counter(
    "marsd_replication_fetch_errors_total",
    "Interrupted or refused log fetches (each is retried).",
    ["resource"],
  );
  readonly replicationSyncTransferredBytes = this.counter(
    "marsd_replication_sync_transferred_bytes_total",
    "Disk bytes copied during full sync (chunks that differed).",
    ["resource"],
  );
  readonly replicationSyncDoneBytes = this.gauge(
    "marsd_replication_sync_done_bytes",
    "Full sync progress: bytes of the disk compared or copied.",
    ["resource"],
  );
  readonly replicationSyncTotalBytes = this.gauge(
    "marsd_replication_sync_total_bytes",
    "Full sync: bytes to compare or copy in all.",
    ["resource"],
  );
  readonly replicationReplayedBytes = this.counter(
    "marsd_replication_replayed_bytes_total",
    "Log bytes replayed onto the local disk.",
    ["resource"],
  );

  readonly rpcRequests = this.counter(
    "marsd_rpc_requests_total",
    "JSON-RPC calls, by method and result code (0 = success).",
    ["method", "code"],
  );
  readonly rpcDuration = new client.Histogram({
    name: "marsd_rpc_request_duration_seconds",
    help: "JSON-RPC call latency, by method.",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  readonly peerSentBytes = this.counter(
    "marsd_peer_sent_bytes_total",
    "Bytes sent to a peer (request and response bodies).",
    ["peer"],
  );
  readonly peerReceivedBytes = this.counter(
    "marsd_peer_received_bytes_total",
    "Bytes received from a peer (request and response bodies).",
    ["peer"],
  );
  readonly peerRejectedRequests = this.counter(
    "marsd_peer_rejected_requests_total",
    "Peer requests refused by authentication, by reason.",
    ["reason"],
  );
  readonly peerConnections = this.gauge(
    "marsd_peer_connections",
    "Open connections to the peer listener (bounded by peer.maxConnections).",
    [],
  );
  readonly peerUnauthenticatedRequests = this.gauge(
    "marsd_peer_unauthenticated_requests",
    "Peer requests whose body is being read before their signature can be checked.",
    [],
  );
  readonly peerUnauthenticatedBytes = this.gauge(
    "marsd_peer_unauthenticated_bytes",
    "Body bytes reserved (by Content-Length) for peer requests not yet authenticated.",
    [],
  );
  readonly peerUnauthenticatedLimit = this.gauge(
    "marsd_peer_unauthenticated_limit",
    "Bounds of the peer listener (peer.maxConnections, peer.maxUnauthenticatedRequests, peer.maxUnauthenticatedBytes).",
    ["bound"],
  );
  readonly peerReplayFloorWrites = this.counter(
    "marsd_peer_replay_floor_writes_total",
    "Durable writes of the per-sender replay floors (see docs/architecture.md).",
    [],
  );
  readonly adminConnections = this.gauge(
    "marsd_admin_connections",
    "Open connections to the admin listener.",
    [],
  );
  readonly adminLimit = this.gauge(
    "marsd_admin_limit",
    "Bounds of the admin listener (admin.maxConnections, admin.maxBodyBytes).",
    ["bound"],
  );
  readonly adminRejectedRequests = this.counter(
    "marsd_admin_rejected_requests_total",
    "Admin requests refused before JSON-RPC (bad token, bad or oversized body...), by reason.",
    ["reason"],
  );
  readonly peerLastContact = this.gauge(
    "marsd_peer_last_contact_timestamp_seconds",
    "When we last heard from a peer (Unix time).",
    ["peer"],
  );
  readonly peerClockSkew = this.gauge(
    "marsd_peer_clock_skew_seconds",
    "Estimated offset of a peer's wall clock from ours.",
    ["peer"],
  );
  readonly peerSyncFailures = this.counter(
    "marsd_peer_sync_failures_total",
    "Failed state exchanges with a peer, by kind.",
    ["peer", "kind"],
  );
  readonly clusterStateChanges = this.counter(
    "marsd_cluster_state_changes_total",
    "Cluster state entries changed, by source (local write or merged from a peer).",
    ["source"],
  );
  /** Set by the cluster layer; read when /metrics is scraped (cheaper than updating on every change). */
  clusterGaugeSource: (() => ClusterGaugeValues) | undefined;
  readonly clusterMembers = this.scraped(
    "marsd_cluster_members",
    "Members of the cluster, this node included.",
    (s) => s.members,
  );
  readonly clusterStateEntries = this.scraped(
    "marsd_cluster_state_entries",
    "Entries in the cluster state, tombstones included.",
    (s) => s.entries,
  );
  readonly clusterStateTombstones = this.scraped(
    "marsd_cluster_state_tombstones",
    "Tombstones (deleted entries) not yet collected.",
    (s) => s.tombstones,
  );
  readonly lamportAheadOfWall = this.scraped(
    "marsd_lamport_ahead_of_wall_seconds",
    "How far the Lamport clock runs ahead of the wall clock.",
    (s) => s.lamportAheadUs / 1e6,
  );

  readonly buildInfo = this.gauge("marsd_build_info", "Build of the running daemon (value 1).", [
    "version",
    "commit",
    "node_version",
  ]);

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      client.collectDefaultMetrics({ register: this.registry, prefix: "" });
      for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    this.buildInfo.labels(BUILD.version, BUILD.commit, process.version).set(1);
  }

  /** Hooks a resource's log writer into the metrics. */
  logObserver(resource: string, limitBytes: number): LogWriterObserver {
    this.logPendingLimitBytes.labels(resource).set(limitBytes);
    const appendedBytes = this.logAppendedBytes.labels(resource);
    const appendedRecords = this.logAppendedRecords.labels(resource);
    const fsync = this.logFsyncDuration.labels(resource);
    const batchRecords = this.logBatchRecords.labels(resource);
    const batchBytes = this.logBatchBytes.labels(resource);
    const pending = this.logPendingBytes.labels(resource);
    return {
      batchDurable(records, bytes, fsyncSeconds) {
        appendedBytes.inc(bytes);
        appendedRecords.inc(records);
        fsync.observe(fsyncSeconds);
        batchRecords.observe(records);
        batchBytes.observe(bytes);
      },
      pendingBytes(bytes) {
        pending.set(bytes);
      },
    };
  }

  /**
   * Exports what a resource knows about itself, read when scraped (so the
   * series exist from the start and are never stale), and its backlog bound.
   */
  watchResource(resource: string, applyBacklogLimitBytes: number, source: ResourceMetricSource): void {
    this.resourceSources.set(resource, source);
    this.resourceApplyBacklogLimitBytes.labels(resource).set(applyBacklogLimitBytes);
  }

  /** Drops every series of a deleted resource so it disappears from /metrics. */
  async forgetResource(resource: string): Promise<void> {
    this.resourceSources.delete(resource);
    const ours = Object.values(this).filter(
      (m): m is client.Counter | client.Gauge | client.Histogram =>
        m instanceof client.Counter || m instanceof client.Gauge || m instanceof client.Histogram,
    );
    for (const metric of ours) {
      const { values } = await metric.get();
      const seen = new Set<string>();
      for (const { labels } of values) {
        if (labels.resource !== resource) continue;
        // Histogram buckets carry an extra `le`; a series is identified without it.
        const { le: _le, ...series } = labels;
        const key = JSON.stringify(series);
        if (seen.has(key)) continue;
        seen.add(key);
        metric.remove(series as Record<string, string>);
      }
    }
  }

  private counter(name: string, help: string, labelNames: string[]) {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private scraped(name: string, help: string, pick: (source: ClusterGaugeValues) => number): client.Gauge {
    const read = (): ClusterGaugeValues | undefined => this.clusterGaugeSource?.();
    return new client.Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const source = read();
        this.set(source ? pick(source) : 0);
      },
    });
  }

  /** A gauge per resource whose value is read from the resource when scraped. */
  private perResource(
    name: string,
    help: string,
    read: (source: ResourceMetricSource) => number,
  ): client.Gauge {
    const sources = (): Map<string, ResourceMetricSource> => this.resourceSources;
    return new client.Gauge({
      name,
      help,
      labelNames: ["resource"],
      registers: [this.registry],
      collect() {
        for (const [resource, source] of sources()) this.labels(resource).set(read(source));
      },
    });
  }

  /** A 0/1 gauge per resource and value of `label`, read from the resource when scraped. */
  private perResourceFlags<V extends string>(
    name: string,
    help: string,
    label: string,
    values: readonly V[],
    isSet: (source: ResourceMetricSource, value: V) => boolean,
  ): client.Gauge {
    const sources = (): Map<string, ResourceMetricSource> => this.resourceSources;
    return new client.Gauge({
      name,
      help,
      labelNames: ["resource", label],
      registers: [this.registry],
      collect() {
        for (const [resource, source] of sources()) {
          for (const value of values) this.labels(resource, value).set(isSet(source, value) ? 1 : 0);
        }
      },
    });
  }

  private gauge(name: string, help: string, labelNames: string[]) {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  // Failure isolation (src/resource/failure-recovery.ts).
  readonly resourceFailures = this.counter(
    "marsd_resource_failures_total",
    "Failures of the resource (log, disk or checkpoint IO, ENOSPC included); each is recovered from disk with a backoff.",
    ["resource"],
  );
  readonly resourceRecoveries = this.counter(
    "marsd_resource_recoveries_total",
    "Recovery attempts of a failed resource, by result (succeeded, failed).",
    ["resource", "result"],
  );
  readonly resourceRecoveryAttempts = this.gauge(
    "marsd_resource_recovery_attempts",
    "Recovery attempts since the resource failed (0 while it is healthy).",
    ["resource"],
  );
}

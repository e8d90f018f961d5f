/**
 * All Prometheus metrics of one daemon, in one registry (no globals, so
 * several daemons can live in one test process). Names follow the
 * Prometheus conventions and pass `promtool check metrics`: base units,
 * `_total` on counters only, `_info` for metadata.
 *
 * Every bound the daemon enforces is exported next to its usage
 * (`..._limit_...` gauges), so saturation is visible on a dashboard.
 *
 * The metrics are defined by domain (log-metrics.ts, resource-metrics.ts,
 * log-space-metrics.ts, nbd-metrics.ts, ublk-metrics.ts, replication-metrics.ts, rpc-metrics.ts, peer-metrics.ts,
 * cluster-metrics.ts, made by metric-factory.ts); this class composes them
 * into one object whose fields the rest of the daemon uses, and handles the
 * per-resource lifecycle (watch, forget).
 */
import client from "prom-client";
import type { LogWriterObserver } from "../log/writer-settings.js";
import { BUILD } from "../platform/build-info.js";
import { MetricFactory, type ClusterGaugeValues, type ResourceMetricSource } from "./metric-factory.js";
import { logMetrics, logObserver } from "./log-metrics.js";
import { emergencyMetrics } from "./emergency-metrics.js";
import { resourceMetrics } from "./resource-metrics.js";
import { nbdMetrics } from "./nbd-metrics.js";
import { replicationMetrics } from "./replication-metrics.js";
import { rpcMetrics, adminMetrics } from "./rpc-metrics.js";
import { peerListenerMetrics, peerLinkMetrics } from "./peer-metrics.js";
import { clusterMetrics } from "./cluster-metrics.js";
import { logSpaceMetrics } from "./log-space-metrics.js";
import { transferMetrics } from "./transfer-metrics.js";
import { verifyMetrics } from "./verify-metrics.js";
import { compressionMetrics } from "./compression-metrics.js";
import { ublkMetrics, ublkObserver, type UblkMetricsObserver } from "./ublk-metrics.js";

export type { ClusterGaugeValues, MemberLag, ResourceMetricSource } from "./metric-factory.js";

/** prom-client's default metrics include gauges named `*_total`, which promtool rejects. */
const MISNAMED_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export class Metrics {
  readonly registry = new client.Registry();
  private readonly resourceSources = new Map<string, ResourceMetricSource>();
  /** Set by the cluster layer; read when /metrics is scraped (cheaper than updating on every change). */
  clusterGaugeSource: (() => ClusterGaugeValues) | undefined;
  private readonly make = new MetricFactory(
    this.registry,
    () => this.resourceSources,
    () => this.clusterGaugeSource?.(),
  );

  private readonly log = logMetrics(this.make);
  readonly logAppendedBytes = this.log.logAppendedBytes;
  readonly logAppendedRecords = this.log.logAppendedRecords;
  readonly logFsyncDuration = this.log.logFsyncDuration;
  readonly logBatchRecords = this.log.logBatchRecords;
  readonly logBatchBytes = this.log.logBatchBytes;
  readonly logPendingBytes = this.log.logPendingBytes;
  readonly logPendingLimitBytes = this.log.logPendingLimitBytes;
  readonly logDurablePosition = this.log.logDurablePosition;
  readonly logFiles = this.log.logFiles;
  readonly logRotations = this.log.logRotations;

  private readonly resource = resourceMetrics(this.make);
  readonly resourceAppliedPosition = this.resource.resourceAppliedPosition;
  readonly resourceApplyBacklogBytes = this.resource.resourceApplyBacklogBytes;
  readonly resourceApplyBacklogLimitBytes = this.resource.resourceApplyBacklogLimitBytes;
  readonly resourceApplyDirectIo = this.resource.resourceApplyDirectIo;
  readonly resourceCheckpointPosition = this.resource.resourceCheckpointPosition;
  readonly resourceSizeBytes = this.resource.resourceSizeBytes;
  readonly resourceFailed = this.resource.resourceFailed;
  readonly resourceSplitBrain = this.resource.resourceSplitBrain;
  readonly resourceRole = this.resource.resourceRole;
  readonly replicationPaused = this.resource.replicationPaused;
  readonly resourceFailures = this.resource.resourceFailures;
  readonly resourceRecoveries = this.resource.resourceRecoveries;
  readonly resourceRecoveryAttempts = this.resource.resourceRecoveryAttempts;
  readonly resourceRecoveredBytes = this.resource.resourceRecoveredBytes;
  private readonly emergency = emergencyMetrics(this.make);
  readonly resourceEmergency = this.emergency.resourceEmergency;
  readonly resourceEmergencyEntries = this.emergency.resourceEmergencyEntries;
  readonly resourceDirectWrites = this.emergency.resourceDirectWrites;
  readonly resourceDirtyBytes = this.emergency.resourceDirtyBytes;
  readonly resourceDirtyMapBytes = this.emergency.resourceDirtyMapBytes;
  readonly resourceMembersNeedingResync = this.emergency.resourceMembersNeedingResync;
  readonly resourceMembersCutLoose = this.emergency.resourceMembersCutLoose;
  readonly resourceMembersCutLooseTotal = this.emergency.resourceMembersCutLooseTotal;

  private readonly logSpace = logSpaceMetrics(this.make);
  readonly logFsSizeBytes = this.logSpace.logFsSizeBytes;
  readonly logFsFreeBytes = this.logSpace.logFsFreeBytes;
  readonly logFsFreeRatio = this.logSpace.logFsFreeRatio;
  readonly logSpaceLevel = this.logSpace.logSpaceLevel;
  readonly logSpaceThresholdBytes = this.logSpace.logSpaceThresholdBytes;
  readonly resourceLogSpaceLevel = this.logSpace.resourceLogSpaceLevel;
  readonly logSpaceSampleErrors = this.logSpace.logSpaceSampleErrors;
  readonly logSpaceDeletedFiles = this.logSpace.logSpaceDeletedFiles;

  /** Bandwidth limits and sync slots. */
  readonly transfer = transferMetrics(this.make);
  /** Online verifies. */
  readonly verify = verifyMetrics(this.make);
  readonly compression = compressionMetrics(this.make);

  private readonly nbd = nbdMetrics(this.make);
  readonly nbdRequests = this.nbd.nbdRequests;
  readonly nbdRequestBytes = this.nbd.nbdRequestBytes;
  readonly nbdRequestErrors = this.nbd.nbdRequestErrors;
  readonly nbdRequestDuration = this.nbd.nbdRequestDuration;
  readonly nbdConnections = this.nbd.nbdConnections;
  readonly nbdInflightRequests = this.nbd.nbdInflightRequests;
  readonly nbdInflightLimitRequests = this.nbd.nbdInflightLimitRequests;
  readonly nbdBufferedBytes = this.nbd.nbdBufferedBytes;
  readonly nbdBufferedLimitBytes = this.nbd.nbdBufferedLimitBytes;
  readonly nbdBackpressurePauses = this.nbd.nbdBackpressurePauses;
  readonly nbdStalledSessionsClosed = this.nbd.nbdStalledSessionsClosed;
  readonly nbdHandshakes = this.nbd.nbdHandshakes;
  readonly nbdHandshakeLimit = this.nbd.nbdHandshakeLimit;
  readonly nbdHandshakesDropped = this.nbd.nbdHandshakesDropped;
  readonly nbdConnectionsRefused = this.nbd.nbdConnectionsRefused;

  private readonly ublk = ublkMetrics(this.make);
  readonly ublkRequests = this.ublk.ublkRequests;
  readonly ublkRequestBytes = this.ublk.ublkRequestBytes;
  readonly ublkRequestErrors = this.ublk.ublkRequestErrors;
  readonly ublkRequestDuration = this.ublk.ublkRequestDuration;
  readonly ublkInflightRequests = this.ublk.ublkInflightRequests;
  readonly ublkQueueDepthLimit = this.ublk.ublkQueueDepthLimit;

  private readonly replication = replicationMetrics(this.make);
  readonly replicationFetchedBytes = this.replication.replicationFetchedBytes;
  readonly replicationFetchErrors = this.replication.replicationFetchErrors;
  readonly replicationSyncTransferredBytes = this.replication.replicationSyncTransferredBytes;
  readonly replicationSyncDoneBytes = this.replication.replicationSyncDoneBytes;
  readonly replicationSyncTotalBytes = this.replication.replicationSyncTotalBytes;
  readonly replicationReplayedBytes = this.replication.replicationReplayedBytes;
  readonly replicationLagBytes = this.replication.replicationLagBytes;
  readonly replicationLagSeconds = this.replication.replicationLagSeconds;
  readonly replicationLagLimitBytes = this.replication.replicationLagLimitBytes;
  readonly replicationLagLimitSeconds = this.replication.replicationLagLimitSeconds;

  private readonly rpc = rpcMetrics(this.make);
  readonly rpcRequests = this.rpc.rpcRequests;
  readonly rpcDuration = this.rpc.rpcDuration;

  private readonly peerListener = peerListenerMetrics(this.make);
  readonly peerSentBytes = this.peerListener.peerSentBytes;
  readonly peerReceivedBytes = this.peerListener.peerReceivedBytes;
  readonly peerRejectedRequests = this.peerListener.peerRejectedRequests;
  readonly peerConnections = this.peerListener.peerConnections;
  readonly peerUnauthenticatedRequests = this.peerListener.peerUnauthenticatedRequests;
  readonly peerUnauthenticatedBytes = this.peerListener.peerUnauthenticatedBytes;
  readonly peerUnauthenticatedLimit = this.peerListener.peerUnauthenticatedLimit;
  readonly peerReplayFloorWrites = this.peerListener.peerReplayFloorWrites;

  private readonly admin = adminMetrics(this.make);
  readonly adminConnections = this.admin.adminConnections;
  readonly adminLimit = this.admin.adminLimit;
  readonly adminRejectedRequests = this.admin.adminRejectedRequests;

  private readonly peerLink = peerLinkMetrics(this.make);
  readonly peerLastContact = this.peerLink.peerLastContact;
  readonly peerClockSkew = this.peerLink.peerClockSkew;
  readonly peerSyncFailures = this.peerLink.peerSyncFailures;

  private readonly cluster = clusterMetrics(this.make);
  readonly clusterStateChanges = this.cluster.clusterStateChanges;
  readonly clusterMembers = this.cluster.clusterMembers;
  readonly clusterStateEntries = this.cluster.clusterStateEntries;
  readonly clusterStateTombstones = this.cluster.clusterStateTombstones;
  readonly lamportAheadOfWall = this.cluster.lamportAheadOfWall;

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
    return logObserver(this.log, resource, limitBytes);
  }

  /** Hooks a resource's ublk device into the metrics. */
  ublkObserver(resource: string): UblkMetricsObserver {
    return ublkObserver(this.ublk, resource);
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
    const isMetric = (m: unknown): m is client.Counter | client.Gauge | client.Histogram =>
      m instanceof client.Counter || m instanceof client.Gauge || m instanceof client.Histogram;
    // Direct fields, and the groups kept whole (transfer, verify, compression).
    const ours = Object.values(this).flatMap((v: unknown) =>
      isMetric(v) ? [v] : typeof v === "object" && v !== null ? Object.values(v).filter(isMetric) : [],
    );
    for (const metric of new Set(ours)) {
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

  private gauge(name: string, help: string, labelNames: string[]) {
    return this.make.gauge(name, help, labelNames);
  }
}

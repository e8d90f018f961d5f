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
import { BUILD } from "../platform/build-info.js";
import { MetricFactory } from "./metric-factory.js";
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
import { ublkMetrics, ublkObserver } from "./ublk-metrics.js";
/** prom-client's default metrics include gauges named `*_total`, which promtool rejects. */
const MISNAMED_DEFAULT_METRICS = [
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
];
export class Metrics {
    registry = new client.Registry();
    resourceSources = new Map();
    /** Set by the cluster layer; read when /metrics is scraped (cheaper than updating on every change). */
    clusterGaugeSource;
    make = new MetricFactory(this.registry, () => this.resourceSources, () => this.clusterGaugeSource?.());
    log = logMetrics(this.make);
    logAppendedBytes = this.log.logAppendedBytes;
    logAppendedRecords = this.log.logAppendedRecords;
    logFsyncDuration = this.log.logFsyncDuration;
    logBatchRecords = this.log.logBatchRecords;
    logBatchBytes = this.log.logBatchBytes;
    logPendingBytes = this.log.logPendingBytes;
    logPendingLimitBytes = this.log.logPendingLimitBytes;
    logDurablePosition = this.log.logDurablePosition;
    logFiles = this.log.logFiles;
    logRotations = this.log.logRotations;
    resource = resourceMetrics(this.make);
    resourceAppliedPosition = this.resource.resourceAppliedPosition;
    resourceApplyBacklogBytes = this.resource.resourceApplyBacklogBytes;
    resourceApplyBacklogLimitBytes = this.resource.resourceApplyBacklogLimitBytes;
    resourceApplyDirectIo = this.resource.resourceApplyDirectIo;
    resourceCheckpointPosition = this.resource.resourceCheckpointPosition;
    resourceSizeBytes = this.resource.resourceSizeBytes;
    resourceFailed = this.resource.resourceFailed;
    resourceSplitBrain = this.resource.resourceSplitBrain;
    resourceRole = this.resource.resourceRole;
    replicationPaused = this.resource.replicationPaused;
    resourceFailures = this.resource.resourceFailures;
    resourceRecoveries = this.resource.resourceRecoveries;
    resourceRecoveryAttempts = this.resource.resourceRecoveryAttempts;
    resourceRecoveredBytes = this.resource.resourceRecoveredBytes;
    emergency = emergencyMetrics(this.make);
    resourceEmergency = this.emergency.resourceEmergency;
    resourceEmergencyEntries = this.emergency.resourceEmergencyEntries;
    resourceDirectWrites = this.emergency.resourceDirectWrites;
    resourceDirtyBytes = this.emergency.resourceDirtyBytes;
    resourceDirtyMapBytes = this.emergency.resourceDirtyMapBytes;
    resourceMembersNeedingResync = this.emergency.resourceMembersNeedingResync;
    resourceMembersCutLoose = this.emergency.resourceMembersCutLoose;
    resourceMembersCutLooseTotal = this.emergency.resourceMembersCutLooseTotal;
    logSpace = logSpaceMetrics(this.make);
    logFsSizeBytes = this.logSpace.logFsSizeBytes;
    logFsFreeBytes = this.logSpace.logFsFreeBytes;
    logFsFreeRatio = this.logSpace.logFsFreeRatio;
    logSpaceLevel = this.logSpace.logSpaceLevel;
    logSpaceThresholdBytes = this.logSpace.logSpaceThresholdBytes;
    resourceLogSpaceLevel = this.logSpace.resourceLogSpaceLevel;
    logSpaceSampleErrors = this.logSpace.logSpaceSampleErrors;
    logSpaceDeletedFiles = this.logSpace.logSpaceDeletedFiles;
    /** Bandwidth limits and sync slots. */
    transfer = transferMetrics(this.make);
    /** Online verifies. */
    verify = verifyMetrics(this.make);
    compression = compressionMetrics(this.make);
    nbd = nbdMetrics(this.make);
    nbdRequests = this.nbd.nbdRequests;
    nbdRequestBytes = this.nbd.nbdRequestBytes;
    nbdRequestErrors = this.nbd.nbdRequestErrors;
    nbdRequestDuration = this.nbd.nbdRequestDuration;
    nbdConnections = this.nbd.nbdConnections;
    nbdInflightRequests = this.nbd.nbdInflightRequests;
    nbdInflightLimitRequests = this.nbd.nbdInflightLimitRequests;
    nbdBufferedBytes = this.nbd.nbdBufferedBytes;
    nbdBufferedLimitBytes = this.nbd.nbdBufferedLimitBytes;
    nbdBackpressurePauses = this.nbd.nbdBackpressurePauses;
    nbdStalledSessionsClosed = this.nbd.nbdStalledSessionsClosed;
    nbdHandshakes = this.nbd.nbdHandshakes;
    nbdHandshakeLimit = this.nbd.nbdHandshakeLimit;
    nbdHandshakesDropped = this.nbd.nbdHandshakesDropped;
    nbdConnectionsRefused = this.nbd.nbdConnectionsRefused;
    ublk = ublkMetrics(this.make);
    ublkRequests = this.ublk.ublkRequests;
    ublkRequestBytes = this.ublk.ublkRequestBytes;
    ublkRequestErrors = this.ublk.ublkRequestErrors;
    ublkRequestDuration = this.ublk.ublkRequestDuration;
    ublkInflightRequests = this.ublk.ublkInflightRequests;
    ublkQueueDepthLimit = this.ublk.ublkQueueDepthLimit;
    replication = replicationMetrics(this.make);
    replicationFetchedBytes = this.replication.replicationFetchedBytes;
    replicationFetchErrors = this.replication.replicationFetchErrors;
    replicationSyncTransferredBytes = this.replication.replicationSyncTransferredBytes;
    replicationSyncDoneBytes = this.replication.replicationSyncDoneBytes;
    replicationSyncTotalBytes = this.replication.replicationSyncTotalBytes;
    replicationReplayedBytes = this.replication.replicationReplayedBytes;
    replicationLagBytes = this.replication.replicationLagBytes;
    replicationLagSeconds = this.replication.replicationLagSeconds;
    replicationLagLimitBytes = this.replication.replicationLagLimitBytes;
    replicationLagLimitSeconds = this.replication.replicationLagLimitSeconds;
    rpc = rpcMetrics(this.make);
    rpcRequests = this.rpc.rpcRequests;
    rpcDuration = this.rpc.rpcDuration;
    peerListener = peerListenerMetrics(this.make);
    peerSentBytes = this.peerListener.peerSentBytes;
    peerReceivedBytes = this.peerListener.peerReceivedBytes;
    peerRejectedRequests = this.peerListener.peerRejectedRequests;
    peerConnections = this.peerListener.peerConnections;
    peerUnauthenticatedRequests = this.peerListener.peerUnauthenticatedRequests;
    peerUnauthenticatedBytes = this.peerListener.peerUnauthenticatedBytes;
    peerUnauthenticatedLimit = this.peerListener.peerUnauthenticatedLimit;
    peerReplayFloorWrites = this.peerListener.peerReplayFloorWrites;
    admin = adminMetrics(this.make);
    adminConnections = this.admin.adminConnections;
    adminLimit = this.admin.adminLimit;
    adminRejectedRequests = this.admin.adminRejectedRequests;
    peerLink = peerLinkMetrics(this.make);
    peerLastContact = this.peerLink.peerLastContact;
    peerClockSkew = this.peerLink.peerClockSkew;
    peerSyncFailures = this.peerLink.peerSyncFailures;
    cluster = clusterMetrics(this.make);
    clusterStateChanges = this.cluster.clusterStateChanges;
    clusterMembers = this.cluster.clusterMembers;
    clusterStateEntries = this.cluster.clusterStateEntries;
    clusterStateTombstones = this.cluster.clusterStateTombstones;
    lamportAheadOfWall = this.cluster.lamportAheadOfWall;
    buildInfo = this.gauge("marsd_build_info", "Build of the running daemon (value 1).", [
        "version",
        "commit",
        "node_version",
    ]);
    constructor(options = {}) {
        if (options.defaultMetrics ?? true) {
            client.collectDefaultMetrics({ register: this.registry, prefix: "" });
            for (const name of MISNAMED_DEFAULT_METRICS)
                this.registry.removeSingleMetric(name);
        }
        this.buildInfo.labels(BUILD.version, BUILD.commit, process.version).set(1);
    }
    /** Hooks a resource's log writer into the metrics. */
    logObserver(resource, limitBytes) {
        return logObserver(this.log, resource, limitBytes);
    }
    /** Hooks a resource's ublk device into the metrics. */
    ublkObserver(resource) {
        return ublkObserver(this.ublk, resource);
    }
    /**
     * Exports what a resource knows about itself, read when scraped (so the
     * series exist from the start and are never stale), and its backlog bound.
     */
    watchResource(resource, applyBacklogLimitBytes, source) {
        this.resourceSources.set(resource, source);
        this.resourceApplyBacklogLimitBytes.labels(resource).set(applyBacklogLimitBytes);
    }
    /** Drops every series of a deleted resource so it disappears from /metrics. */
    async forgetResource(resource) {
        this.resourceSources.delete(resource);
        const ours = Object.values(this).filter((m) => m instanceof client.Counter || m instanceof client.Gauge || m instanceof client.Histogram);
        for (const metric of ours) {
            const { values } = await metric.get();
            const seen = new Set();
            for (const { labels } of values) {
                if (labels.resource !== resource)
                    continue;
                // Histogram buckets carry an extra `le`; a series is identified without it.
                const { le: _le, ...series } = labels;
                const key = JSON.stringify(series);
                if (seen.has(key))
                    continue;
                seen.add(key);
                metric.remove(series);
            }
        }
    }
    gauge(name, help, labelNames) {
        return this.make.gauge(name, help, labelNames);
    }
}
//# sourceMappingURL=metrics.js.map
/**
 * The dashboards and alert rules against the real Prometheus server
 * scraping three live daemons (alpha, bravo, charlie) with a replicating
 * resource. The cluster goes through the states the panels exist for:
 *
 *   sync          bravo joins with 40 MiB to copy, its sync bandwidth limited to 8 MiB/s
 *   sync-stalled  bravo's links are cut mid-sync: its sync stops moving
 *   replicating   all three UpToDate, alpha written to through NBD; charlie verified
 *   handover      bravo made primary (planned) and written to
 *   paused-fetch  charlie's fetch paused while bravo is written to
 *   partitioned   bravo cut off and still written to; alpha forced primary and written to
 *   split-brain   the links healed: both histories seen, bravo stuck on its own
 *   down          charlie's daemon killed
 *
 * Each phase's time is recorded once Prometheus itself shows the state.
 * Afterwards, through /api/v1/query at that time, every panel query of every
 * dashboard (template variables as Grafana substitutes them) and every
 * alert expression must parse and return data: at least one finite value,
 * a positive one where the table says so. The table below names the phase
 * of each panel (and of single targets where a panel shows several states);
 * a panel missing from it, or a query without data, fails the test by name.
 *
 * Alert expressions watch windows of minutes to hours; live they are
 * evaluated with those windows shortened by LIVE_DURATIONS (and the one
 * threshold that is a duration in seconds, by LIVE_THRESHOLDS). Alerts
 * whose state this test does not bring about (a failed resource, full log
 * space, slow disks) are listed in NOT_PROVOKED with where their firing is
 * proven; live they must parse and evaluate without error. Every rule's
 * health in Prometheus's own evaluation (/api/v1/rules) must be "ok".
 */
import assert from "node:assert/strict";
import { open } from "node:fs/promises";
import { after, describe, it } from "node:test";
import { systemClock } from "../../src/platform/clock.js";
import { waitFor } from "../helpers/daemon-process.js";
import { evaluateAtPhases, liveQueries, shortenRuleExpr, } from "../helpers/live-queries.js";
import { ALERTS_FILE, alertRules, loadDashboards } from "../helpers/monitoring.js";
import { readPastEnd, startQemuIoWriter } from "../helpers/nbd-traffic.js";
import { PrometheusServer } from "../helpers/prometheus-server.js";
import { prng } from "../helpers/prng.js";
import { makeDisk, waitUntil } from "../helpers/replication.js";
import { explainOnFailure, testSeed, TestCluster } from "../helpers/test-cluster.js";
const R0 = "r0";
const MIB = 1024 * 1024;
/** Three sync windows (16 MiB each, full-sync.ts): progress moves twice before the sync ends. */
const DISK_BYTES = 48 * MIB;
const SEED_BYTES = 40 * MIB;
/** bravo's sync copies SEED_BYTES at this rate (node.setBandwidth): about 5 s. */
const SYNC_LIMIT_BYTES_PER_SEC = 8 * MIB;
/** A sync's data window (sync-client.ts): about 1 s at the limit. */
const SYNC_WINDOW_BYTES = 8 * MIB;
const HOSTS = ["alpha", "bravo", "charlie"];
const at = (phase, positive = false) => ({ phase, positive });
/** Grafana's values for the template variables: the job, All instances, one resource. */
const VARIABLES = {
    job: "marsd",
    instance: ".+",
    resource: R0,
    __rate_interval: "5s",
    __interval: "1s",
    __range: "1m",
};
/** Panel title (or "title#refId" for one target) -> the phase it is meant to show. */
const PANEL_PHASES = {
    // Fleet overview.
    "Daemons down": at("down", true),
    "Cluster members": at("replicating", true),
    Resources: at("replicating", true),
    "Failed resources": at("replicating"),
    "Split-brain resources": at("split-brain", true),
    "Unreachable peers": at("partitioned"),
    Nodes: at("down", true),
    "Resources by state#A": at("replicating", true),
    "Resources by state#B": at("split-brain", true),
    "Resources by state#C": at("paused-fetch", true),
    "Resources by state#D": at("sync", true),
    "Resources by state#E": at("replicating"),
    "Resources by state#F": at("replicating"),
    "Worst replication lag": at("paused-fetch", true),
    "Worst replication lag in seconds": at("paused-fetch", true),
    "Replication lag in seconds by member": at("paused-fetch", true),
    "Log filesystem free space": at("replicating", true),
    "Log filesystem free ratio": at("replicating", true),
    "Log space level": at("replicating"),
    "Log filesystem free space in an hour (predicted)": at("replicating"),
    "Emergency mode": at("replicating"),
    "Members cut loose / needing resync": at("replicating"),
    "Peer last-contact age": at("partitioned", true),
    "Peer requests rejected by reason": at("replicating", true),
    "Clock skew": at("replicating"),
    "Peer sync failures": at("partitioned"),
    "Cluster members and state#A": at("replicating", true),
    "Cluster members and state#B": at("replicating", true),
    "Cluster members and state#C": at("replicating"), // tombstones: none until a key is deleted
    "Cluster state changes": at("replicating", true),
    "RPC errors by code": at("replicating"),
    // Resource detail.
    Roles: at("handover", true),
    "Split brain, pauses and failure#A": at("split-brain", true),
    "Split brain, pauses and failure#B": at("paused-fetch", true),
    "Split brain, pauses and failure#C": at("replicating"),
    "Replication lag": at("paused-fetch", true),
    "Replication lag by member (primary's view)": at("paused-fetch", true),
    "Replication lag in seconds": at("paused-fetch", true),
    "Log positions": at("replicating", true),
    "Log files on disk": at("replicating", true),
    "NBD IOPS by command": at("replicating", true),
    "NBD throughput by command": at("replicating", true),
    "Log append throughput": at("replicating", true),
    "Fetched and replayed bytes": at("replicating", true),
    "Fetch errors": at("partitioned"),
    "Full sync progress": at("sync", true),
    "Full sync transfer": at("sync", true),
    // Transfers: bravo's sync is limited and waits for it; alpha compresses what it ships.
    "Bandwidth limits vs transfer rate#A": at("sync", true),
    "Bandwidth limits vs transfer rate#B": at("sync", true),
    "Bandwidth limits vs transfer rate#C": at("replicating", true),
    "Time throttled by bandwidth limits": at("sync", true),
    "Sync slots#A": at("sync", true),
    "Sync slots#B": at("sync", true),
    "Compression ratio (wire / raw)": at("replicating", true),
    "Compression CPU": at("replicating", true),
    // charlie verified equal: no mismatched bytes, one run.
    "Verify mismatched bytes": at("replicating"),
    "Verify runs by outcome": at("replicating", true),
    "Replicas with verify mismatches": at("replicating"),
    "Log fsync latency": at("replicating", true),
    "Group-commit batch size": at("replicating", true),
    "NBD request latency p99": at("replicating", true),
    // The bytes in flight are a moment's (0 between batches); the limits are set.
    "Log pending bytes vs limit#A": at("replicating"),
    "Log pending bytes vs limit#B": at("replicating", true),
    "Apply backlog vs limit#A": at("replicating"),
    "Apply backlog vs limit#B": at("replicating", true),
    "Dirty bytes to resync": at("replicating"),
    "NBD errors": at("replicating"),
    // Each qemu-io write is a connection of its own: open and in flight only for a moment.
    "NBD connections and requests in flight#A": at("replicating"),
    "NBD connections and requests in flight#B": at("replicating"),
    "NBD connections and requests in flight#C": at("replicating", true),
    "Peer traffic": at("replicating", true),
};
/** Panels this machine cannot feed, and why. */
const NOT_LIVE_PANELS = {
    "ublk queue depth in use": "ublk needs a kernel with ublk: test/vm checks the series after IO",
    "ublk requests by op": "ublk needs a kernel with ublk: test/vm checks the series after IO",
    "ublk errors": "ublk needs a kernel with ublk: test/vm checks the series after IO",
    "ublk throughput": "ublk needs a kernel with ublk: test/vm checks the series after IO",
    "ublk request latency p99": "ublk needs a kernel with ublk: test/vm checks the series after IO",
};
/** Alert -> the phase in which its expression (windows shortened) returns the node it is about. */
const ALERT_PHASES = {
    MarsdDown: at("down"),
    MarsdSplitBrain: at("split-brain", true),
    MarsdReplicationLagHigh: at("paused-fetch", true),
    MarsdMemberLagSecondsHigh: at("paused-fetch", true),
    MarsdReplicationStalled: at("split-brain", true),
    MarsdSyncStalled: at("sync-stalled"),
    MarsdPeerUnreachable: at("partitioned", true),
    MarsdPeerAuthRejections: at("replicating", true),
};
/** Alerts whose state this test does not bring about, and where their firing is proven. */
const NOT_PROVOKED = {
    MarsdResourceFailed: "a failed resource: resource-isolation.test.ts; fires in alerts.test.yml",
    MarsdResourceFlapping: "three failures in an hour: alerts.test.yml",
    MarsdLogPendingNearLimit: "a log device slower than the writes: alerts.test.yml",
    MarsdApplyBacklogNearLimit: "a backing disk slower than the writes: alerts.test.yml",
    MarsdFsyncSlow: "fsync p99 over 100 ms: alerts.test.yml",
    MarsdLogSpaceLow: "a log filesystem below its warning threshold: log-space.test.ts, alerts.test.yml",
    MarsdLogSpaceFillingUp: "a log filesystem filling within an hour: alerts.test.yml",
    MarsdLogSpaceCritical: "log space level cut or emergency: log-space.test.ts, alerts.test.yml",
    MarsdEmergencyMode: "a full log area: emergency-mode.test.ts, alerts.test.yml",
    MarsdMembersNeedResync: "members behind a gap of emergency mode: emergency-mode.test.ts, alerts.test.yml",
    MarsdMemberCutLoose: "a member lagging past lagging.maxLag*: lagging-member.test.ts, alerts.test.yml",
    MarsdUblkRequestErrors: "ublk needs a kernel with ublk (test/vm); fires in alerts.test.yml",
    MarsdUblkQueueSaturated: "ublk needs a kernel with ublk (test/vm); fires in alerts.test.yml",
    MarsdVerifyMismatch: "a replica differing from its primary: verify.test.ts; fires in alerts.test.yml",
};
/** The rules' windows, shortened to this test's seconds (order kept: 1m < 5m < 15m < 30m < 1h). */
const LIVE_DURATIONS = {
    "1m": "2s",
    "5m": "3s",
    "10m": "4s",
    "15m": "5s",
    "30m": "8s",
    "1h": "12s",
};
/** Thresholds that are durations in seconds, shortened the same way. */
const LIVE_THRESHOLDS = {
    MarsdPeerUnreachable: ["> 300", "> 5"],
    MarsdMemberLagSecondsHigh: ["> 300", "> 1"],
};
const PLAN = {
    variables: VARIABLES,
    variablePhase: "replicating",
    panelPhases: PANEL_PHASES,
    notLivePanels: NOT_LIVE_PANELS,
    alertPhases: ALERT_PHASES,
    notProvoked: NOT_PROVOKED,
    durations: LIVE_DURATIONS,
    thresholds: LIVE_THRESHOLDS,
};
/** An alert's expression as this test evaluates it (windows shortened). */
function liveRuleExpr(rules, name) {
    const rule = rules.find((r) => r.alert === name);
    assert.ok(rule, `no alert ${name}`);
    return shortenRuleExpr(rule, PLAN);
}
describe("Prometheus scraping three live daemons", { timeout: 180_000 }, () => {
    let cluster;
    let prometheus;
    after(async () => {
        await prometheus?.stop();
        await cluster?.cleanup();
    });
    it("evaluates every panel query and alert expression in the state it is meant to show", explainOnFailure(async () => {
        const startedMs = systemClock.nowMs();
        const seed = testSeed();
        const dashboards = await loadDashboards();
        const rules = await alertRules();
        const phaseAt = new Map();
        const mark = (phase, atSeconds) => {
            phaseAt.set(phase, atSeconds);
            console.log(`phase ${phase} at +${(atSeconds - startedMs / 1000).toFixed(1)} s`);
        };
        // The queries and their phases, checked against the files before anything runs.
        const { queries, notes } = liveQueries(dashboards, rules, PLAN);
        // --- three daemons, Prometheus scraping them, r0 on alpha and charlie
        cluster = await TestCluster.start({
            hosts: [...HOSTS],
            seed,
            config: {
                replication: { statusPublishMs: 200, heartbeatMs: 300, listWaitMs: 1000 },
                // One data window in flight: bravo's progress moves window by window while limited.
                sync: { maxConcurrent: 2, maxInFlightBytes: SYNC_WINDOW_BYTES },
            },
        });
        const c = cluster;
        const rpc = (host) => c.node(host).daemon.rpc;
        prometheus = await PrometheusServer.start({
            targets: HOSTS.map((h) => ({ address: new URL(c.node(h).daemon.adminUrl).host, instance: h })),
            ruleFiles: [ALERTS_FILE],
        });
        const prom = prometheus;
        await c.form();
        const disks = new Map();
        for (const h of HOSTS)
            disks.set(h, await makeDisk(c, h, R0, DISK_BYTES));
        const seedFile = await open(disks.get("alpha"), "r+");
        const seedData = Buffer.alloc(SEED_BYTES);
        const random = prng(seed);
        for (let i = 0; i < seedData.length; i += 4)
            seedData.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
        await seedFile.write(seedData, 0, SEED_BYTES, 0);
        await seedFile.close();
        await rpc("alpha").call("resource.create", { name: R0, disk: disks.get("alpha"), frontend: "nbd" });
        await rpc("charlie").call("resource.join", { name: R0, disk: disks.get("charlie") });
        await waitUntil(c, "charlie", R0, "uptodate", 30_000);
        // Prometheus scrapes a static target only once its discovery has run (about 5 s after start).
        await prom.waitForData("Prometheus to scrape all three daemons", 'count(up{job="marsd"} == 1) == 3');
        // --- sync: bravo joins with 40 MiB to copy, its syncs limited and waiting for the limit
        // (over 10 % of the time: every transfer counts its few microseconds in take() as waiting)
        await rpc("bravo").call("node.setBandwidth", { syncBytesPerSec: SYNC_LIMIT_BYTES_PER_SEC });
        await rpc("bravo").call("resource.join", { name: R0, disk: disks.get("bravo") });
        mark("sync", await prom.waitForData("bravo's sync to be under way in Prometheus", 'marsd_replication_sync_done_bytes{instance="bravo"} > 0 < marsd_replication_sync_total_bytes{instance="bravo"}' +
            ' and rate(marsd_replication_sync_transferred_bytes_total{instance="bravo"}[5s]) > 0' +
            ' and on (instance, resource) rate(marsd_bandwidth_throttled_seconds_total{instance="bravo", kind="sync"}[5s]) > 0.1'));
        // sync-stalled: bravo's links cut mid-sync.
        c.partition("bravo");
        mark("sync-stalled", await prom.waitForData("bravo's sync to stand still in Prometheus", 'marsd_replication_sync_done_bytes{instance="bravo"} < marsd_replication_sync_total_bytes{instance="bravo"}' +
            ' and changes(marsd_replication_sync_done_bytes{instance="bravo"}[5s]) == 0'));
        c.healAll();
        await waitUntil(c, "bravo", R0, "uptodate", 30_000);
        await rpc("bravo").call("node.setBandwidth", { syncBytesPerSec: 0 });
        // --- replicating: alpha written to; a failed RPC, a bad NBD request, knocks on the peer port;
        // charlie verified against alpha (equal)
        let writer = startQemuIoWriter(c, "alpha", R0, DISK_BYTES, seed + 1);
        assert.deepEqual(await rpc("charlie").call("resource.verify", { name: R0 }), { started: true });
        const verifyState = async () => {
            const status = await rpc("charlie").call("resource.status", { name: R0 });
            if (status.verify?.state === "failed")
                throw new Error(`charlie's verify failed: ${status.verify.error}`);
            return status.verify?.state;
        };
        await assert.rejects(rpc("alpha").call("resource.status", { name: "no-such-resource" }));
        await readPastEnd(c, "alpha", R0, DISK_BYTES);
        const knock = async () => {
            const res = await fetch(`http://127.0.0.1:${c.node("alpha").peerPort}/peer/v1/state/pull`, {
                method: "POST",
                body: "{}",
            });
            assert.equal(res.status, 401);
        };
        mark("replicating", await waitFor("writes, replication and rejected knocks to show in Prometheus", async () => {
            await knock();
            if ((await verifyState()) !== "done")
                return undefined;
            const now = systemClock.nowMs() / 1000;
            const all = await Promise.all([
                'rate(marsd_nbd_requests_total{instance="alpha"}[5s]) > 0',
                'rate(marsd_replication_replayed_bytes_total{instance=~"bravo|charlie"}[5s]) > 0',
                'rate(marsd_peer_rejected_requests_total{instance="alpha"}[5s]) > 0',
                'rate(marsd_log_fsync_duration_seconds_count{instance="alpha"}[5s]) > 0',
                'count(marsd_replication_lag_bytes{instance="alpha"}) == 2',
                'marsd_verify_runs_total{instance="charlie", outcome="equal"} > 0',
                'rate(marsd_peer_compression_seconds_total{instance="alpha", kind="fetch"}[5s]) > 0',
            ].map((q) => prom.query(q, now)));
            return all.every((r) => r.length > 0) ? now : undefined;
        }, 20_000, 250));
        // --- handover: bravo becomes primary (planned) and is written to
        await writer.stop();
        await rpc("bravo").call("resource.primary", { name: R0 });
        writer = startQemuIoWriter(c, "bravo", R0, DISK_BYTES, seed + 2);
        mark("handover", await prom.waitForData("bravo to be primary and written to in Prometheus", 'marsd_resource_role{instance="bravo", role="primary"} == 1' +
            ' and on (resource) marsd_resource_role{instance="alpha", role="secondary"} == 1' +
            ' and on (resource) rate(marsd_nbd_requests_total{instance="bravo", command="write"}[5s]) > 0'));
        // --- paused-fetch: charlie stops fetching while bravo is written to
        await rpc("charlie").call("resource.pause", { name: R0, what: "fetch" });
        mark("paused-fetch", await prom.waitForData("charlie's paused fetch and its lag to show in Prometheus", 'marsd_replication_paused{instance="charlie", what="fetch"} == 1' +
            ' and on (resource) marsd_replication_lag_seconds{instance="bravo", member="charlie"} > 1' +
            " and on (resource) (" +
            liveRuleExpr(rules, "MarsdReplicationLagHigh") +
            ")"));
        await rpc("charlie").call("resource.resume", { name: R0, what: "fetch" });
        // --- partitioned: bravo cut off and still written to; alpha forced primary and written to
        await waitUntil(c, "charlie", R0, "uptodate", 30_000);
        c.partition("bravo");
        await waitFor("bravo to acknowledge writes while cut off", () => writer.writes >= 3, 10_000, 50);
        const bravoWrites = writer.writes;
        await waitFor("more writes on bravo while cut off", () => writer.writes >= bravoWrites + 2, 10_000, 50);
        await writer.stop();
        await rpc("alpha").call("resource.primary", { name: R0, force: true });
        writer = startQemuIoWriter(c, "alpha", R0, DISK_BYTES, seed + 3);
        mark("partitioned", await prom.waitForData("bravo to be out of contact for 5 s in Prometheus", 'time() - marsd_peer_last_contact_timestamp_seconds{instance="alpha", peer="bravo"} > 5' +
            ' and on () rate(marsd_nbd_requests_total{instance="alpha", command="write"}[5s]) > 0', 30_000));
        // --- split-brain: healed; both histories seen, bravo stays on its own
        c.healAll();
        mark("split-brain", await prom.waitForData("the split brain and bravo's standstill to show in Prometheus", 'marsd_resource_split_brain{instance="bravo"} == 1' +
            " and on (resource) (" +
            liveRuleExpr(rules, "MarsdReplicationStalled") +
            ")", 40_000));
        await writer.stop();
        assert.deepEqual(writer.errors, [], "the writers' qemu-io runs failed");
        // --- down: charlie's daemon is killed
        await c.node("charlie").daemon.kill9();
        mark("down", await prom.waitForData("charlie to be down in Prometheus", 'up{instance="charlie"} == 0'));
        // --- every query at its phase
        const { table, problems } = await evaluateAtPhases(prom, queries, phaseAt);
        // Alerts not provoked here: they parse and evaluate without error on the live data.
        for (const rule of rules.filter((r) => r.alert in NOT_PROVOKED)) {
            await prom
                .query(rule.expr)
                .catch((err) => problems.push(`alert ${rule.alert}: ${err.message}`));
        }
        // Prometheus evaluated every rule itself, every second, through all of it.
        for (const r of await prom.rules()) {
            if (r.health !== "ok")
                problems.push(`rule ${r.name}: health ${r.health} ${r.lastError ?? ""}`);
        }
        console.log(`${queries.length} queries evaluated:\n${[...table, ...notes].join("\n")}`);
        assert.deepEqual(problems, []);
        console.log(`prometheus-live took ${((systemClock.nowMs() - startedMs) / 1000).toFixed(1)} s`);
    }));
});
//# sourceMappingURL=prometheus-live.test.js.map
/**
 * The dashboards and alert rules against a real pair of daemons: every
 * metric they use is in /metrics (a histogram's _bucket/_sum/_count count
 * as its family) and has the labels they match on; and, fed with the
 * pair's real samples, promtool evaluates the replication queries (lag
 * joined across instances on job and resource) to exactly what the nodes
 * report, while the other alerts stay silent on the healthy pair.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { PROMETHEUS_MADE, alertRules, dashboardExprs, expandGrafanaMacros, familyOf, loadDashboards, parseExposition, queryPanels, scanPromql, } from "../helpers/monitoring.js";
import { nbdUri, startReplicated, waitCaughtUp } from "../helpers/replication.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { requireTool, run } from "../helpers/tools.js";
const HOSTS = ["node-a", "node-b"];
const R0 = "r0";
/** Metrics the dashboards or alerts use that a healthy pair never exports a sample of. */
const EVENT_ONLY = {
    marsd_nbd_request_errors_total: "only after an NBD request failed",
    marsd_replication_fetch_errors_total: "only after a fetch was interrupted or refused",
    marsd_peer_sync_failures_total: "only after a state exchange with a peer failed",
    // prometheus-live.test.ts runs a verify; verify.test.ts checks the values.
    marsd_verify_mismatched_bytes: "only after a resource.verify ran",
    marsd_verify_runs_total: "only after a resource.verify ran",
    // This pair serves NBD; the ublk series exist only where a resource is served over ublk
    // (the VM suite, test/vm, checks them after IO).
    marsd_ublk_inflight_requests: "only with a ublk device",
    marsd_ublk_queue_depth_limit_requests: "only with a ublk device",
    marsd_ublk_requests_total: "only with a ublk device",
    marsd_ublk_request_errors_total: "only with a ublk device",
    marsd_ublk_request_bytes_total: "only with a ublk device",
    marsd_ublk_request_duration_seconds_bucket: "only with a ublk device",
};
/** promtool evaluates at this offset into the synthetic series (after every 15m window is full). */
const EVAL_SECONDS = 30 * 60;
function value(e, name, labels = {}) {
    return e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
}
/** A number in promtool's series notation (no exponent: "1e+21+0x40" would not parse). */
function seriesNumber(v) {
    const s = String(v);
    return /e/i.test(s) ? v.toFixed(12) : s;
}
function seriesName(name, labels) {
    const inner = Object.entries(labels)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(", ");
    return `${name}{${inner}}`;
}
describe("monitoring against a real daemon pair", { timeout: 120_000 }, () => {
    let setup;
    let scrapes;
    let dashboards;
    let alerts;
    let tmp;
    let promtool;
    const scrape = async (host) => {
        const res = await fetch(`${setup.cluster.node(host).daemon.adminUrl}/metrics`);
        assert.equal(res.status, 200);
        return { host, atSeconds: Date.now() / 1000, exposition: parseExposition(await res.text()) };
    };
    before(async () => {
        promtool = requireTool("promtool");
        const qemuIo = requireTool("qemu-io");
        tmp = await makeTempDir("marsd-monitoring-");
        dashboards = await loadDashboards();
        alerts = await alertRules();
        // Seeded, so the full sync really copies chunks.
        setup = await startReplicated({ hosts: HOSTS, sizeBytes: 4 * 1024 * 1024, seedBytes: 1024 * 1024 });
        const { cluster } = setup;
        const [a, b] = HOSTS.map((h) => cluster.node(h));
        const write = (offset, length) => run(qemuIo, ["-f", "raw", nbdUri(cluster, a.host, R0), "-c", `write -P 0x5a ${offset} ${length}`]);
        await write("0", "256k");
        await waitCaughtUp(cluster, b.host, a.host, R0, 30_000);
        await a.daemon.rpc.call("resource.logRotate", { name: R0 });
        for (const n of [a, b])
            await n.daemon.rpc.call("resource.logDelete", { name: R0 });
        // Someone knocks on the peer port without credentials; an admin call fails.
        const knock = await fetch(`http://127.0.0.1:${a.peerPort}/peer/v1/state/pull`, {
            method: "POST",
            body: "{}",
        });
        assert.equal(knock.status, 401);
        await assert.rejects(a.daemon.rpc.call("resource.status", { name: "no-such-resource" }));
        // b stops replaying; a keeps writing: b lags by exactly what it has not applied.
        await b.daemon.rpc.call("resource.pause", { name: R0, what: "replay" });
        await write("1M", "128k");
        scrapes = await waitFor("a to be durable, applied and checkpointed past b's applied position", async () => {
            const [sa, sb] = await Promise.all(HOSTS.map(scrape));
            const ea = sa.exposition;
            const eb = sb.exposition;
            const durable = value(ea, "marsd_log_durable_position_bytes", { resource: R0 }) ?? 0;
            const appliedA = value(ea, "marsd_resource_applied_position_bytes", { resource: R0 });
            const checkpointA = value(ea, "marsd_resource_checkpoint_position_bytes", { resource: R0 });
            const appliedB = value(eb, "marsd_resource_applied_position_bytes", { resource: R0 }) ?? Infinity;
            const checkpointB = value(eb, "marsd_resource_checkpoint_position_bytes", { resource: R0 });
            return durable > appliedB + 128 * 1024 &&
                appliedA === durable &&
                checkpointA === durable &&
                checkpointB === appliedB
                ? [sa, sb]
                : undefined;
        }, 20_000, 50);
    });
    after(async () => {
        await setup?.cluster.cleanup();
        await tmp?.remove();
    });
    const referenced = () => [
        ...dashboards.flatMap(dashboardExprs),
        ...alerts.map((r) => ({ what: `alert ${r.alert}`, expr: r.expr })),
    ];
    it("exports every metric the dashboards and alerts use, with the labels they match on", () => {
        const types = new Map();
        for (const s of scrapes)
            for (const [k, v] of s.exposition.types)
                types.set(k, v);
        const samples = scrapes.flatMap((s) => s.exposition.samples);
        const problems = [];
        const used = new Set();
        for (const { what, expr } of referenced()) {
            for (const sel of scanPromql(expr)) {
                if (PROMETHEUS_MADE.has(sel.name))
                    continue;
                used.add(sel.name);
                if (!familyOf(sel.name, types)) {
                    problems.push(`${what}: ${sel.name} is not in /metrics`);
                    continue;
                }
                const mine = samples.filter((s) => s.name === sel.name);
                if (mine.length === 0) {
                    if (!(sel.name in EVENT_ONLY))
                        problems.push(`${what}: ${sel.name} has no samples`);
                    continue;
                }
                for (const m of sel.matchers) {
                    if (m.label === "job" || m.label === "instance" || m.label === "__name__")
                        continue;
                    if (!mine.some((s) => m.label in s.labels)) {
                        problems.push(`${what}: ${sel.name} has no label ${m.label}`);
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
        for (const name of Object.keys(EVENT_ONLY)) {
            assert.ok(used.has(name), `EVENT_ONLY lists ${name}, which nothing uses`);
            assert.ok(familyOf(name, types), `${name} is not declared in /metrics`);
        }
        // The reason label of a real rejection is there for the auth alert to group by.
        const a = scrapes[0];
        assert.ok((value(a.exposition, "marsd_peer_rejected_requests_total", { reason: "missing-headers" }) ?? 0) >= 1);
    });
    it("exports each node's role, pauses and split-brain state", () => {
        const [sa, sb] = scrapes;
        const of = (s, name, labels) => value(s.exposition, name, { resource: R0, ...labels });
        assert.deepEqual([sa, sb].map((s) => [
            of(s, "marsd_resource_role", { role: "primary" }),
            of(s, "marsd_resource_role", { role: "secondary" }),
        ]), [
            [1, 0],
            [0, 1],
        ]);
        assert.equal(of(sb, "marsd_replication_paused", { what: "replay" }), 1);
        assert.equal(of(sb, "marsd_replication_paused", { what: "fetch" }), 0);
        assert.equal(of(sa, "marsd_replication_paused", { what: "replay" }), 0);
        for (const s of [sa, sb])
            assert.equal(of(s, "marsd_resource_split_brain", {}), 0);
    });
    it("evaluates the replication queries on the real samples (promtool)", async () => {
        const [sa, sb] = scrapes;
        const durable = value(sa.exposition, "marsd_log_durable_position_bytes", { resource: R0 });
        const appliedB = value(sb.exposition, "marsd_resource_applied_position_bytes", {
            resource: R0,
        });
        const lagB = durable - appliedB;
        assert.ok(lagB > 128 * 1024, `lag ${lagB}`);
        // Every marsd sample of both nodes as a constant series, as Prometheus would have scraped it
        // (job "marsd", instance = host); timestamps shifted so that the scrape happened at EVAL_SECONDS.
        const inputSeries = [];
        for (const s of scrapes) {
            inputSeries.push({ series: seriesName("up", { job: "marsd", instance: s.host }), values: "1+0x40" });
            for (const x of s.exposition.samples) {
                if (!x.name.startsWith("marsd_") || !Number.isFinite(x.value))
                    continue;
                const v = x.name.endsWith("_timestamp_seconds") ? x.value - s.atSeconds + EVAL_SECONDS : x.value;
                inputSeries.push({
                    series: seriesName(x.name, { ...x.labels, job: "marsd", instance: s.host }),
                    values: `${seriesNumber(v)}+0x40`,
                });
            }
        }
        const node = (host, extra = { resource: R0 }) => seriesName("", { ...extra, instance: host, job: "marsd" });
        const panelExpr = (title) => {
            const panel = dashboards.flatMap((d) => queryPanels(d.dashboard)).find((p) => p.title === title);
            assert.ok(panel?.targets?.[0]?.expr, `no panel '${title}'`);
            return expandGrafanaMacros(panel.targets[0].expr);
        };
        const alertExpr = (name) => {
            const rule = alerts.find((r) => r.alert === name);
            assert.ok(rule, `no alert ${name}`);
            return rule.expr;
        };
        const lagging = [
            { labels: node("node-a"), value: 0 },
            { labels: node("node-b"), value: lagB },
        ];
        const exprTests = [
            { expr: panelExpr("Replication lag"), eval_time: "30m", exp_samples: lagging },
            {
                // The primary's own view of b: the same bytes, from the positions b published.
                expr: panelExpr("Replication lag by member (primary's view)"),
                eval_time: "30m",
                exp_samples: [
                    {
                        labels: seriesName("marsd_replication_lag_bytes", {
                            resource: R0,
                            member: "node-b",
                            instance: "node-a",
                            job: "marsd",
                        }),
                        value: value(sa.exposition, "marsd_replication_lag_bytes", { member: "node-b" }),
                    },
                ],
            },
            {
                expr: panelExpr("Full sync progress"),
                eval_time: "30m",
                exp_samples: HOSTS.map((h) => ({ labels: node(h), value: 1 })),
            },
            {
                expr: `(${panelExpr("Peer last-contact age")}) < bool 60`,
                eval_time: "30m",
                exp_samples: [
                    { labels: node("node-a", { peer: "node-b" }), value: 1 },
                    { labels: node("node-b", { peer: "node-a" }), value: 1 },
                ],
            },
            {
                expr: alertExpr("MarsdReplicationLagHigh"),
                eval_time: "30m",
                exp_samples: [{ labels: node("node-b"), value: lagB }],
            },
            // b stands still, but because its replay is paused: not a stall.
            { expr: alertExpr("MarsdReplicationStalled"), eval_time: "30m", exp_samples: [] },
            ...alerts
                .filter((r) => !["MarsdReplicationLagHigh", "MarsdReplicationStalled"].includes(r.alert))
                .map((r) => ({ expr: r.expr, eval_time: "30m", exp_samples: [] })),
        ];
        const testFile = tmp.join("real-samples.test.yml");
        await writeFile(testFile, 
        // JSON is YAML.
        JSON.stringify({
            rule_files: [],
            evaluation_interval: "1m",
            tests: [{ interval: "1m", input_series: inputSeries, promql_expr_test: exprTests }],
        }, null, 2));
        const result = await run(promtool, ["test", "rules", testFile]).catch((err) => {
            throw new Error(`promtool test rules on the real samples failed:\n${err.message}`);
        });
        assert.match(result.stdout, /SUCCESS/);
    });
});
//# sourceMappingURL=monitoring.test.js.map
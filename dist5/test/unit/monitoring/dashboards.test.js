/**
 * The Grafana dashboards in grafana/dashboards pass the important rules of
 * grafana/dashboard-linter (reimplemented in test/helpers/monitoring.ts),
 * every query parses (promtool check rules on the queries written as
 * recording rules), and the lint really catches each kind of defect.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { before, describe, it } from "node:test";
import { DASHBOARDS_DIR, GRAFANA_DIR, counterProblems, dashboardExprs, lintDashboard, loadDashboards, promtoolParse, queryPanels, rateIntervalProblems, readYaml, scanPromql, } from "../../helpers/monitoring.js";
import { requireTool } from "../../helpers/tools.js";
/** Findings waived on purpose, each with its reason. */
const EXEMPTIONS = [
    {
        dashboard: "marsd-resource.json",
        panel: "Replication lag",
        refId: "A",
        rule: "target-instance",
        reason: "the primary's durable position is read from whichever instance is primary, not only the selected ones",
    },
    {
        dashboard: "marsd-resource.json",
        panel: "Verify runs by outcome",
        refId: "A",
        rule: "target-counter-agg",
        reason: "verifies are rare and their series are born at 1 when the first one finishes, which increase() does not count: the totals since start are shown",
    },
];
const clone = (l) => {
    const dashboard = structuredClone(l.dashboard);
    return { file: l.file, dashboard, text: JSON.stringify(dashboard) };
};
const panelNamed = (l, title) => {
    const p = queryPanels(l.dashboard).find((x) => x.title === title);
    assert.ok(p, `no panel '${title}'`);
    return p;
};
describe("Grafana dashboards", () => {
    let dashboards;
    /** Both dashboards' panels in one, for the checks that do not care which one shows a panel. */
    let overview;
    before(async () => {
        requireTool("promtool");
        dashboards = await loadDashboards();
        assert.ok(dashboards.length >= 1, `no dashboards in ${DASHBOARDS_DIR}`);
        const names = dashboards.map((d) => path.basename(d.file));
        assert.deepEqual(names, ["marsd-fleet.json", "marsd-resource.json"]);
        overview = {
            file: path.join(DASHBOARDS_DIR, "all.json"),
            text: "",
            dashboard: { panels: dashboards.flatMap((d) => queryPanels(d.dashboard)) },
        };
    });
    it("pass the dashboard lint (datasource variable, units, $__rate_interval, counters, job/instance)", () => {
        const problems = dashboards.flatMap((d) => lintDashboard(d, EXEMPTIONS));
        assert.deepEqual(problems, []);
        const uids = dashboards.map((d) => d.dashboard.uid);
        assert.equal(new Set(uids).size, uids.length, `duplicate uids: ${uids.join(", ")}`);
    });
    it("have every query parsed by promtool, Grafana macros expanded", async () => {
        const exprs = dashboards.flatMap(dashboardExprs);
        assert.ok(exprs.length > 20, `only ${exprs.length} queries found`);
        await promtoolParse(exprs);
    });
    it("show what the operators asked for", () => {
        const exprsOf = (title) => (panelNamed(overview, title).targets ?? []).map((t) => t.expr).join("\n");
        assert.match(exprsOf("NBD IOPS by command"), /rate\(marsd_nbd_requests_total\{/);
        assert.match(exprsOf("Log fsync latency"), /histogram_quantile\(0\.5,[\s\S]*histogram_quantile\(0\.99,/);
        assert.match(exprsOf("Group-commit batch size"), /marsd_log_batch_records_sum/);
        assert.match(exprsOf("Log pending bytes vs limit"), /marsd_log_pending_limit_bytes/);
        assert.match(exprsOf("Apply backlog vs limit"), /marsd_resource_apply_backlog_limit_bytes/);
        assert.match(exprsOf("Replication lag"), /marsd_log_durable_position_bytes[\s\S]*on \(job, resource\) group_right[\s\S]*marsd_resource_applied_position_bytes/);
        assert.match(exprsOf("Fetched and replayed bytes"), /replayed_bytes_total/);
        assert.match(exprsOf("Full sync progress"), /marsd_replication_sync_done_bytes/);
        assert.match(exprsOf("Split-brain resources"), /marsd_resource_split_brain/);
        assert.match(exprsOf("Failed resources"), /marsd_resource_failed/);
        assert.match(exprsOf("Peer last-contact age"), /time\(\) - marsd_peer_last_contact_timestamp_seconds/);
        assert.match(exprsOf("Cluster members"), /marsd_cluster_members/);
        assert.match(exprsOf("Peer requests rejected by reason"), /by \(instance, reason\)/);
        assert.match(exprsOf("RPC errors by code"), /code!="0"/);
        assert.match(exprsOf("Log filesystem free space"), /marsd_log_fs_free_bytes[\s\S]*marsd_log_space_threshold_bytes/);
        assert.match(exprsOf("Log filesystem free ratio"), /marsd_log_fs_free_ratio/);
        assert.match(exprsOf("Emergency mode"), /marsd_resource_emergency\{/);
        // Fleet overview: nodes, resources by state, worst lag, log space.
        assert.match(exprsOf("Nodes"), /^up\{/);
        assert.match(exprsOf("Resources by state"), /count by \(role\)[\s\S]*split_brain[\s\S]*paused[\s\S]*sync_done/);
        assert.match(exprsOf("Worst replication lag"), /max by \(resource\) \(marsd_replication_lag_bytes\{/);
        assert.match(exprsOf("Worst replication lag in seconds"), /marsd_replication_lag_seconds\{/);
        assert.match(exprsOf("Log filesystem free space in an hour (predicted)"), /predict_linear\(marsd_log_fs_free_bytes/);
        // Resource detail: roles, lag in bytes and seconds, ublk.
        assert.match(exprsOf("Roles"), /marsd_resource_role\{/);
        assert.match(exprsOf("Replication lag in seconds"), /marsd_replication_lag_seconds\{[\s\S]*marsd_replication_lag_limit_seconds\{/);
        assert.match(exprsOf("Replication lag by member (primary's view)"), /marsd_replication_lag_bytes\{/);
        assert.match(exprsOf("ublk queue depth in use"), /marsd_ublk_inflight_requests[\s\S]*marsd_ublk_queue_depth_limit_requests/);
        assert.match(exprsOf("ublk requests by op"), /rate\(marsd_ublk_requests_total\{/);
        assert.match(exprsOf("ublk errors"), /rate\(marsd_ublk_request_errors_total\{/);
        assert.match(exprsOf("Dirty bytes to resync"), /marsd_resource_dirty_bytes\{/);
        // Transfers: bandwidth limits next to the rates, compression, verifies.
        assert.match(exprsOf("Bandwidth limits vs transfer rate"), /marsd_bandwidth_limit_bytes_per_second\{[\s\S]*sync_transferred_bytes_total[\s\S]*fetched_bytes_total/);
        assert.match(exprsOf("Time throttled by bandwidth limits"), /rate\(marsd_bandwidth_throttled_seconds_total\{/);
        assert.match(exprsOf("Sync slots"), /marsd_sync_slots\{[\s\S]*state="limit"/);
        assert.match(exprsOf("Compression ratio (wire / raw)"), /compression_wire_bytes_total[\s\S]*\/[\s\S]*compression_raw_bytes_total/);
        assert.match(exprsOf("Compression CPU"), /rate\(marsd_peer_compression_seconds_total\{/);
        assert.match(exprsOf("Verify mismatched bytes"), /marsd_verify_mismatched_bytes\{/);
        assert.match(exprsOf("Verify runs by outcome"), /marsd_verify_runs_total\{/);
        assert.match(exprsOf("Replicas with verify mismatches"), /marsd_verify_mismatched_bytes\{[^}]*\} > 0/);
        assert.match(exprsOf("Members cut loose / needing resync"), /marsd_resource_members_cut_loose\{[\s\S]*marsd_resource_members_needing_resync\{/);
    });
    it("are provisioned from files with the Prometheus data source", async () => {
        const provider = await readYaml(path.join(GRAFANA_DIR, "provisioning", "dashboards", "marsd.yaml"));
        assert.equal(provider.apiVersion, 1);
        assert.equal(provider.providers[0]?.type, "file");
        assert.ok(provider.providers[0]?.options.path, "the provider names no path");
        const ds = await readYaml(path.join(GRAFANA_DIR, "provisioning", "datasources", "prometheus.yaml"));
        assert.equal(ds.apiVersion, 1);
        assert.equal(ds.datasources[0]?.type, "prometheus");
        const readme = await readFile(path.join(GRAFANA_DIR, "README.md"), "utf8");
        assert.match(readme, /provisioning/);
    });
    describe("the lint itself", () => {
        it("finds selectors, their matchers, ranges and enclosing functions", () => {
            const s = scanPromql('histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job=~"$job", le!="x"}[$__rate_interval])))' +
                " / on (instance) group_left b_total + sum(c) by (resource) - d offset 5m");
            assert.deepEqual(s.map((x) => [x.name, x.argOf, x.range, x.matchers.map((m) => `${m.label}${m.op}${m.value}`)]), [
                ["a_bucket", "rate", "$__rate_interval", ["job=~$job", "le!=x"]],
                ["b_total", undefined, undefined, []],
                ["c", "sum", undefined, []],
                ["d", undefined, undefined, []],
            ]);
            assert.deepEqual(counterProblems("increase(x_total[$__rate_interval]) + rate(y_total[5m])"), []);
            assert.equal(counterProblems("sum(x_total)").length, 1);
            assert.equal(counterProblems("delta(x_total[5m])").length, 1);
            assert.deepEqual(rateIntervalProblems("rate(x_total[$__rate_interval])"), []);
            assert.equal(rateIntervalProblems("irate(x_total[1m])").length, 1);
            assert.throws(() => scanPromql("sum(rate(x[5m])"), /unbalanced/);
        });
        const mutations = [
            [
                "a panel without a unit",
                (l) => {
                    const p = panelNamed(l, "Log fsync latency");
                    delete p.fieldConfig?.defaults?.unit;
                },
                /panel-units: panel 'Log fsync latency'/,
            ],
            [
                "a rate over a fixed range",
                (l) => {
                    const t = panelNamed(l, "NBD IOPS by command").targets?.[0];
                    if (t?.expr)
                        t.expr = t.expr.replace("$__rate_interval", "5m");
                },
                /target-rate-interval: panel 'NBD IOPS by command'/,
            ],
            [
                "a counter without rate",
                (l) => {
                    const t = panelNamed(l, "RPC errors by code").targets?.[0];
                    if (t)
                        t.expr = 'sum(marsd_rpc_requests_total{job=~"$job", instance=~"$instance"})';
                },
                /target-counter-agg: panel 'RPC errors by code'/,
            ],
            [
                "a hard-wired data source",
                (l) => {
                    panelNamed(l, "Peer traffic").datasource = { type: "prometheus", uid: "prometheus" };
                },
                /panel-datasource: panel 'Peer traffic'/,
            ],
            [
                "no datasource variable",
                (l) => {
                    const list = l.dashboard.templating?.list ?? [];
                    list.splice(list.findIndex((v) => v.type === "datasource"), 1);
                },
                /template-datasource/,
            ],
            [
                "an import-only ${DS_PROMETHEUS} reference",
                (l) => {
                    const t = panelNamed(l, "Clock skew").targets?.[0];
                    if (t)
                        t.datasource = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
                },
                /__inputs/,
            ],
            [
                "a selector without the instance matcher",
                (l) => {
                    const t = panelNamed(l, "Log files on disk").targets?.[0];
                    if (t)
                        t.expr = 'marsd_log_files{job=~"$job", resource=~"$resource"}';
                },
                /target-instance: panel 'Log files on disk'/,
            ],
            [
                "a panel without a title",
                (l) => {
                    panelNamed(l, "Fetch errors").title = "";
                },
                /has no title/,
            ],
            [
                "a variable that does not reload on time change",
                (l) => {
                    const v = l.dashboard.templating?.list?.find((x) => x.name === "resource");
                    if (v)
                        v.refresh = 1;
                },
                /template-on-time-change-reload/,
            ],
        ];
        for (const [what, mutate, expected] of mutations) {
            it(`reports ${what}`, () => {
                // On the dashboard that has the panel the mutation breaks (the other has no such panel).
                const broken = dashboards.map(clone).find((l) => {
                    try {
                        mutate(l);
                        return true;
                    }
                    catch {
                        return false;
                    }
                });
                assert.ok(broken, `no dashboard to apply "${what}" to`);
                broken.text = JSON.stringify(broken.dashboard);
                const problems = lintDashboard(broken, EXEMPTIONS);
                assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in:\n${problems.join("\n")}`);
            });
        }
        it("lets promtool reject a query that does not parse", async () => {
            await assert.rejects(promtoolParse([{ what: "broken", expr: 'sum(rate(marsd_log_files{job=~"$job"}[$__rate_interval])' }]), /query_0: broken/);
        });
    });
});
//# sourceMappingURL=dashboards.test.js.map
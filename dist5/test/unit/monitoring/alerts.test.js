/**
 * prometheus/alerts.yml: promtool accepts it (alone and through
 * prometheus/scrape-example.yml), its unit tests
 * (prometheus/alerts.test.yml) pass and show every alert both firing and
 * staying silent, every alert carries what an operator needs (severity,
 * summary, description, a runbook that exists in docs/operations.md), and
 * a broken rule makes the unit tests fail.
 */
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ALERTS_FILE, ALERTS_TEST_FILE, PROMETHEUS_DIR, alertRules, counterProblems, operationsAnchors, readYaml, } from "../../helpers/monitoring.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { requireTool, run } from "../../helpers/tools.js";
/** The alerts operators asked for; more are welcome. */
const REQUIRED_ALERTS = [
    "MarsdDown",
    "MarsdSplitBrain",
    "MarsdResourceFailed",
    "MarsdReplicationLagHigh",
    "MarsdReplicationStalled",
    "MarsdPeerUnreachable",
    "MarsdLogPendingNearLimit",
    "MarsdFsyncSlow",
    "MarsdPeerAuthRejections",
    "MarsdLogSpaceLow",
    "MarsdLogSpaceFillingUp",
    "MarsdLogSpaceCritical",
    "MarsdEmergencyMode",
    "MarsdMembersNeedResync",
    "MarsdMemberCutLoose",
];
describe("Prometheus alert rules", () => {
    let promtool;
    let rules;
    let tmp;
    before(async () => {
        promtool = requireTool("promtool");
        rules = await alertRules();
        tmp = await makeTempDir("marsd-alerts-");
    });
    after(() => tmp?.remove());
    it("pass promtool check rules", async () => {
        const { stdout } = await run(promtool, ["check", "rules", ALERTS_FILE]);
        assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
    });
    it("are loaded by the example scrape configuration (promtool check config)", async () => {
        const { stdout } = await run(promtool, [
            "check",
            "config",
            path.join(PROMETHEUS_DIR, "scrape-example.yml"),
        ]);
        assert.match(stdout, /SUCCESS: 1 rule files found/);
        assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
    });
    it("pass their promtool unit tests", async () => {
        const { stdout } = await run(promtool, ["test", "rules", ALERTS_TEST_FILE], { cwd: PROMETHEUS_DIR });
        assert.match(stdout, /SUCCESS/);
    });
    it("include the alerts operators need, each tested firing and silent", async () => {
        const names = rules.map((r) => r.alert);
        for (const required of REQUIRED_ALERTS)
            assert.ok(names.includes(required), `${required} is missing`);
        assert.equal(new Set(names).size, names.length, "duplicate alert names");
        const tests = await readYaml(ALERTS_TEST_FILE);
        assert.deepEqual(tests.rule_files, ["alerts.yml"]);
        const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
        for (const name of names) {
            const mine = cases.filter((c) => c.alertname === name);
            assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `no test shows ${name} firing`);
            assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `no test shows ${name} silent`);
        }
    });
    it("carry severity, summary, description and a runbook in docs/operations.md", async () => {
        const anchors = await operationsAnchors();
        for (const r of rules) {
            const name = r.alert;
            assert.match(name, /^Marsd[A-Z][A-Za-z]+$/);
            assert.ok(["critical", "warning"].includes(r.labels?.severity ?? ""), `${name}: severity`);
            assert.ok(r.annotations?.summary?.trim(), `${name}: summary`);
            assert.ok(r.annotations?.description?.trim(), `${name}: description`);
            const url = r.annotations?.runbook_url ?? "";
            const m = /^file:\/\/\/usr\/share\/doc\/marsd\/operations\.md#([a-z0-9-]+)$/.exec(url);
            assert.ok(m, `${name}: runbook_url ${url} does not point into operations.md`);
            assert.equal(m[1], name.toLowerCase(), `${name}: the runbook anchor is named after the alert`);
            assert.ok(anchors.has(m[1]), `${name}: docs/operations.md has no heading for #${m[1]}`);
            assert.deepEqual(counterProblems(r.expr), [], `${name}: counters must be rated`);
        }
        const critical = rules.filter((r) => r.labels?.severity === "critical").map((r) => r.alert);
        assert.ok(critical.includes("MarsdSplitBrain"));
        const splitBrain = rules.find((r) => r.alert === "MarsdSplitBrain");
        assert.equal(splitBrain?.for, undefined, "split brain must fire at once");
        assert.equal(rules.find((r) => r.alert === "MarsdReplicationLagHigh")?.for, "10m");
        assert.ok(critical.includes("MarsdEmergencyMode"), "writes that are not replicated are critical");
    });
    it("fail their unit tests when a rule is broken", async () => {
        const text = await readFile(ALERTS_FILE, "utf8");
        const broken = text.replace("expr: marsd_resource_split_brain == 1", "expr: marsd_resource_split_brain == 2");
        assert.notEqual(broken, text, "the split brain rule was not found");
        await writeFile(tmp.join("alerts.yml"), broken);
        await copyFile(ALERTS_TEST_FILE, tmp.join(path.basename(ALERTS_TEST_FILE)));
        await assert.rejects(run(promtool, ["test", "rules", path.basename(ALERTS_TEST_FILE)], { cwd: tmp.path }), /MarsdSplitBrain/);
    });
});
//# sourceMappingURL=alerts.test.js.map
/**
 * The plan of a live monitoring test (test/integration/prometheus-live.test.ts):
 * every panel target and template variable of the dashboards and every
 * alert expression, each with the phase of the test in which it must have
 * data, checked against tables the test keeps; and their evaluation through
 * a real Prometheus server at the recorded time of each phase.
 *
 * The tables must match the files exactly: a panel or alert missing from
 * them, or named in them and gone from the files, is an error, so a new
 * panel cannot slip in untested.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { labelValuesExpr, queryPanels, variableQuery, } from "./monitoring.js";
export function substituteVariables(expr, variables) {
    return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, a, b) => {
        const value = variables[(a ?? b)];
        if (value === undefined)
            throw new Error(`no value for template variable ${whole} in: ${expr}`);
        return value;
    });
}
/** An alert's expression with its windows (and duration thresholds) shortened to the test's scale. */
export function shortenRuleExpr(rule, plan) {
    let expr = rule.expr.replace(/(\[|offset\s+)(\d+[smhd])\b/g, (_whole, before, d) => {
        const short = plan.durations[d];
        if (!short)
            throw new Error(`alert ${rule.alert}: no shorter duration for ${d} in the plan`);
        return `${before}${short}`;
    });
    const threshold = plan.thresholds[rule.alert];
    if (threshold) {
        assert.ok(expr.includes(threshold[0]), `alert ${rule.alert} has no "${threshold[0]}" any more`);
        expr = expr.replace(threshold[0], threshold[1]);
    }
    return expr;
}
/** Every query with its phase; throws when the plan and the files disagree. */
export function liveQueries(dashboards, rules, plan) {
    const queries = [];
    const notes = [];
    const seen = new Set();
    for (const d of dashboards) {
        const file = path.basename(d.file);
        for (const p of queryPanels(d.dashboard)) {
            const title = p.title;
            seen.add(title);
            if (title in plan.notLivePanels) {
                notes.push(`(not live)     ${file} '${title}': ${plan.notLivePanels[title]}`);
                continue;
            }
            for (const t of p.targets ?? []) {
                seen.add(`${title}#${t.refId}`);
                const expect = plan.panelPhases[`${title}#${t.refId}`] ?? plan.panelPhases[title];
                assert.ok(expect, `${file} panel '${title}' ${t.refId} has no phase in the plan`);
                queries.push({
                    what: `${file} panel '${title}' ${t.refId}`,
                    expr: substituteVariables(t.expr, plan.variables),
                    expect,
                });
            }
        }
        for (const v of d.dashboard.templating?.list ?? []) {
            const lv = labelValuesExpr(variableQuery(v));
            if (lv) {
                queries.push({
                    what: `${file} variable '${v.name}'`,
                    expr: substituteVariables(lv.expr, plan.variables),
                    expect: { phase: plan.variablePhase },
                });
            }
        }
    }
    for (const key of [...Object.keys(plan.panelPhases), ...Object.keys(plan.notLivePanels)]) {
        assert.ok(seen.has(key), `the plan names '${key}', which no dashboard has`);
    }
    for (const rule of rules) {
        const name = rule.alert;
        const expect = plan.alertPhases[name];
        if (expect)
            queries.push({ what: `alert ${name}`, expr: shortenRuleExpr(rule, plan), expect });
        else {
            assert.ok(name in plan.notProvoked, `alert ${name} is in neither alertPhases nor notProvoked`);
            notes.push(`(not provoked) alert ${name}: ${plan.notProvoked[name]}`);
        }
    }
    for (const name of [...Object.keys(plan.alertPhases), ...Object.keys(plan.notProvoked)]) {
        assert.ok(rules.some((r) => r.alert === name), `the plan names alert ${name}, which alerts.yml does not have`);
    }
    return { queries, notes };
}
/**
 * Evaluates each query at the time of its phase. Returns one line per query
 * for the log, and the problems: a query that does not parse, returns no
 * finite value, or (where it must) no positive one.
 */
export async function evaluateAtPhases(prometheus, queries, phaseAt) {
    const table = [];
    const problems = [];
    for (const q of queries) {
        const atSeconds = phaseAt.get(q.expect.phase);
        assert.ok(atSeconds !== undefined, `phase ${q.expect.phase} was never reached`);
        let samples;
        try {
            samples = await prometheus.query(q.expr, atSeconds);
        }
        catch (err) {
            problems.push(`${q.what}: ${err.message}\n  ${q.expr}`);
            continue;
        }
        const finite = samples.filter((s) => Number.isFinite(s.value));
        const ok = q.expect.positive ? finite.some((s) => s.value > 0) : finite.length > 0;
        table.push(`${q.expect.phase.padEnd(13)} ${ok ? "ok " : "NO "} ${q.what} (${finite.length} series)`);
        if (!ok) {
            const wanted = q.expect.positive ? "no positive value" : "no data";
            problems.push(`${q.what} returns ${wanted} in phase ${q.expect.phase}\n  ${q.expr}\n  got ${JSON.stringify(samples)}`);
        }
    }
    return { table, problems };
}
//# sourceMappingURL=live-queries.js.map
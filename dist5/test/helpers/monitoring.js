/**
 * Checks for the monitoring deliverables (grafana/, prometheus/): a small
 * PromQL scanner, the important rules of grafana/dashboard-linter
 * reimplemented over the dashboard JSON, and the glue to let promtool
 * parse dashboard queries and to read YAML (Debian's python3-yaml).
 *
 * The scanner is no full parser: promtool does the parsing (every query is
 * checked with `promtool check rules`). It finds the metric selectors, their
 * matchers and ranges, and which function a range selector is the argument
 * of, which is what the lint rules and the "does this metric exist" check
 * need.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
import { requireTool, run, SYSTEM_PYTHON } from "./tools.js";
export const GRAFANA_DIR = path.join(PROJECT_ROOT, "grafana");
export const DASHBOARDS_DIR = path.join(GRAFANA_DIR, "dashboards");
export const PROMETHEUS_DIR = path.join(PROJECT_ROOT, "prometheus");
export const ALERTS_FILE = path.join(PROMETHEUS_DIR, "alerts.yml");
export const ALERTS_TEST_FILE = path.join(PROMETHEUS_DIR, "alerts.test.yml");
export const OPERATIONS_DOC = path.join(PROJECT_ROOT, "docs", "operations.md");
/** Metrics Prometheus itself makes, not the daemon. */
export const PROMETHEUS_MADE = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);
const AGGREGATIONS = new Set([
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
]);
const LABEL_LIST_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const OTHER_KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]);
export const RATE_FUNCTIONS = new Set(["rate", "irate", "increase"]);
function tokenize(expr) {
    const tokens = [];
    let i = 0;
    while (i < expr.length) {
        const c = expr[i];
        const rest = expr.slice(i);
        if (/\s/.test(c)) {
            i++;
        }
        else if (c === "#") {
            while (i < expr.length && expr[i] !== "\n")
                i++;
        }
        else if (c === '"' || c === "'" || c === "`") {
            let j = i + 1;
            let value = "";
            while (j < expr.length && expr[j] !== c) {
                if (expr[j] === "\\" && c !== "`")
                    j++;
                value += expr[j] ?? "";
                j++;
            }
            if (j >= expr.length)
                throw new Error(`unterminated string at ${i} in: ${expr}`);
            tokens.push({ kind: "string", text: value });
            i = j + 1;
        }
        else if (c === "[") {
            const end = expr.indexOf("]", i);
            if (end < 0)
                throw new Error(`unterminated range at ${i} in: ${expr}`);
            tokens.push({ kind: "range", text: expr.slice(i + 1, end).trim() });
            i = end + 1;
        }
        else if (/^[A-Za-z_:]/.test(c)) {
            const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
            tokens.push({ kind: "ident", text: m[0] });
            i += m[0].length;
        }
        else if (/^(?:\d|\.\d)/.test(rest)) {
            const m = /^(?:0x[0-9a-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?(?:[a-z]+\d*)*)/i.exec(rest);
            tokens.push({ kind: "number", text: m[0] });
            i += m[0].length;
        }
        else if ("(){},".includes(c)) {
            tokens.push({ kind: "punct", text: c });
            i++;
        }
        else {
            const m = /^(?:==|!=|<=|>=|=~|!~|[=<>+\-*/%^@])/.exec(rest);
            if (!m)
                throw new Error(`unexpected character ${JSON.stringify(c)} at ${i} in: ${expr}`);
            tokens.push({ kind: "op", text: m[0] });
            i += m[0].length;
        }
    }
    return tokens;
}
/**
 * The metric selectors of a PromQL expression (Grafana macros may still be
 * in it: they only appear in strings and ranges). Throws on text it cannot
 * tokenize.
 */
export function scanPromql(expr) {
    const tokens = tokenize(expr);
    const selectors = [];
    const stack = [];
    /** Set when a label list of an aggregation closes: the next "(" is that aggregation's call. */
    let aggregationAfterLabels;
    let pendingAggregation;
    const at = (k) => tokens[k];
    for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        const next = at(i + 1);
        const prev = at(i - 1);
        if (t.kind === "punct" && t.text === "(") {
            if (prev?.kind === "ident" && LABEL_LIST_KEYWORDS.has(prev.text.toLowerCase())) {
                stack.push({ kind: "labels", aggregation: pendingAggregation });
                pendingAggregation = undefined;
            }
            else if (prev?.kind === "ident" && !OTHER_KEYWORDS.has(prev.text.toLowerCase())) {
                stack.push({ kind: "call", fn: prev.text });
            }
            else if (prev?.kind === "punct" && prev.text === ")" && aggregationAfterLabels) {
                stack.push({ kind: "call", fn: aggregationAfterLabels });
            }
            else {
                stack.push({ kind: "group" });
            }
            aggregationAfterLabels = undefined;
            continue;
        }
        aggregationAfterLabels = undefined;
        if (t.kind === "punct" && t.text === ")") {
            const frame = stack.pop();
            if (!frame)
                throw new Error(`unbalanced ")" in: ${expr}`);
            if (frame.kind === "labels" && frame.aggregation)
                aggregationAfterLabels = frame.aggregation;
            continue;
        }
        if (t.kind === "punct" && t.text === "{") {
            // A selector without a metric name ({__name__=...}): its matchers are no metric.
            const end = tokens.findIndex((x, k) => k > i && x.kind === "punct" && x.text === "}");
            if (end < 0)
                throw new Error(`unterminated "{" in: ${expr}`);
            i = end;
            continue;
        }
        if (t.kind !== "ident")
            continue;
        const lower = t.text.toLowerCase();
        const top = stack[stack.length - 1];
        if (top?.kind === "labels")
            continue; // a label name in by (...), on (...)
        if (LABEL_LIST_KEYWORDS.has(lower))
            continue;
        if (OTHER_KEYWORDS.has(lower)) {
            if (lower === "offset")
                i++; // its duration
            continue;
        }
        if (AGGREGATIONS.has(lower) && next?.kind === "ident" && /^(by|without)$/i.test(next.text)) {
            pendingAggregation = t.text;
            continue;
        }
        if (next?.kind === "punct" && next.text === "(")
            continue; // a function or aggregation call
        // A metric selector.
        const selector = { name: t.text, matchers: [] };
        let k = i + 1;
        if (at(k)?.kind === "punct" && at(k)?.text === "{") {
            k++;
            while (k < tokens.length && !(at(k)?.kind === "punct" && at(k)?.text === "}")) {
                const label = at(k);
                const op = at(k + 1);
                const value = at(k + 2);
                if (label?.kind === "ident" && op?.kind === "op" && value?.kind === "string") {
                    selector.matchers.push({ label: label.text, op: op.text, value: value.text });
                    k += 3;
                }
                else if (label?.kind === "punct" && label.text === ",") {
                    k++;
                }
                else {
                    throw new Error(`cannot read the matchers of ${t.text} in: ${expr}`);
                }
            }
            if (k >= tokens.length)
                throw new Error(`unterminated "{" in: ${expr}`);
            k++;
        }
        if (at(k)?.kind === "range") {
            selector.range = at(k).text;
            k++;
        }
        if (top?.kind === "call" && prev?.kind === "punct" && prev.text === "(")
            selector.argOf = top.fn;
        selectors.push(selector);
        i = k - 1;
    }
    if (stack.length > 0)
        throw new Error(`unbalanced "(" in: ${expr}`);
    return selectors;
}
/** Problems with counters (`*_total`) used other than as rate/irate/increase(counter[range]). */
export function counterProblems(expr) {
    return scanPromql(expr)
        .filter((s) => s.name.endsWith("_total"))
        .filter((s) => s.range === undefined || !RATE_FUNCTIONS.has(s.argOf ?? ""))
        .map((s) => `counter ${s.name} is not used as rate/irate/increase(${s.name}[...])`);
}
/** Problems with rate/irate/increase over another range than $__rate_interval. */
export function rateIntervalProblems(expr) {
    return scanPromql(expr)
        .filter((s) => RATE_FUNCTIONS.has(s.argOf ?? "") && s.range !== undefined)
        .filter((s) => s.range !== "$__rate_interval" && s.range !== "${__rate_interval}")
        .map((s) => `${s.argOf}(${s.name}[${s.range}]) should use [$__rate_interval]`);
}
export async function loadDashboards(dir = DASHBOARDS_DIR) {
    const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
    return Promise.all(files.map(async (f) => {
        const file = path.join(dir, f);
        const text = await readFile(file, "utf8");
        return { file, text, dashboard: JSON.parse(text) };
    }));
}
/** Every panel, rows and the panels of collapsed rows included. */
export function allPanels(d) {
    const out = [];
    const visit = (panels) => {
        for (const p of panels ?? []) {
            out.push(p);
            visit(p.panels);
        }
    };
    visit(d.panels);
    return out;
}
/** Panels that run queries (rows and text panels do not). */
export function queryPanels(d) {
    return allPanels(d).filter((p) => p.type !== "row" && p.type !== "text");
}
export function variableQuery(v) {
    if (typeof v.query === "string")
        return v.query;
    if (v.query && typeof v.query === "object" && typeof v.query.query === "string") {
        return v.query.query;
    }
    return "";
}
/** The PromQL inside label_values(<expr>, <label>) of a query variable. */
export function labelValuesExpr(query) {
    const m = /^\s*label_values\(\s*(.+)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(query);
    return m ? { expr: m[1], label: m[2] } : undefined;
}
/** Units the panels may use (a subset of Grafana's; the linter's panel-units rule). */
export const VALID_UNITS = new Set([
    "none",
    "short",
    "percent",
    "percentunit",
    "bytes",
    "decbytes",
    "bits",
    "binBps",
    "Bps",
    "bps",
    "ns",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "dtdurations",
    "dateTimeAsIso",
    "dateTimeFromNow",
    "ops",
    "reqps",
    "rps",
    "wps",
    "iops",
    "cps",
    "bool",
]);
export const REQUIRED_VARIABLES = ["job", "instance", "resource"];
const usesDatasourceVariable = (ds) => {
    const uid = typeof ds === "string" ? ds : ds?.uid;
    return uid === "${datasource}" || uid === "$datasource";
};
/**
 * The important rules of grafana/dashboard-linter, plus the no-__inputs rule
 * for provisioning. Returns one line per problem; [] is clean.
 */
export function lintDashboard(loaded, exemptions = []) {
    const { dashboard: d, text } = loaded;
    const name = path.basename(loaded.file);
    const problems = [];
    const add = (msg) => problems.push(`${name}: ${msg}`);
    const used = new Set();
    const exempt = (panel, target, rule) => {
        const e = exemptions.find((x) => x.dashboard === name && x.panel === panel.title && x.refId === target.refId && x.rule === rule);
        if (e)
            used.add(e);
        return e !== undefined;
    };
    // Dashboard rules.
    if (!d.uid || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(d.uid))
        add(`uid ${String(d.uid)} is not a stable slug`);
    if (!d.title)
        add("has no title");
    if (typeof d.schemaVersion !== "number" || d.schemaVersion < 39 || d.schemaVersion > 41) {
        add(`schemaVersion ${String(d.schemaVersion)} is not 39-41`);
    }
    if (d.__inputs !== undefined || /\$\{DS_[A-Z0-9_]+\}/.test(text)) {
        add("uses __inputs / ${DS_...}: file provisioning cannot resolve them (use the datasource variable)");
    }
    const variables = d.templating?.list ?? [];
    const datasourceVars = variables.filter((v) => v.type === "datasource");
    if (datasourceVars.length !== 1 || datasourceVars[0]?.name !== "datasource") {
        add("template-datasource: needs exactly one datasource variable, named 'datasource'");
    }
    else if (datasourceVars[0].query !== "prometheus") {
        add("template-datasource: the datasource variable must select prometheus data sources");
    }
    for (const required of REQUIRED_VARIABLES) {
        const v = variables.find((x) => x.name === required);
        if (!v) {
            add(`template-${required}: variable '${required}' is missing`);
            continue;
        }
        if (v.type !== "query")
            add(`template-${required}: must be a query variable`);
        if (!usesDatasourceVariable(v.datasource))
            add(`template-${required}: must use the datasource variable`);
        if (!v.multi || !v.includeAll || v.allValue !== ".+") {
            add(`template-${required}: must be multi-select with All = '.+'`);
        }
    }
    for (const v of variables.filter((x) => x.type === "query")) {
        if (v.refresh !== 2)
            add(`template-on-time-change-reload: variable '${v.name}' must refresh on time change`);
        const lv = labelValuesExpr(variableQuery(v));
        if (!lv)
            add(`template-label-promql: variable '${v.name}' is not label_values(<expr>, <label>)`);
    }
    // Panel and target rules.
    const ids = new Set();
    for (const p of allPanels(d)) {
        const title = p.title ?? "";
        if (!title.trim())
            add(`panel-title-description: panel ${String(p.id)} has no title`);
        if (typeof p.id !== "number" || ids.has(p.id))
            add(`panel '${title}' has a missing or duplicate id`);
        if (typeof p.id === "number")
            ids.add(p.id);
        if (!p.gridPos)
            add(`panel '${title}' has no gridPos`);
        if (p.type === "row" || p.type === "text")
            continue;
        if (!p.description?.trim())
            add(`panel-title-description: panel '${title}' has no description`);
        if (!usesDatasourceVariable(p.datasource)) {
            add(`panel-datasource: panel '${title}' does not use the datasource variable`);
        }
        const unit = p.fieldConfig?.defaults?.unit;
        if (!unit || !VALID_UNITS.has(unit))
            add(`panel-units: panel '${title}' has no or an invalid unit (${unit})`);
        const targets = p.targets ?? [];
        if (targets.length === 0)
            add(`panel-no-targets: panel '${title}' has no targets`);
        const refIds = new Set();
        for (const t of targets) {
            const where = `panel '${title}' target ${String(t.refId)}`;
            if (!t.refId || refIds.has(t.refId))
                add(`${where}: missing or duplicate refId`);
            refIds.add(t.refId ?? "");
            if (!usesDatasourceVariable(t.datasource))
                add(`panel-datasource: ${where} does not use the datasource variable`);
            if (!t.expr?.trim()) {
                add(`${where}: has no expr`);
                continue;
            }
            let selectors;
            try {
                selectors = scanPromql(t.expr);
            }
            catch (err) {
                add(`target-promql: ${where}: ${err.message}`);
                continue;
            }
            for (const msg of rateIntervalProblems(t.expr))
                add(`target-rate-interval: ${where}: ${msg}`);
            for (const msg of counterProblems(t.expr))
                if (!exempt(p, t, "target-counter-agg"))
                    add(`target-counter-agg: ${where}: ${msg}`);
            for (const label of ["job", "instance"]) {
                const missing = selectors.filter((s) => !s.matchers.some((m) => m.label === label && m.op === "=~" && m.value === `$${label}`));
                if (missing.length > 0 && !exempt(p, t, `target-${label}`)) {
                    add(`target-${label}: ${where}: ${missing.map((s) => s.name).join(", ")} without ${label}=~"$${label}"`);
                }
            }
        }
    }
    for (const e of exemptions.filter((x) => x.dashboard === name && !used.has(x))) {
        add(`exemption for panel '${e.panel}' ${e.refId} (${e.rule}) matches nothing: remove it`);
    }
    return problems;
}
/** Grafana's macros and variables, replaced so the query is plain PromQL. */
export function expandGrafanaMacros(expr) {
    return expr
        .replace(/\$\{?__(rate_interval|interval|range)\}?/g, "5m")
        .replace(/\$\{?__(range_s|interval_ms|range_ms)\}?/g, "300")
        .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, ".+");
}
/** Every PromQL query of a dashboard (targets and label_values variables). */
export function dashboardExprs(loaded) {
    const name = path.basename(loaded.file);
    const out = [];
    for (const p of queryPanels(loaded.dashboard)) {
        for (const t of p.targets ?? []) {
            if (t.expr)
                out.push({ what: `${name} panel '${p.title}' ${t.refId}`, expr: t.expr });
        }
    }
    for (const v of loaded.dashboard.templating?.list ?? []) {
        const lv = labelValuesExpr(variableQuery(v));
        if (lv)
            out.push({ what: `${name} variable '${v.name}'`, expr: lv.expr });
    }
    return out;
}
/**
 * Parses every expression with promtool, as recording rules in a temporary
 * rule file. Rejects with promtool's complaint (which names the rule).
 */
export async function promtoolParse(exprs) {
    const promtool = requireTool("promtool");
    const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-promql-"));
    try {
        const rules = exprs.map((e, i) => ({
            record: `dashboard:query_${i}:check`,
            expr: expandGrafanaMacros(e.expr),
        }));
        const file = path.join(dir, "queries.rules.yml");
        // JSON is YAML: no quoting pitfalls.
        await writeFile(file, JSON.stringify({ groups: [{ name: "dashboard-queries", rules }] }, null, 2));
        try {
            await run(promtool, ["check", "rules", file]);
        }
        catch (err) {
            const index = exprs.map((e, i) => `query_${i}: ${e.what}`).join("\n");
            throw new Error(`${err.message}\nwhere\n${index}`, { cause: err });
        }
    }
    finally {
        await rm(dir, { recursive: true, force: true });
    }
}
/** Reads YAML with Debian's python3-yaml (a dependency of ansible-core, which scripts/setup.sh installs). */
export async function readYaml(file) {
    const python = requireTool(SYSTEM_PYTHON);
    const { stdout } = await run(python, [
        "-c",
        "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)",
        file,
    ]);
    return JSON.parse(stdout);
}
export async function alertRules(file = ALERTS_FILE) {
    const rules = await readYaml(file);
    return rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}
/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
export function headingAnchor(heading) {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}
export async function operationsAnchors() {
    const text = await readFile(OPERATIONS_DOC, "utf8");
    return new Set(text
        .split("\n")
        .filter((l) => /^#{1,6}\s/.test(l))
        .map((l) => headingAnchor(l.replace(/^#+\s*/, ""))));
}
export function parseExposition(text) {
    const types = new Map();
    const samples = [];
    for (const line of text.split("\n")) {
        const type = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (type) {
            types.set(type[1], type[2]);
            continue;
        }
        if (!line || line.startsWith("#"))
            continue;
        const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
        if (!m)
            throw new Error(`cannot parse exposition line: ${line}`);
        const labels = {};
        for (const l of (m[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
            labels[l[1]] = l[2].replace(/\\(.)/g, (_, ch) => ch === "n" ? "\n" : ch);
        }
        samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return { types, samples };
}
/** The family a sample or query name belongs to: a histogram's _bucket/_sum/_count and a summary's _sum/_count count as it. */
export function familyOf(name, types) {
    if (types.has(name))
        return name;
    const m = /^(.*)_(bucket|sum|count)$/.exec(name);
    if (!m)
        return undefined;
    const [, family, suffix] = m;
    const type = types.get(family);
    if (type === "histogram" || (type === "summary" && suffix !== "bucket"))
        return family;
    return undefined;
}
//# sourceMappingURL=monitoring.js.map
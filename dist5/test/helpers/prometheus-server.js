/**
 * The real Prometheus server (Debian's binary, which scripts/setup.sh
 * unpacks next to promtool) for integration tests: a temporary config that
 * scrapes the given marsd targets every second as job "marsd" with
 * instance = host name (as prometheus/scrape-example.yml advises) and loads
 * the given rule files, its TSDB in a temporary directory, its web API on
 * a free loopback port. A missing binary fails the test (requireTool).
 *
 * query() is GET /api/v1/query: an instant query at a given time, so a
 * test can record when a state held and evaluate every query against that
 * moment afterwards. A query that does not parse rejects with Prometheus's
 * own error.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { systemClock } from "../../src/platform/clock.js";
import { reservePorts, waitFor } from "./daemon-process.js";
import { requireTool, startProcess } from "./tools.js";
export class PrometheusServer {
    url;
    dir;
    process;
    constructor(url, dir, process) {
        this.url = url;
        this.dir = dir;
        this.process = process;
    }
    static async start(options) {
        const binary = requireTool("prometheus");
        const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-prometheus-"));
        const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
        const config = {
            global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
            rule_files: options.ruleFiles,
            scrape_configs: [
                {
                    job_name: "marsd",
                    metrics_path: "/metrics",
                    static_configs: options.targets.map((t) => ({
                        targets: [t.address],
                        labels: { instance: t.instance },
                    })),
                },
            ],
        };
        const configFile = path.join(dir, "prometheus.yml");
        // JSON is YAML.
        await writeFile(configFile, JSON.stringify(config, null, 2));
        const reserved = await reservePorts(1);
        const port = reserved.ports[0];
        await reserved.release();
        const proc = startProcess(binary, [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            "--log.level=warn",
        ]);
        const server = new PrometheusServer(`http://127.0.0.1:${port}`, dir, proc);
        try {
            await waitFor("Prometheus to be ready", async () => {
                if (proc.child.exitCode !== null)
                    throw new Error(`prometheus exited:\n${proc.output}`);
                const res = await fetch(`${server.url}/-/ready`).catch(() => undefined);
                return res?.status === 200;
            }, 20_000, 100);
        }
        catch (err) {
            await server.stop();
            throw err;
        }
        return server;
    }
    /** Prometheus's log so far (for a failure message). */
    get output() {
        return this.process.output;
    }
    async api(pathAndQuery) {
        const res = await fetch(`${this.url}${pathAndQuery}`);
        const answer = (await res.json());
        if (answer.status !== "success" || answer.data === undefined) {
            throw new Error(`Prometheus ${answer.errorType ?? res.status}: ${answer.error ?? "no data"}`);
        }
        return answer.data;
    }
    /** Evaluates `expr` at `atSeconds` (default: now); a scalar comes back as one sample without labels. */
    async query(expr, atSeconds) {
        const params = new URLSearchParams({ query: expr });
        if (atSeconds !== undefined)
            params.set("time", atSeconds.toFixed(3));
        const data = await this.api(`/api/v1/query?${params.toString()}`);
        if (data.resultType === "scalar") {
            return [{ metric: {}, value: Number(data.result[1]) }];
        }
        if (data.resultType !== "vector")
            throw new Error(`unexpected result type ${data.resultType}`);
        return data.result.map((r) => ({
            metric: r.metric,
            value: Number(r.value[1]),
        }));
    }
    /** Waits until `expr` returns at least one sample now; resolves with the time it did. */
    async waitForData(what, expr, timeoutMs = 20_000) {
        try {
            return await waitFor(what, async () => {
                const atSeconds = systemClock.nowMs() / 1000;
                return (await this.query(expr, atSeconds)).length > 0 ? atSeconds : undefined;
            }, timeoutMs, 200);
        }
        catch (err) {
            throw new Error(`${err.message}\n${await this.describeTargets()}`, { cause: err });
        }
    }
    /** Each target's scrape health and last error, for a failure message. */
    async describeTargets() {
        const data = await this.api("/api/v1/targets").catch((err) => ({ activeTargets: [], error: err.message }));
        return data.activeTargets
            .map((t) => `target ${t.labels.instance}: ${t.health} ${t.lastError}`)
            .join("\n");
    }
    /** Every loaded rule with its health after the last evaluation. */
    async rules() {
        const data = await this.api("/api/v1/rules");
        return data.groups.flatMap((g) => g.rules);
    }
    async stop() {
        await this.process.stop();
        await rm(this.dir, { recursive: true, force: true });
    }
}
//# sourceMappingURL=prometheus-server.js.map
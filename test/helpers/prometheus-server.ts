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

export interface ScrapeTarget {
  /** host:port of the admin listener (GET /metrics). */
  address: string;
  /** The instance label: the node's host name. */
  instance: string;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

interface ApiAnswer<T> {
  status: "success" | "error";
  errorType?: string;
  error?: string;
  data?: T;
}

export interface RuleState {
  name: string;
  type: "alerting" | "recording";
  query: string;
  health: string;
  lastError?: string;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly process: ReturnType<typeof startProcess>,
  ) {}

  static async start(options: {
    targets: ScrapeTarget[];
    ruleFiles: string[];
    scrapeIntervalSeconds?: number;
  }): Promise<PrometheusServer> {
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
    const port = reserved.ports[0] as number;
    await reserved.release();
    const proc = startProcess(binary, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ]);
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, dir, proc);
    try {
      await waitFor(
        "Prometheus to be ready",
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`prometheus exited:\n${proc.output}`);
          const res = await fetch(`${server.url}/-/ready`).catch(() => undefined);
          return res?.status === 200;
        },
        20_000,
        100,
      );
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Prometheus's log so far (for a failure message). */
  get output(): string {
    return this.process.output;
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.url}${pathAndQuery}`);
    const answer = (await res.json()) as ApiAnswer<T>;
    if (answer.status !== "success" || answer.data === undefined) {
      throw new Error(`Prometheus ${answer.errorType ?? res.status}: ${answer.error ?? "no data"}`);
    }
    return answer.data;
  }

  /** Evaluates `expr` at `atSeconds` (default: now); a scalar comes back as one sample without labels. */
  async query(expr: string, atSeconds?: number): Promise<Sample[]> {
    const params = new URLSearchParams({ query: expr });
    if (atSeconds !== undefined) params.set("time", atSeconds.toFixed(3));
    const data = await this.api<{ resultType: string; result: unknown }>(
      `/api/v1/query?${params.toString()}`,
    );
    if (data.resultType === "scalar") {
      return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
    }
    if (data.resultType !== "vector") throw new Error(`unexpected result type ${data.resultType}`);
    return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  }

  /** Waits until `expr` returns at least one sample now; resolves with the time it did. */
  async waitForData(what: string, expr: string, timeoutMs = 20_000): Promise<number> {
    try {
      return await waitFor(
        what,
        async () => {
          const atSeconds = systemClock.nowMs() / 1000;
          return (await this.query(expr, atSeconds)).length > 0 ? atSeconds : undefined;
        },
        timeoutMs,
        200,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await this.describeTargets()}`, { cause: err });
    }
  }

  /** Each target's scrape health and last error, for a failure message. */
  async describeTargets(): Promise<string> {
    const data = await this.api<{
      activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }>;
    }>("/api/v1/targets").catch((err: Error) => ({ activeTargets: [], error: err.message }));
    return data.activeTargets
      .map((t) => `target ${t.labels.instance}: ${t.health} ${t.lastError}`)
      .join("\n");
  }

  /** Every loaded rule with its health after the last evaluation. */
  async rules(): Promise<RuleState[]> {
    const data = await this.api<{ groups: Array<{ rules: RuleState[] }> }>("/api/v1/rules");
    return data.groups.flatMap((g) => g.rules);
  }

  async stop(): Promise<void> {
    await this.process.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A real Daemon inside the test process (for supertest against its admin
 * app, and for storage fault injection through DaemonOptions.storage): its
 * own temp dirs, loopback listeners on free ports, and its structured log
 * captured so tests can look at what was logged.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { defaultConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { Daemon, type DaemonOptions } from "../../src/daemon/daemon.js";

export interface InProcessDaemon {
  daemon: Daemon;
  config: DaemonConfig;
  baseDir: string;
  token: string;
  /** Every log line (parsed JSON) so far. */
  logs: Array<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

export async function startInProcess(
  options: DaemonOptions = {},
  configure: (c: DaemonConfig) => void = () => undefined,
): Promise<InProcessDaemon> {
  const baseDir = await mkdtemp(path.join(os.tmpdir(), "marsd-inproc-"));
  const config = defaultConfig({ dataDir: path.join(baseDir, "data"), runDir: path.join(baseDir, "run") });
  config.host = "alpha";
  config.adminListen = "127.0.0.1:0";
  config.peerListen = "127.0.0.1:0";
  config.shutdownGraceMs = 2_000;
  configure(config);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: "debug", base: { host: config.host } }, sink);
  const daemon = new Daemon(config, logger, options);
  await daemon.start();
  const token = (await readFile(config.tokenFile, "utf8")).trim();
  return {
    daemon,
    config,
    baseDir,
    token,
    logs,
    async cleanup() {
      await daemon.stop().catch(() => undefined);
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

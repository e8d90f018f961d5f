/**
 * Daemon configuration: defaults, then the JSON config file, then command
 * line flags. The merged result is validated as a whole, so a typo in the
 * file is reported with its path instead of being ignored.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Ajv } from "ajv";
import type { LogLevel } from "./logger.js";

export interface DaemonConfig {
  /** This node's permanent name (as MARS: never change it). */
  host: string;
  dataDir: string;
  /** Sockets and other runtime files. */
  runDir: string;
  /** Admin listener (JSON-RPC, /metrics, /healthz), "host:port". */
  adminListen: string;
  /** File holding the admin bearer token; created with a random token if missing. */
  tokenFile: string;
  logLevel: LogLevel;
  nbd: {
    socket: string;
    /** Optional TCP listener "host:port" for NBD clients on other machines. */
    tcpListen?: string;
    maxInFlightPerConnection: number;
    maxConnections: number;
  };
  log: {
    rotateBytes: number;
    maxBatchBytes: number;
    maxPendingBytes: number;
    maxRecordPayloadBytes: number;
    checkpointIntervalMs: number;
  };
  shutdownGraceMs: number;
}

export type ConfigOverrides = {
  [K in keyof DaemonConfig]?: DaemonConfig[K] extends object ? Partial<DaemonConfig[K]> : DaemonConfig[K];
};

const HOST_PATTERN = "^[a-z][a-z0-9-]{0,62}$";

const schema = {
  type: "object",
  additionalProperties: false,
  required: [
    "host",
    "dataDir",
    "runDir",
    "adminListen",
    "tokenFile",
    "logLevel",
    "nbd",
    "log",
    "shutdownGraceMs",
  ],
  properties: {
    host: { type: "string", pattern: HOST_PATTERN },
    dataDir: { type: "string", minLength: 1 },
    runDir: { type: "string", minLength: 1 },
    adminListen: { type: "string", pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" },
    tokenFile: { type: "string", minLength: 1 },
    logLevel: { enum: ["trace", "debug", "info", "warn", "error", "fatal"] },
    nbd: {
      type: "object",
      additionalProperties: false,
      required: ["socket", "maxInFlightPerConnection", "maxConnections"],
      properties: {
        socket: { type: "string", minLength: 1, maxLength: 100 },
        tcpListen: { type: "string", pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" },
        maxInFlightPerConnection: { type: "integer", minimum: 1, maximum: 4096 },
        maxConnections: { type: "integer", minimum: 1, maximum: 65536 },
      },
    },
    log: {
      type: "object",
      additionalProperties: false,
      required: [
        "rotateBytes",
        "maxBatchBytes",
        "maxPendingBytes",
        "maxRecordPayloadBytes",
        "checkpointIntervalMs",
      ],
      properties: {
        rotateBytes: { type: "integer", minimum: 1048576 },
        maxBatchBytes: { type: "integer", minimum: 65536, maximum: 268435456 },
        maxPendingBytes: { type: "integer", minimum: 1048576 },
        maxRecordPayloadBytes: { type: "integer", minimum: 4096, maximum: 16777216 },
        checkpointIntervalMs: { type: "integer", minimum: 10, maximum: 3600000 },
      },
    },
    shutdownGraceMs: { type: "integer", minimum: 0 },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(schema);

function defaultHost(): string {
  const name =
    os
      .hostname()
      .toLowerCase()
      .split(".")[0]
      ?.replace(/[^a-z0-9-]/g, "-") ?? "";
  return /^[a-z]/.test(name) ? name.slice(0, 63) : `node-${name}`.slice(0, 63);
}

export function defaultConfig(overrides: { dataDir?: string; runDir?: string } = {}): DaemonConfig {
  const dataDir = overrides.dataDir ?? "/var/lib/marsd";
  const runDir = overrides.runDir ?? "/run/marsd";
  return {
    host: defaultHost(),
    dataDir,
    runDir,
    adminListen: "127.0.0.1:7780",
    tokenFile: path.join(dataDir, "admin.token"),
    logLevel: "info",
    nbd: { socket: path.join(runDir, "nbd.sock"), maxInFlightPerConnection: 128, maxConnections: 256 },
    log: {
      rotateBytes: 1024 * 1024 * 1024,
      maxBatchBytes: 4 * 1024 * 1024,
      maxPendingBytes: 64 * 1024 * 1024,
      maxRecordPayloadBytes: 1024 * 1024,
      checkpointIntervalMs: 1000,
    },
    shutdownGraceMs: 10_000,
  };
}

function merge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (
    typeof base !== "object" ||
    base === null ||
    typeof over !== "object" ||
    over === null ||
    Array.isArray(over)
  ) {
    return over as T;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) {
    if (value !== undefined) out[key] = merge(out[key], value);
  }
  return out as T;
}

export class ConfigError extends Error {}

/**
 * Builds the effective configuration. Paths that default relative to the
 * data or run dir follow those dirs when only they are overridden.
 */
export async function loadConfig(
  configFile: string | undefined,
  flags: ConfigOverrides,
): Promise<DaemonConfig> {
  let fromFile: ConfigOverrides = {};
  if (configFile) {
    try {
      fromFile = JSON.parse(await readFile(configFile, "utf8")) as ConfigOverrides;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(err as Error).message}`);
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`config file ${configFile} must hold a JSON object`);
    }
  }
  const layered = merge(fromFile, flags);
  const base = defaultConfig({ dataDir: layered.dataDir, runDir: layered.runDir });
  const config = merge(base, layered);
  config.dataDir = path.resolve(config.dataDir);
  config.runDir = path.resolve(config.runDir);
  config.tokenFile = path.resolve(config.tokenFile);
  config.nbd.socket = path.resolve(config.nbd.socket);
  if (!validate(config)) {
    const details = (validate.errors ?? [])
      .map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`)
      .join("; ");
    throw new ConfigError(`invalid configuration: ${details}`);
  }
  return config;
}

/** Structured JSON logs on stdout (journald picks them up under systemd). */
import { pino, type Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export function createLogger(level: LogLevel, host: string): Logger {
  return pino({
    level,
    base: { host, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

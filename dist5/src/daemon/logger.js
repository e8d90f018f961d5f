/** Structured JSON logs on stdout (journald picks them up under systemd). */
import { pino } from "pino";
export function createLogger(level, host) {
    return pino({
        level,
        base: { host, pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
    });
}
//# sourceMappingURL=logger.js.map
/**
 * Loads the daemon configuration: defaults, then the JSON config file, then
 * command line flags. The merged result is validated as a whole, so a typo in
 * the file is reported with its path instead of being ignored. Every failure
 * is a ConfigError (code CONFIG_INVALID) whose message says what to fix.
 */
import path from "node:path";
import { isValidSchedule } from "./jobs.js";
import { MarsError } from "../util/errors.js";
import { defaultConfig } from "./config.js";
import { validateConfig as validate } from "./config-schema.js";
function merge(base, over) {
    if (over === undefined)
        return base;
    if (typeof base !== "object" ||
        base === null ||
        typeof over !== "object" ||
        over === null ||
        Array.isArray(over)) {
        return over;
    }
    const out = { ...base };
    for (const [key, value] of Object.entries(over)) {
        if (value !== undefined)
            out[key] = merge(out[key], value);
    }
    return out;
}
export class ConfigError extends MarsError {
    constructor(message, options) {
        super("CONFIG_INVALID", message, options);
    }
}
/**
 * Builds the effective configuration. Paths that default relative to the
 * data or run dir follow those dirs when only they are overridden.
 */
export async function loadConfig(storage, configFile, flags) {
    let fromFile = {};
    if (configFile) {
        try {
            fromFile = JSON.parse(Buffer.from(await storage.readFile(configFile)).toString("utf8"));
        }
        catch (err) {
            throw new ConfigError(`cannot read config file ${configFile}: ${err.message}`);
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
            .map((e) => {
            // Name the unknown key: a typo must be findable from the message alone.
            const extra = e.keyword === "additionalProperties" ? ` (${String(e.params.additionalProperty)})` : "";
            return `${e.instancePath || "/"} ${e.message ?? ""}${extra}`;
        })
            .join("; ");
        throw new ConfigError(`invalid configuration: ${details}`);
    }
    if (config.nbd.maxBufferedBytesTotal < config.nbd.maxBufferedBytesPerConnection) {
        throw new ConfigError("invalid configuration: nbd.maxBufferedBytesTotal must be at least nbd.maxBufferedBytesPerConnection");
    }
    const granularity = config.emergency.dirtyGranularityBytes;
    if ((granularity & (granularity - 1)) !== 0) {
        throw new ConfigError(`invalid configuration: emergency.dirtyGranularityBytes ${granularity} is not a power of two`);
    }
    const { codec, level } = config.compression;
    if (codec === "deflate" && (level < 1 || level > 9)) {
        throw new ConfigError("invalid configuration: compression.level of deflate is 1 to 9");
    }
    const { warning, cut, emergency } = config.logSpace;
    for (const key of ["freeBytes", "freePercent"]) {
        // A worse level must not apply with more free space than a milder one (0 = criterion off).
        const [w, c, e] = [warning[key], cut[key], emergency[key]];
        if ((c > 0 && w > 0 && c > w) || (e > 0 && c > 0 && e > c) || (e > 0 && w > 0 && e > w)) {
            throw new ConfigError(`invalid configuration: logSpace thresholds must not grow from warning to cut to emergency (${key}: ${w}, ${c}, ${e})`);
        }
    }
    for (const [name, expression] of Object.entries(config.jobs)) {
        if (!isValidSchedule(expression)) {
            throw new ConfigError(`invalid configuration: jobs.${name} "${expression}" is not a cron expression`);
        }
    }
    return config;
}
//# sourceMappingURL=config-loader.js.map
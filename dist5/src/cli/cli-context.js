/**
 * What every marsadm verb shares: one RPC client per run, printing a
 * result (human text, or JSON with --json), running a verb on one resource
 * or on `all` (one call per resource of resource.list), and the exit code
 * an error ends the run with.
 *
 * Contract: a verb on `all` goes on after one resource failed (each line
 * says how it went) and ends the run with the exit code of the first
 * failure; on one resource the first failure ends the run. JSON output for
 * one resource is the RPC's result as it is; for `all` an object keyed by
 * resource name (a failure there is `{ error: { code, message } }`).
 */
import { CommanderError } from "commander";
import { MarsError } from "../util/errors.js";
import { RpcCallError, RpcClient } from "./rpc-client.js";
import { EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE, TIMEOUT_RPC_CODES } from "./verbs.js";
/** Extra time the client grants a call that waits server side for timeoutMs. */
const WAIT_CALL_MARGIN_MS = 10_000;
export class CliContext {
    options;
    client;
    constructor(options) {
        this.options = options;
    }
    get json() {
        return this.options().json === true;
    }
    async rpc(method, params = {}) {
        const opts = this.options();
        this.client ??= RpcClient.fromTokenFile(opts.url, opts.tokenFile);
        const timeoutMs = typeof params.timeoutMs === "number" ? params.timeoutMs + WAIT_CALL_MARGIN_MS : undefined;
        return (await this.client).call(method, params, timeoutMs);
    }
    print(result, human) {
        process.stdout.write((this.json || !human ? JSON.stringify(result, null, 2) : human(result)) + "\n");
    }
    async call(method, params = {}, human) {
        this.print(await this.rpc(method, params), human);
    }
    /** The resources a target names: itself, or every resource on this node for `all`. */
    async names(target) {
        if (target !== "all")
            return [target];
        const list = await this.rpc("resource.list");
        return list.resources.map((r) => r.name);
    }
    /** Runs `one` for the target resource, or for each resource with `all` (see the contract). */
    async onEach(target, one, human) {
        if (target !== "all")
            return this.print(await one(target), human);
        const results = {};
        const lines = [];
        for (const name of await this.names(target)) {
            try {
                const r = await one(name);
                results[name] = r;
                lines.push(`${name}: ${human(r)}`);
            }
            catch (err) {
                if (!(err instanceof RpcCallError || err instanceof MarsError))
                    throw err;
                const code = err.code;
                results[name] = { error: { code, message: err.message } };
                lines.push(`${name}: failed: ${err.message} (code ${code})`);
                if (process.exitCode === undefined || process.exitCode === 0)
                    process.exitCode = exitCodeFor(err);
            }
        }
        process.stdout.write((this.json ? JSON.stringify(results, null, 2) : lines.join("\n") || "no resources") + "\n");
    }
}
/** The exit code an error ends marsadm with (verbs.ts lists them). */
export function exitCodeFor(err) {
    if (err instanceof CommanderError)
        return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof RpcCallError)
        return TIMEOUT_RPC_CODES.has(err.code) ? EXIT_TIMEOUT : EXIT_FAILED;
    if (err instanceof MarsError && (err.code === "WAIT_TIMEOUT" || err.code === "RPC_TIMEOUT"))
        return EXIT_TIMEOUT;
    return EXIT_FAILED;
}
/** What marsadm prints on stderr for an error that ends the run. */
export function errorText(err) {
    if (err instanceof RpcCallError)
        return `marsadm: ${err.message} (code ${err.code})${err.data ? ` ${JSON.stringify(err.data)}` : ""}`;
    if (err instanceof MarsError)
        return `marsadm: ${err.message} (${err.code})`;
    return `marsadm: ${err.message}`;
}
//# sourceMappingURL=cli-context.js.map
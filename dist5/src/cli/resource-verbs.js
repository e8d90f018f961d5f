/**
 * marsadm's verbs on resources in MARS's words: pause-/resume-
 * sync|fetch|replay (connect/disconnect), primary [--force], secondary,
 * view <res>|all [--watch], wait-resource, wait-cluster; and the verbs
 * marsadm had before them (pause/resume <what>, wait, plain view), kept as
 * aliases because scripts call them.
 *
 * Contract: each verb takes a resource name or `all` where MARS does;
 * verbs.ts maps each to its RPC and lists the exit codes. Waits that the
 * daemon cannot do server side poll with a deadline (never unbounded).
 */
import { InvalidArgumentError } from "commander";
import { systemClock } from "../platform/clock.js";
import { OperatorError } from "../util/errors.js";
import { RpcCallError } from "./rpc-client.js";
import { view } from "./status-view.js";
import { POLL_INTERVAL_MS, POLLED_WAIT_CONDITIONS, SERVER_WAIT_CONDITIONS, SWITCH_VERBS, waitConditionNames, } from "./verbs.js";
import { renderView } from "./view-render.js";
import { watchView } from "./watch.js";
const DEFAULT_WATCH_INTERVAL_MS = 1000;
const MIN_WATCH_INTERVAL_MS = 100;
function changed(r, yes, no = "unchanged") {
    return r.changed ? yes : no;
}
function seconds(value) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError("not a number of seconds");
    return Math.round(n * 1000);
}
function watchInterval(value) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < MIN_WATCH_INTERVAL_MS)
        throw new InvalidArgumentError(`an interval in ms, at least ${MIN_WATCH_INTERVAL_MS}`);
    return n;
}
/** Polls `probe` until it holds, or fails with WAIT_TIMEOUT at `deadlineMs` (monotonic). */
async function pollUntil(what, probe, deadlineMs) {
    for (;;) {
        if (await probe())
            return;
        if (systemClock.monotonicMs() >= deadlineMs)
            throw new OperatorError("WAIT_TIMEOUT", `${what} was not reached in time`);
        await systemClock.sleep(POLL_INTERVAL_MS);
    }
}
export function registerResourceVerbs(program, cli) {
    for (const v of SWITCH_VERBS) {
        const done = `${v.method === "resource.pause" ? "paused" : "resumed"} ${v.what}`;
        const cmd = program
            .command(`${v.verb} <resource>`)
            .description(`${done.replace(/d /, " ")} of a resource (or all) on this node`)
            .action((target) => cli.onEach(target, (name) => cli.rpc(v.method, { name, what: v.what }), (r) => changed(r, done)));
        for (const alias of v.aliases)
            cmd.alias(alias);
    }
    for (const verb of ["pause", "resume"]) {
        program
            .command(`${verb} <what> <name>`)
            .description(`(alias) ${verb} sync, fetch or replay: same as ${verb}-<what>`)
            .action((what, name) => cli.call(`resource.${verb}`, { name, what }, (r) => changed(r, `${verb}d ${what}`)));
    }
    program
        .command("primary <resource>")
        .description("make this node primary: planned handover, or --force failover")
        .option("--force", "the primary is unreachable: take over with the log present here")
        .option("--timeout <seconds>", "wait at most this long", seconds, 60_000)
        .action((target, o) => cli.onEach(target, (name) => cli.rpc("resource.primary", {
        name,
        force: o.force ?? false,
        timeoutMs: o.timeout,
    }), (r) => changed(r, "primary here", "already primary here")));
    program
        .command("secondary <resource>")
        .description("stop being primary; no primary is designated afterwards")
        .action((target) => cli.onEach(target, (name) => cli.rpc("resource.secondary", { name }), (r) => changed(r, "no longer primary")));
    program
        .command("invalidate <resource>")
        .description("this secondary copies the primary's disk again (what is equal is not sent), then replays")
        .action((target) => cli.onEach(target, (name) => cli.rpc("resource.invalidate", { name }), (r) => changed(r, "invalidated: resyncing", "already resyncing")));
    program
        .command("verify <resource>")
        .description("start an online verify of this secondary against its primary (report: view, resource.status)")
        .option("--repair", "copy the chunks found different from the primary")
        .action((target, o) => cli.onEach(target, (name) => cli.rpc("resource.verify", { name, repair: o.repair ?? false }), () => "verify started"));
    program
        .command("resolve-split-brain <resource>")
        .description("run on every member: the winner keeps its history, each loser rolls back to the fork")
        .requiredOption("--winner <host>", "the member whose history wins (the designated primary)")
        .action((target, o) => cli.onEach(target, (name) => cli.rpc("resource.resolveSplitBrain", { name, winner: o.winner }), (r) => changed(r, "rolled back to the fork: resyncing what diverged", "nothing to roll back here")));
    program
        .command("view [resource]")
        .description("one line per resource and member with progress bars (a resource or all); without an argument the old one-line list")
        .option("--watch [intervalMs]", `redraw in place (every ${DEFAULT_WATCH_INTERVAL_MS} ms) until Ctrl-C`, watchInterval)
        .action(async (target, o) => {
        if (target === undefined && o.watch === undefined)
            return legacyList(cli);
        const shown = target ?? "all";
        const read = async () => Promise.all((await cli.names(shown)).map(async (name) => {
            try {
                return await cli.rpc("resource.status", { name });
            }
            catch (err) {
                // With all, a resource deleted since the list is a line, not the end.
                if (shown === "all" && err instanceof RpcCallError)
                    return { name, readError: err.message };
                throw err;
            }
        }));
        if (o.watch !== undefined) {
            await watchView({
                intervalMs: o.watch === true ? DEFAULT_WATCH_INTERVAL_MS : o.watch,
                title: `marsadm view ${shown}`,
                read,
                out: process.stdout,
                time: systemClock,
            });
        }
        const entries = await read();
        if (cli.json)
            return cli.print(shown === "all" ? { resources: entries } : entries[0]);
        const width = process.stdout.isTTY ? process.stdout.columns : undefined;
        cli.print(renderView(entries, undefined, width, systemClock.nowMs()).lines.join("\n"), (t) => t);
    });
    program
        .command("wait-resource <resource> <condition>")
        .description("wait until a condition holds for a resource (or all) on this node")
        .addHelpText("after", `\nConditions: ${waitConditionNames().join(", ")}`)
        .option("--timeout <seconds>", "give up after this long (exit code 3)", seconds, 600_000)
        .action(async (target, condition, o) => {
        const server = SERVER_WAIT_CONDITIONS[condition];
        const polled = POLLED_WAIT_CONDITIONS[condition];
        if (!server && !polled)
            program.error(`marsadm: unknown condition ${condition} (${waitConditionNames().join(", ")})`, {
                exitCode: 2,
            });
        const deadlineMs = systemClock.monotonicMs() + o.timeout;
        await cli.onEach(target, async (name) => {
            if (server) {
                const left = Math.max(0, Math.round(deadlineMs - systemClock.monotonicMs()));
                return (await cli.rpc("resource.wait", { name, until: server, timeoutMs: left })).status;
            }
            let last;
            await pollUntil(`${condition} for ${name}`, async () => {
                last = await cli.rpc("resource.status", { name });
                return polled?.(last) === true;
            }, deadlineMs);
            return last;
        }, () => `reached ${condition}`);
    });
    program
        .command("wait <name> <condition>")
        .description("(alias) wait until primary|secondary|consistent|uptodate|synced|replicated|splitbrain")
        .option("--timeout <seconds>", "give up after this long", seconds, 600_000)
        .action((name, until, o) => cli.call("resource.wait", { name, until, timeoutMs: o.timeout }, (r) => view(r.status)));
    program
        .command("wait-cluster")
        .alias("wait-connect")
        .description("wait until every cluster member is alive (reachable) from this node")
        .option("--timeout <seconds>", "give up after this long (exit code 3)", seconds, 600_000)
        .action(async (o) => {
        let members = [];
        await pollUntil("every member alive", async () => {
            members = (await cli.rpc("cluster.status")).members;
            return members.length > 0 && members.every((m) => m.alive);
        }, systemClock.monotonicMs() + o.timeout);
        cli.print({ members }, (r) => `all ${r.members.length} members alive`);
    });
}
/** `view` without an argument, as marsadm printed it before `view all`: one line per resource. */
async function legacyList(cli) {
    await cli.call("resource.list", {}, (l) => l.resources
        .map((s) => `${s.name}  ${s.role} ${s.diskState ?? ""} ${s.replState ?? ""}  primary: ${s.designatedPrimary ?? "(none)"}`)
        .join("\n") || "no resources");
}
//# sourceMappingURL=resource-verbs.js.map
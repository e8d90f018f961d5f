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
import { InvalidArgumentError, type Command } from "commander";
import { systemClock } from "../platform/clock.js";
import { OperatorError } from "../util/errors.js";
import type { CliContext } from "./cli-context.js";
import { RpcCallError } from "./rpc-client.js";
import { view, type StatusView } from "./status-view.js";
import {
  POLL_INTERVAL_MS,
  POLLED_WAIT_CONDITIONS,
  SERVER_WAIT_CONDITIONS,
  SWITCH_VERBS,
  waitConditionNames,
} from "./verbs.js";
import { renderView, type ResourceEntry } from "./view-render.js";
import { watchView } from "./watch.js";

const DEFAULT_WATCH_INTERVAL_MS = 1000;
const MIN_WATCH_INTERVAL_MS = 100;

function changed(r: { changed: boolean }, yes: string, no = "unchanged"): string {
  return r.changed ? yes : no;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("not a number of seconds");
  return Math.round(n * 1000);
}

function watchInterval(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_WATCH_INTERVAL_MS)
    throw new InvalidArgumentError(`an interval in ms, at least ${MIN_WATCH_INTERVAL_MS}`);
  return n;
}

/** Polls `probe` until it holds, or fails with WAIT_TIMEOUT at `deadlineMs` (monotonic). */
async function pollUntil(what: string, probe: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  for (;;) {
    if (await probe()) return;
    if (systemClock.monotonicMs() >= deadlineMs)
      throw new OperatorError("WAIT_TIMEOUT", `${what} was not reached in time`);
    await systemClock.sleep(POLL_INTERVAL_MS);
  }
}

export function registerResourceVerbs(program: Command, cli: CliContext): void {
  for (const v of SWITCH_VERBS) {
    const done = `${v.method === "resource.pause" ? "paused" : "resumed"} ${v.what}`;
    const cmd = program
      .command(`${v.verb} <resource>`)
      .description(`${done.replace(/d /, " ")} of a resource (or all) on this node`)
      .action((target: string) =>
        cli.onEach(
          target,
          (name) => cli.rpc<{ changed: boolean }>(v.method, { name, what: v.what }),
          (r) => changed(r, done),
        ),
      );
    for (const alias of v.aliases) cmd.alias(alias);
  }
  for (const verb of ["pause", "resume"] as const) {
    program
      .command(`${verb} <what> <name>`)
      .description(`(alias) ${verb} sync, fetch or replay: same as ${verb}-<what>`)
      .action((what: string, name: string) =>
        cli.call(`resource.${verb}`, { name, what }, (r: { changed: boolean }) =>
          changed(r, `${verb}d ${what}`),
        ),
      );
  }

  program
    .command("primary <resource>")
    .description("make this node primary: planned handover, or --force failover")
    .option("--force", "the primary is unreachable: take over with the log present here")
    .option("--timeout <seconds>", "wait at most this long", seconds, 60_000)
    .action((target: string, o: { force?: boolean; timeout: number }) =>
      cli.onEach(
        target,
        (name) =>
          cli.rpc<{ changed: boolean }>("resource.primary", {
            name,
            force: o.force ?? false,
            timeoutMs: o.timeout,
          }),
        (r) => changed(r, "primary here", "already primary here"),
      ),
    );
  program
    .command("secondary <resource>")
    .description("stop being primary; no primary is designated afterwards")
    .action((target: string) =>
      cli.onEach(
        target,
        (name) => cli.rpc<{ changed: boolean }>("resource.secondary", { name }),
        (r) => changed(r, "no longer primary"),
      ),
    );

  program
    .command("invalidate <resource>")
    .description("this secondary copies the primary's disk again (what is equal is not sent), then replays")
    .action((target: string) =>
      cli.onEach(
        target,
        (name) => cli.rpc<{ changed: boolean }>("resource.invalidate", { name }),
        (r) => changed(r, "invalidated: resyncing", "already resyncing"),
      ),
    );

  program
    .command("verify <resource>")
    .description(
      "start an online verify of this secondary against its primary (report: view, resource.status)",
    )
    .option("--repair", "copy the chunks found different from the primary")
    .action((target: string, o: { repair?: boolean }) =>
      cli.onEach(
        target,
        (name) => cli.rpc<{ started: boolean }>("resource.verify", { name, repair: o.repair ?? false }),
        () => "verify started",
      ),
    );

  program
    .command("resolve-split-brain <resource>")
    .description("run on every member: the winner keeps its history, each loser rolls back to the fork")
    .requiredOption("--winner <host>", "the member whose history wins (the designated primary)")
    .action((target: string, o: { winner: string }) =>
      cli.onEach(
        target,
        (name) => cli.rpc<{ changed: boolean }>("resource.resolveSplitBrain", { name, winner: o.winner }),
        (r) => changed(r, "rolled back to the fork: resyncing what diverged", "nothing to roll back here"),
      ),
    );

  program
    .command("view [resource]")
    .description(
      "one line per resource and member with progress bars (a resource or all); without an argument the old one-line list",
    )
    .option(
      "--watch [intervalMs]",
      `redraw in place (every ${DEFAULT_WATCH_INTERVAL_MS} ms) until Ctrl-C`,
      watchInterval,
    )
    .action(async (target: string | undefined, o: { watch?: number | true }) => {
      if (target === undefined && o.watch === undefined) return legacyList(cli);
      const shown = target ?? "all";
      const read = async (): Promise<ResourceEntry[]> =>
        Promise.all(
          (await cli.names(shown)).map(async (name) => {
            try {
              return await cli.rpc<StatusView>("resource.status", { name });
            } catch (err) {
              // With all, a resource deleted since the list is a line, not the end.
              if (shown === "all" && err instanceof RpcCallError) return { name, readError: err.message };
              throw err;
            }
          }),
        );
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
      if (cli.json) return cli.print(shown === "all" ? { resources: entries } : entries[0]);
      const width = process.stdout.isTTY ? process.stdout.columns : undefined;
      cli.print(renderView(entries, undefined, width, systemClock.nowMs()).lines.join("\n"), (t) => t);
    });

  program
    .command("wait-resource <resource> <condition>")
    .description("wait until a condition holds for a resource (or all) on this node")
    .addHelpText("after", `\nConditions: ${waitConditionNames().join(", ")}`)
    .option("--timeout <seconds>", "give up after this long (exit code 3)", seconds, 600_000)
    .action(async (target: string, condition: string, o: { timeout: number }) => {
      const server = SERVER_WAIT_CONDITIONS[condition];
      const polled = POLLED_WAIT_CONDITIONS[condition];
      if (!server && !polled)
        program.error(`marsadm: unknown condition ${condition} (${waitConditionNames().join(", ")})`, {
          exitCode: 2,
        });
      const deadlineMs = systemClock.monotonicMs() + o.timeout;
      await cli.onEach(
        target,
        async (name) => {
          if (server) {
            const left = Math.max(0, Math.round(deadlineMs - systemClock.monotonicMs()));
            return (
              await cli.rpc<{ status: StatusView }>("resource.wait", { name, until: server, timeoutMs: left })
            ).status;
          }
          let last: StatusView | undefined;
          await pollUntil(
            `${condition} for ${name}`,
            async () => {
              last = await cli.rpc<StatusView>("resource.status", { name });
              return polled?.(last) === true;
            },
            deadlineMs,
          );
          return last as StatusView;
        },
        () => `reached ${condition}`,
      );
    });
  program
    .command("wait <name> <condition>")
    .description("(alias) wait until primary|secondary|consistent|uptodate|synced|replicated|splitbrain")
    .option("--timeout <seconds>", "give up after this long", seconds, 600_000)
    .action((name: string, until: string, o: { timeout: number }) =>
      cli.call<{ status: StatusView }>("resource.wait", { name, until, timeoutMs: o.timeout }, (r) =>
        view(r.status),
      ),
    );
  program
    .command("wait-cluster")
    .alias("wait-connect")
    .description("wait until every cluster member is alive (reachable) from this node")
    .option("--timeout <seconds>", "give up after this long (exit code 3)", seconds, 600_000)
    .action(async (o: { timeout: number }) => {
      let members: Array<{ host: string; alive: boolean }> = [];
      await pollUntil(
        "every member alive",
        async () => {
          members = (await cli.rpc<{ members: typeof members }>("cluster.status")).members;
          return members.length > 0 && members.every((m) => m.alive);
        },
        systemClock.monotonicMs() + o.timeout,
      );
      cli.print({ members }, (r) => `all ${r.members.length} members alive`);
    });
}

/** `view` without an argument, as marsadm printed it before `view all`: one line per resource. */
async function legacyList(cli: CliContext): Promise<void> {
  await cli.call<{ resources: StatusView[] }>(
    "resource.list",
    {},
    (l) =>
      l.resources
        .map(
          (s) =>
            `${s.name}  ${s.role} ${s.diskState ?? ""} ${s.replState ?? ""}  primary: ${s.designatedPrimary ?? "(none)"}`,
        )
        .join("\n") || "no resources",
  );
}

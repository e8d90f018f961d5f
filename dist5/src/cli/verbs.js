/**
 * marsadm's verbs in MARS's words, and what each maps to in the JSON-RPC
 * API (api/openrpc.json). marsadm.ts registers them; docs/operations.md
 * lists the same table for operators.
 *
 * Contract: every verb is one existing RPC method (or, for `all`, one call
 * per resource from resource.list); the wait-* verbs either wait server
 * side (resource.wait) or poll resource.status / cluster.status with a
 * deadline. Nothing here talks to a daemon: the tables and the predicates
 * are pure, so they are unit-testable.
 */
/** pause-sync ... resume-replay, and MARS's connect/disconnect (= resume/pause-fetch). */
export const SWITCH_VERBS = [
    { verb: "pause-sync", method: "resource.pause", what: "sync", aliases: [] },
    { verb: "resume-sync", method: "resource.resume", what: "sync", aliases: [] },
    { verb: "pause-fetch", method: "resource.pause", what: "fetch", aliases: ["disconnect"] },
    { verb: "resume-fetch", method: "resource.resume", what: "fetch", aliases: ["connect"] },
    { verb: "pause-replay", method: "resource.pause", what: "replay", aliases: [] },
    { verb: "resume-replay", method: "resource.resume", what: "replay", aliases: [] },
];
/** Exit codes (documented in docs/operations.md). */
export const EXIT_OK = 0;
/** The daemon refused or failed the command, or could not be reached. */
export const EXIT_FAILED = 1;
/** The command line was wrong (unknown verb, missing argument, bad value). */
export const EXIT_USAGE = 2;
/** A wait-* verb (or primary's wait) did not see its condition within --timeout. */
export const EXIT_TIMEOUT = 3;
/** JSON-RPC error numbers that mean "not reached in time" (daemon side, client side). */
export const TIMEOUT_RPC_CODES = new Set([1024, 1056]);
/** wait-resource conditions resource.wait decides server side, by MARS name and ours. */
export const SERVER_WAIT_CONDITIONS = {
    primary: "primary",
    "is-primary": "primary",
    secondary: "secondary",
    "is-secondary": "secondary",
    consistent: "consistent",
    "is-consistent": "consistent",
    uptodate: "uptodate",
    synced: "synced",
    "is-sync-off": "synced",
    replicated: "replicated",
    splitbrain: "splitbrain",
    "is-split-brain": "splitbrain",
};
/**
 * wait-resource conditions marsadm polls resource.status for: MARS's
 * todo-* (the switch as set) and is-* (what the node actually does).
 */
export const POLLED_WAIT_CONDITIONS = {
    "todo-sync-on": (s) => s.paused?.sync === false,
    "todo-sync-off": (s) => s.paused?.sync === true,
    "todo-fetch-on": (s) => s.paused?.fetch === false,
    "todo-fetch-off": (s) => s.paused?.fetch === true,
    "todo-replay-on": (s) => s.paused?.replay === false,
    "todo-replay-off": (s) => s.paused?.replay === true,
    "is-fetch-on": (s) => ["connecting", "fetching", "waiting"].includes(s.fetch?.state ?? ""),
    "is-fetch-off": (s) => s.fetch === undefined || ["paused", "idle"].includes(s.fetch.state),
    "is-replay-on": (s) => ["replaying", "caught-up"].includes(s.replay?.state ?? ""),
    "is-replay-off": (s) => s.replay === undefined || ["paused", "stopped"].includes(s.replay.state),
};
export function waitConditionNames() {
    return [...Object.keys(SERVER_WAIT_CONDITIONS), ...Object.keys(POLLED_WAIT_CONDITIONS)];
}
/** How often polled waits ask the daemon (wait-cluster, polled wait-resource conditions). */
export const POLL_INTERVAL_MS = 200;
//# sourceMappingURL=verbs.js.map
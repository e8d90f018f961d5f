#!/usr/bin/env node
/**
 * marsadm: the operator's command line, a thin layer over the JSON-RPC API
 * (every verb is one RPC call per resource; scripts that need more should
 * call the API directly). Verbs follow MARS's marsadm (verbs.ts maps each
 * to its RPC; docs/operations.md has the table and the exit codes); the
 * verbs marsadm had before stay as aliases. Output is human-readable, or
 * JSON with --json.
 */
import { Command, CommanderError } from "commander";
import { CliContext, errorText, exitCodeFor } from "./cli-context.js";
import { registerResourceVerbs } from "./resource-verbs.js";
import { registerResizeVerb } from "./resize-verb.js";
import { view } from "./status-view.js";
function changed(r, yes, no = "unchanged") {
    return r.changed ? yes : no;
}
async function run() {
    const program = new Command("marsadm")
        .description("Operate marsd through its JSON-RPC admin API")
        // Usage errors end with exit code 2 (see exitCodeFor), not commander's process.exit(1).
        .exitOverride()
        .option("--url <url>", "admin endpoint", process.env.MARSD_URL ?? "http://127.0.0.1:7780")
        .option("--token-file <file>", "admin token file", process.env.MARSD_TOKEN_FILE ?? "/var/lib/marsd/admin.token")
        .option("--json", "print JSON");
    const cli = new CliContext(() => program.opts());
    const call = (method, params = {}, human) => cli.call(method, params, human);
    program
        .command("node-info")
        .description("identity and endpoints of this node")
        .action(() => call("node.info"));
    // --- cluster ---
    program
        .command("create-cluster")
        .description("start a new cluster with this node; prints the secret others join with")
        .option("--cluster-id <id>")
        .option("--secret <secret>", "at least 32 characters (default: generated)")
        .action((o) => call("cluster.create", { ...(o.clusterId ? { clusterId: o.clusterId } : {}), ...(o.secret ? { secret: o.secret } : {}) }, (r) => `${changed(r, "created", "already a member")}: cluster ${r.clusterId}\nsecret: ${r.secret}`));
    program
        .command("join-cluster <peer>")
        .description("join the cluster of the node at <peer> (host:port of its peer listener)")
        .requiredOption("--secret <secret>", "the cluster secret")
        .action((peer, o) => call("cluster.join", { peer, secret: o.secret }, (r) => `${changed(r, "joined", "already a member")}: ${r.clusterId}`));
    program
        .command("leave-cluster")
        .description("leave the cluster (with --host and --force: remove a dead node)")
        .option("--host <host>")
        .option("--force")
        .action((o) => call("cluster.leave", { ...o }, (r) => changed(r, "done")));
    program
        .command("view-cluster")
        .description("members, liveness, clock skew")
        .action(() => call("cluster.status", {}, (s) => [`cluster ${s.clusterId ?? "(none)"}`]
        .concat(s.members.map((m) => `  ${m.self ? "*" : " "} ${m.host.padEnd(16)} ${m.address.padEnd(22)} ${m.alive ? "alive" : "UNREACHABLE"}${m.rttMs !== undefined ? ` rtt ${m.rttMs}ms` : ""}${m.clockSkewMs !== undefined ? ` skew ${m.clockSkewMs}ms` : ""}`))
        .join("\n")));
    // --- resources ---
    program
        .command("create-resource <name> <disk>")
        .description("create a resource on a disk; this node becomes its primary")
        .option("--size <bytes>", "volume size in bytes (default: the disk size)")
        .option("--frontend <kind>", "auto|nbd|ublk")
        .action((name, disk, o) => call("resource.create", {
        name,
        disk,
        ...(o.size !== undefined ? { sizeBytes: Number(o.size) } : {}),
        ...(o.frontend ? { frontend: o.frontend } : {}),
    }, (r) => `${changed(r, "created")}\n${view(r.resource)}`));
    program
        .command("join-resource <name> <disk>")
        .description("join a resource as a secondary (full sync of <disk>, then replication)")
        .action((name, disk) => call("resource.join", { name, disk }, (r) => `${changed(r, "joined")}\n${view(r.resource)}`));
    program
        .command("leave-resource <name>")
        .description("this node leaves the resource (with --host --force: evict a dead member)")
        .option("--host <host>")
        .option("--force")
        .action((name, o) => call("resource.leave", { name, ...o }, (r) => changed(r, "left")));
    program
        .command("delete-resource <name>")
        .description("delete the resource from the cluster (the disks are kept)")
        .option("--force", "even while other members are joined")
        .action((name, o) => call("resource.delete", { name, ...o }, (r) => changed(r, "deleted")));
    registerResourceVerbs(program, cli);
    registerResizeVerb(program, cli);
    program
        .command("log-rotate <name>")
        .description("finish the current log file and start the next")
        .action((name) => call("resource.logRotate", { name }, (r) => `${changed(r, "rotated")}: now writing ${r.currentFile}`));
    program
        .command("log-delete <name>")
        .description("delete local log files every member has replayed")
        .action((name) => call("resource.logDelete", { name }, (r) => r.deleted.length ? `deleted ${r.deleted.join(", ")}` : "nothing to delete"));
    program
        .command("get-state [prefix]")
        .description("the replicated cluster state under a key prefix")
        .action((prefix) => call("state.get", { prefix: prefix ?? "" }, (r) => r.entries.map((e) => `${e.key} = ${JSON.stringify(e.value)}  (${e.owner})`).join("\n")));
    program
        .command("call <method> [params]")
        .description("call any JSON-RPC method with JSON params")
        .action((method, params) => call(method, params ? JSON.parse(params) : {}));
    try {
        await program.parseAsync();
    }
    catch (err) {
        const code = exitCodeFor(err);
        // Commander printed its own usage errors (and help, which "fails" with exit code 0).
        if (!(err instanceof CommanderError) && code !== 0)
            process.stderr.write(`${errorText(err)}\n`);
        process.exit(code);
    }
}
void run();
//# sourceMappingURL=marsadm.js.map
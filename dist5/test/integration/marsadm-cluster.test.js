/**
 * marsadm's MARS verbs, run as the built CLI against live daemons: a
 * cluster formed and joined through the CLI, resources created, joined,
 * left and deleted, every pause-/resume- verb (and connect/disconnect)
 * checked for its effect in the status, verbs on `all`, wait-* with their
 * exit codes, a planned handover (`primary` on the secondary) and a forced
 * failover (`primary --force` after the primary was killed).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { open } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MARSADM_MAIN, waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { prng } from "../helpers/prng.js";
import { makeDisk, nbdUri } from "../helpers/replication.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { requirePythonNbd } from "../helpers/tools.js";
const MIB = 1024 * 1024;
/** Runs the built marsadm against `host`'s daemon; never throws (the exit code is part of the result). */
function marsadm(cluster, host, ...args) {
    const daemon = cluster.node(host).daemon;
    return new Promise((resolve) => {
        execFile(process.execPath, [
            MARSADM_MAIN,
            "--url",
            daemon.adminUrl,
            "--token-file",
            path.join(daemon.dataDir, "admin.token"),
            ...args,
        ], { timeout: 90_000 }, (err, stdout, stderr) => {
            const code = err ? (err.code ?? -1) : 0;
            resolve({ code: typeof code === "number" ? code : -1, stdout: stdout.trimEnd(), stderr });
        });
    });
}
/** marsadm that must succeed; returns its stdout. */
async function ok(cluster, host, ...args) {
    const r = await marsadm(cluster, host, ...args);
    assert.equal(r.code, 0, `marsadm ${args.join(" ")} on ${host}: exit ${r.code}\n${r.stderr}${r.stdout}`);
    return r.stdout;
}
async function statusOf(cluster, host, name = "r0") {
    return JSON.parse(await ok(cluster, host, "--json", "view", name));
}
/** Fills the first `bytes` of `file` from a seeded stream (so a sync has something to copy). */
async function fillSeeded(file, bytes, seed) {
    const next = prng(seed);
    const data = Buffer.alloc(bytes);
    for (let at = 0; at < bytes; at += 4)
        data.writeUInt32LE(Math.floor(next() * 2 ** 32), at);
    const handle = await open(file, "r+");
    try {
        await handle.write(data, 0, bytes, 0);
    }
    finally {
        await handle.close();
    }
}
describe("marsadm: MARS verbs against live daemons", { timeout: 180_000 }, () => {
    let cluster;
    const disks = new Map();
    before(async () => {
        await requirePythonNbd();
        cluster = await TestCluster.start({
            hosts: ["alpha", "bravo"],
            config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 } },
        });
        for (const host of ["alpha", "bravo"]) {
            disks.set(`${host}/r0`, await makeDisk(cluster, host, "r0", 8 * MIB));
            disks.set(`${host}/r1`, await makeDisk(cluster, host, "r1", 2 * MIB));
        }
        console.log(`seed ${cluster.seed} (disk contents)`);
        await fillSeeded(disks.get("alpha/r0"), MIB, cluster.seed);
    });
    after(async () => cluster?.cleanup());
    /** Writes `writes` blocks to alpha's export of r0 (a real NBD client). */
    const write = async (writes, seed) => {
        const writer = await startPatternWriter({
            uri: nbdUri(cluster, "alpha", "r0"),
            blocks: 1024,
            depth: 8,
            seed,
            stateFile: path.join(cluster.baseDir, `w${seed}.json`),
            maxWrites: writes,
        });
        assert.equal(await writer.exited, 0, writer.stderr());
    };
    test("create-cluster, join-cluster, wait-cluster, create-resource, join-resource, wait-resource, view all", explainOnFailure(async () => {
        const created = await ok(cluster, "alpha", "create-cluster");
        const secret = /secret: (\S+)/.exec(created)?.[1];
        assert.ok(secret, created);
        const peer = cluster.proxy("bravo", "alpha").address;
        assert.match(await ok(cluster, "bravo", "join-cluster", peer, "--secret", secret), /^joined: /);
        for (const host of ["alpha", "bravo"])
            assert.equal(await ok(cluster, host, "wait-cluster", "--timeout", "20"), "all 2 members alive");
        for (const name of ["r0", "r1"]) {
            assert.match(await ok(cluster, "alpha", "create-resource", name, disks.get(`alpha/${name}`), "--frontend", "nbd"), /^created\n/);
            assert.match(await ok(cluster, "bravo", "join-resource", name, disks.get(`bravo/${name}`)), /^joined\n/);
        }
        assert.equal(await ok(cluster, "bravo", "wait-resource", "all", "uptodate", "--timeout", "60"), "r0: reached uptodate\nr1: reached uptodate");
        const all = (await ok(cluster, "bravo", "view", "all")).split("\n");
        assert.match(all[0] ?? "", /^r0 \[2 members\] {2}8\.0 MiB {2}primary: alpha {2}here: secondary UpToDate Replicating dCASFR /);
        assert.ok(all.some((l) => /^ {2}\* bravo +secondary +UpToDate +Replicating +dCASFR alive$/.test(l)), all.join("\n"));
        assert.ok(all.some((l) => /^ {4}alpha +primary +UpToDate +Replicating +dCAS-R alive$/.test(l)), all.join("\n"));
        assert.ok(all.some((l) => /^r1 \[2 members\] /.test(l)), all.join("\n"));
        // The old verbs stay: plain view lists, wait waits.
        assert.match(await ok(cluster, "bravo", "view"), /^r0 {2}secondary UpToDate Replicating {2}primary: alpha$/m);
        assert.match(await ok(cluster, "bravo", "wait", "r0", "consistent", "--timeout", "5"), /^r0 /);
    }));
    test("pause-/resume- sync, fetch and replay (and disconnect/connect) take effect, on one resource and on all", explainOnFailure(async () => {
        for (const what of ["sync", "fetch", "replay"]) {
            assert.equal(await ok(cluster, "bravo", `pause-${what}`, "r0"), `paused ${what}`);
            assert.equal(await ok(cluster, "bravo", `pause-${what}`, "r0"), "unchanged");
            assert.equal((await statusOf(cluster, "bravo")).paused[what], true);
            assert.equal(await ok(cluster, "bravo", "wait-resource", "r0", `todo-${what}-off`, "--timeout", "5"), `reached todo-${what}-off`);
            assert.equal(await ok(cluster, "bravo", `resume-${what}`, "r0"), `resumed ${what}`);
            assert.equal((await statusOf(cluster, "bravo")).paused[what], false);
        }
        // A paused replay: writes arrive (fetched) but the disk stays where it was.
        await ok(cluster, "bravo", "pause-replay", "r0");
        await ok(cluster, "bravo", "wait-resource", "r0", "is-replay-off", "--timeout", "10");
        await write(200, 1);
        const frozen = await waitFor("bravo to hold unreplayed log", async () => {
            const s = await statusOf(cluster, "bravo");
            return (s.replay?.lagBytes ?? 0) > 0 && s.fetch?.lagBytes === 0 ? s : undefined;
        });
        assert.equal(frozen.replState, "PausedReplay");
        assert.equal(frozen.replay?.state, "paused");
        const shown = await ok(cluster, "bravo", "view", "r0");
        assert.match(shown, /^ {2}\* bravo +secondary +Outdated +PausedReplay +dcASF- alive/m);
        assert.match(shown, /^ {6}replay\(p\): \[=*>?\.*\] +\d+\.\d% /m);
        assert.equal(await ok(cluster, "bravo", "resume-replay", "r0"), "resumed replay");
        await ok(cluster, "bravo", "wait-resource", "r0", "uptodate", "--timeout", "30");
        // A paused fetch (MARS: disconnect): the primary's writes stay on the primary.
        assert.equal(await ok(cluster, "bravo", "disconnect", "r0"), "paused fetch");
        await ok(cluster, "bravo", "wait-resource", "r0", "is-fetch-off", "--timeout", "10");
        await write(200, 2);
        await waitFor("alpha to see bravo behind", async () => {
            const s = await statusOf(cluster, "alpha");
            return (s.members.find((m) => m.host === "bravo")?.lagBytes ?? 0) > 0;
        });
        assert.equal((await statusOf(cluster, "bravo")).replState, "PausedFetch");
        assert.equal(await ok(cluster, "bravo", "connect", "r0"), "resumed fetch");
        await ok(cluster, "bravo", "wait-resource", "r0", "uptodate", "--timeout", "30");
        assert.equal(await ok(cluster, "alpha", "wait-resource", "r0", "replicated", "--timeout", "30"), "reached replicated");
        // all: one line per resource.
        assert.equal(await ok(cluster, "bravo", "pause-replay", "all"), "r0: paused replay\nr1: paused replay");
        for (const name of ["r0", "r1"])
            assert.equal((await statusOf(cluster, "bravo", name)).paused.replay, true);
        assert.equal(await ok(cluster, "bravo", "resume-replay", "all"), "r0: resumed replay\nr1: resumed replay");
        assert.deepEqual(JSON.parse(await ok(cluster, "bravo", "--json", "resume-replay", "all")), {
            r0: { changed: false },
            r1: { changed: false },
        });
    }));
    test("leave-resource and delete-resource", explainOnFailure(async () => {
        assert.equal(await ok(cluster, "bravo", "leave-resource", "r1"), "left");
        await waitFor("alpha to see r1 with one member", async () => {
            return (await statusOf(cluster, "alpha", "r1")).members.length === 1;
        });
        assert.equal(await ok(cluster, "alpha", "delete-resource", "r1"), "deleted");
        const gone = await marsadm(cluster, "alpha", "view", "r1");
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /^marsadm: resource r1 does not exist on this node \(code 1001\)/);
    }));
    test("repairs: invalidate, verify and resolve-split-brain on a secondary", explainOnFailure(async () => {
        await ok(cluster, "bravo", "wait-resource", "r0", "uptodate", "--timeout", "30");
        // No fork: nothing to roll back, on either side.
        for (const host of ["alpha", "bravo"])
            assert.equal(await ok(cluster, host, "resolve-split-brain", "r0", "--winner", "alpha"), "nothing to roll back here");
        const wrongWinner = await marsadm(cluster, "bravo", "resolve-split-brain", "r0", "--winner", "bravo");
        assert.equal(wrongWinner.code, 1);
        assert.match(wrongWinner.stderr, /designated primary/);
        assert.equal(await ok(cluster, "bravo", "verify", "r0"), "verify started");
        await waitFor("bravo's verify to finish", async () => {
            const v = (await statusOf(cluster, "bravo"));
            return v.verify?.state === "done" && v.verify.mismatchedBytes === 0;
        });
        const onPrimary = await marsadm(cluster, "alpha", "invalidate", "r0");
        assert.equal(onPrimary.code, 1);
        assert.equal(await ok(cluster, "bravo", "invalidate", "r0"), "invalidated: resyncing");
        await ok(cluster, "bravo", "wait-resource", "r0", "uptodate", "--timeout", "30");
    }));
    test("planned handover: primary on the secondary", explainOnFailure(async () => {
        await write(100, 3);
        await ok(cluster, "bravo", "wait-resource", "r0", "uptodate", "--timeout", "30");
        assert.equal(await ok(cluster, "bravo", "primary", "r0", "--timeout", "30"), "primary here");
        assert.equal(await ok(cluster, "bravo", "primary", "r0"), "already primary here");
        assert.equal(await ok(cluster, "alpha", "wait-resource", "r0", "is-secondary", "--timeout", "30"), "reached is-secondary");
        const b = await statusOf(cluster, "bravo");
        assert.equal(b.role, "primary");
        assert.equal(b.designatedPrimary, "bravo");
        await ok(cluster, "alpha", "wait-resource", "r0", "uptodate", "--timeout", "30");
        assert.match(await ok(cluster, "alpha", "view", "all"), /^r0 \[2 members\] .*primary: bravo {2}here: secondary UpToDate /);
    }));
    test("forced failover: primary --force after the primary was killed; exit codes of refusals and timeouts", explainOnFailure(async () => {
        await cluster.node("bravo").daemon.kill9();
        await waitFor("alpha to see bravo dead", async () => {
            const r = await marsadm(cluster, "alpha", "--json", "view-cluster");
            const s = JSON.parse(r.stdout);
            return s.members.find((m) => m.host === "bravo")?.alive === false;
        });
        const waited = await marsadm(cluster, "alpha", "wait-cluster", "--timeout", "1");
        assert.equal(waited.code, 3, waited.stderr);
        assert.match(waited.stderr, /WAIT_TIMEOUT/);
        const refused = await marsadm(cluster, "alpha", "primary", "r0");
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /\(code 1023\)/);
        assert.equal(await ok(cluster, "alpha", "primary", "r0", "--force"), "primary here");
        const a = await statusOf(cluster, "alpha");
        assert.equal(a.role, "primary");
        assert.equal(a.designatedPrimary, "alpha");
        assert.match(await ok(cluster, "alpha", "view", "r0"), /^ {2}\* alpha +primary +UpToDate +Replicating +DCAS-R alive$/m);
        const timedOut = await marsadm(cluster, "alpha", "wait-resource", "r0", "splitbrain", "--timeout", "1");
        assert.equal(timedOut.code, 3, timedOut.stderr);
        assert.match(timedOut.stderr, /\(code 1024\)/);
        const usage = await marsadm(cluster, "alpha", "wait-resource", "r0", "no-such-condition");
        assert.equal(usage.code, 2);
        assert.equal((await marsadm(cluster, "alpha", "no-such-verb")).code, 2);
        assert.equal(await ok(cluster, "alpha", "secondary", "r0"), "no longer primary");
        assert.equal((await statusOf(cluster, "alpha")).designatedPrimary, null);
        assert.equal(await ok(cluster, "alpha", "leave-resource", "r0", "--host", "bravo", "--force"), "left");
        assert.equal(await ok(cluster, "alpha", "delete-resource", "r0"), "deleted");
    }));
});
//# sourceMappingURL=marsadm-cluster.test.js.map
/**
 * marsadm against a real daemon: every command is one RPC call with a
 * readable answer (or JSON with --json), and errors exit non-zero with the
 * daemon's message.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { DaemonProcess, MARSADM_MAIN } from "../helpers/daemon-process.js";
const exec = promisify(execFile);
describe("marsadm", { timeout: 120_000 }, () => {
    let daemon;
    let disk;
    const marsadm = async (...args) => {
        const { stdout } = await exec(process.execPath, [
            MARSADM_MAIN,
            "--url",
            daemon.adminUrl,
            "--token-file",
            path.join(daemon.dataDir, "admin.token"),
            ...args,
        ]);
        return { stdout: stdout.trimEnd() };
    };
    before(async () => {
        daemon = await DaemonProcess.start({ host: "alpha" });
        disk = path.join(daemon.baseDir, "disk.img");
        await writeFile(disk, "");
        await truncate(disk, 16 * 1024 * 1024);
    });
    after(async () => daemon?.cleanup());
    test("node-info, create-cluster, view-cluster", async () => {
        const info = JSON.parse((await marsadm("node-info")).stdout);
        assert.equal(info.host, "alpha");
        const created = await marsadm("create-cluster");
        assert.match(created.stdout, /^created: cluster alpha-[0-9a-f]+\nsecret: \S{32,}/);
        assert.match((await marsadm("create-cluster")).stdout, /^already a member/);
        assert.match((await marsadm("view-cluster")).stdout, /\* alpha\s+\S+\s+alive/);
    });
    test("create-resource, view, log-rotate, log-delete, pause/resume, get-state, delete-resource", async () => {
        assert.match((await marsadm("create-resource", "r0", disk, "--frontend", "nbd")).stdout, /^created\nr0 {2}16\.0 MiB {2}primary: alpha {2}here: primary UpToDate Replicating {2}nbd\+unix:\/\/\/r0\?socket=/);
        assert.match((await marsadm("create-resource", "r0", disk)).stdout, /^unchanged/);
        assert.match((await marsadm("view")).stdout, /^r0 {2}primary UpToDate Replicating {2}primary: alpha$/m);
        assert.match((await marsadm("view", "r0")).stdout, /^ {2}\* alpha +primary +UpToDate +Replicating +DCAS-R alive$/m);
        const status = JSON.parse((await marsadm("--json", "view", "r0")).stdout);
        assert.equal(status.designatedPrimary, "alpha");
        assert.match((await marsadm("log-rotate", "r0")).stdout, /^unchanged: now writing log-000000001-alpha$/);
        assert.match((await marsadm("log-delete", "r0")).stdout, /nothing to delete/);
        assert.match((await marsadm("pause", "replay", "r0")).stdout, /^paused replay$/);
        assert.match((await marsadm("resume", "replay", "r0")).stdout, /^resumed replay$/);
        assert.match((await marsadm("get-state", "resource/r0/")).stdout, /^resource\/r0\/primary = "alpha" {2}\(alpha\)$/m);
        assert.match((await marsadm("wait", "r0", "primary", "--timeout", "5")).stdout, /^r0 /);
        assert.match((await marsadm("delete-resource", "r0")).stdout, /^deleted$/);
        assert.match((await marsadm("delete-resource", "r0")).stdout, /^unchanged$/);
    });
    test("errors exit non-zero with the daemon's message and code", async () => {
        await assert.rejects(marsadm("view", "nope"), (err) => {
            assert.equal(err.code, 1);
            assert.match(err.stderr, /^marsadm: resource nope does not exist on this node \(code 1001\)/);
            return true;
        });
        await assert.rejects(marsadm("create-resource", "Bad Name", disk), (err) => /code -32602/.test(err.stderr));
        const wrongToken = path.join(daemon.baseDir, "wrong.token");
        await writeFile(wrongToken, "x".repeat(64) + "\n");
        await assert.rejects(exec(process.execPath, [
            MARSADM_MAIN,
            "--url",
            daemon.adminUrl,
            "--token-file",
            wrongToken,
            "node-info",
        ]), (err) => /Unauthorized/.test(err.stderr));
        await assert.rejects(exec(process.execPath, [MARSADM_MAIN, "--url", daemon.adminUrl, "--token-file", disk, "node-info"]), (err) => /does not hold an admin token/.test(err.stderr));
    });
});
//# sourceMappingURL=marsadm.test.js.map
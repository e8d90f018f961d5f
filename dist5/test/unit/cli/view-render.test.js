/**
 * `marsadm view <res>|all` (src/cli/view-render.ts): the resource and
 * member lines with MARS-like flags, the sync / fetch / replay bars with
 * rate and remaining time (the daemon's rate, or one from two samples),
 * and lines cut to the terminal's width. Every status is checked against
 * api/openrpc.json first, so the view reads fields the daemon really sends.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memberFlags, renderView, selfFlags } from "../../../src/cli/view-render.js";
import { compileValidators, loadOpenRpcDocument } from "../../../src/rpc/openrpc.js";
const MIB = 1024 * 1024;
const validators = compileValidators(loadOpenRpcDocument());
function checked(s) {
    const validate = validators.get("resource.status")?.result;
    assert.ok(validate, "resource.status has no result schema");
    assert.ok(validate(s), JSON.stringify(validate.errors));
    return s;
}
const position = (file, offsetBytes, streamBytes) => ({
    file,
    offsetBytes,
    streamBytes,
});
function primary(over = {}) {
    return checked({
        name: "r0",
        role: "primary",
        state: "running",
        sizeBytes: 64 * MIB,
        designatedPrimary: "alpha",
        diskState: "UpToDate",
        replState: "Replicating",
        consistent: true,
        paused: { sync: false, fetch: false, replay: false },
        disk: { path: "/srv/r0.img", sizeBytes: 64 * MIB },
        device: { kind: "nbd", export: "r0", uri: "nbd+unix:///r0?socket=/run/marsd/nbd.sock" },
        log: {
            currentFile: "log-000000002-alpha",
            files: [],
            pendingBytes: 0,
            recovery: { replayedBytes: 0, tornBytes: 0 },
        },
        splitBrain: { detected: false },
        members: [
            {
                host: "alpha",
                self: true,
                alive: true,
                role: "primary",
                diskState: "UpToDate",
                replState: "Replicating",
            },
            {
                host: "bravo",
                self: false,
                alive: true,
                role: "secondary",
                diskState: "Inconsistent",
                replState: "Syncing",
                consistent: false,
                sync: { doneBytes: 16 * MIB, totalBytes: 64 * MIB },
            },
        ],
        ...over,
    });
}
/** bravo's own view: a secondary with `files` held, replay and fetch lag as given. */
function secondary(o) {
    const replState = o.replState ?? "Replaying";
    return checked({
        name: "r0",
        role: "secondary",
        state: "running",
        sizeBytes: 64 * MIB,
        designatedPrimary: "alpha",
        diskState: o.sync ? "Inconsistent" : "Outdated",
        replState,
        consistent: !o.sync,
        paused: o.paused ?? { sync: false, fetch: false, replay: false },
        disk: { path: "/srv/r0.img", sizeBytes: 64 * MIB },
        fetch: {
            state: o.paused?.fetch ? "paused" : "fetching",
            file: "log-000000002-alpha",
            lagBytes: o.fetchLagBytes,
        },
        replay: { state: o.paused?.replay ? "paused" : "replaying", lagBytes: o.replayLagBytes },
        ...(o.sync ? { sync: o.sync } : {}),
        log: {
            files: [
                { name: "log-000000001-alpha", sizeBytes: 4 * MIB },
                { name: "log-000000002-alpha", sizeBytes: 4 * MIB },
            ],
            applied: position("log-000000002-alpha", 0, o.appliedStreamBytes),
            pendingBytes: 0,
            recovery: { replayedBytes: 0, tornBytes: 0 },
        },
        splitBrain: { detected: false },
        members: [
            {
                host: "alpha",
                self: false,
                alive: true,
                role: "primary",
                diskState: "UpToDate",
                replState: "Replicating",
            },
            {
                host: "bravo",
                self: true,
                alive: true,
                role: "secondary",
                diskState: "Outdated",
                replState,
                lagBytes: o.fetchLagBytes + o.replayLagBytes,
            },
        ],
    });
}
describe("marsadm view all", () => {
    it("draws one line per resource and per member, with flags", () => {
        const { lines } = renderView([primary({ members: primary().members?.slice(0, 1) })], undefined, 140, 0);
        assert.deepEqual(lines, [
            "r0 [1 member]  64.0 MiB  primary: alpha  here: primary UpToDate Replicating DCAS-R  nbd+unix:///r0?socket=/run/marsd/nbd.sock",
            `  * ${"alpha".padEnd(16)} ${"primary".padEnd(9)} ${"UpToDate".padEnd(12)} ${"Replicating".padEnd(18)} DCAS-R alive`,
        ]);
    });
    it("shows another member's sync with a rate from two samples", () => {
        const first = renderView([primary()], undefined, 120, 10_000);
        const bravo = first.lines.findIndex((l) => /^ {4}bravo /.test(l));
        assert.match(first.lines[bravo] ?? "", / Syncing +d-AsFR alive$/);
        assert.match(first.lines[bravo + 1] ?? "", /^ {6}sync: +\[=+>\.+\] +25\.0% 16\.0 MiB\/64\.0 MiB rate \? remaining --:--:--$/);
        assert.deepEqual(first.sample.counters, { "r0/bravo/sync": { bytes: 16 * MIB, changedAtMs: 10_000 } });
        const later = primary({
            members: [
                primary().members?.[0],
                { ...primary().members?.[1], sync: { doneBytes: 24 * MIB, totalBytes: 64 * MIB } },
            ],
        });
        const second = renderView([later], first.sample, 120, 12_000);
        // 8 MiB in 2 s: 4 MiB/s, 40 MiB left: 10 s.
        assert.match(second.lines[bravo + 1] ?? "", / 37\.5% 24\.0 MiB\/64\.0 MiB rate 4\.0 MiB\/s remaining 00:00:10$/);
    });
    it("shows this node's sync with the daemon's rate and remaining time", () => {
        const s = secondary({
            fetchLagBytes: 0,
            replayLagBytes: 0,
            appliedStreamBytes: 8 * MIB,
            replState: "Syncing",
            sync: {
                kind: "full",
                doneBytes: 48 * MIB,
                totalBytes: 64 * MIB,
                rateBytesPerSec: 2 * MIB,
                etaSeconds: 8,
                sameBytes: 0,
            },
        });
        const { lines } = renderView([s], undefined, 120, 0);
        assert.match(lines[0] ?? "", /here: secondary Inconsistent Syncing d-AsFR {2}-$/);
        const self = lines.findIndex((l) => /^ {2}\* bravo/.test(l));
        assert.match(lines[self + 1] ?? "", /^ {6}sync: +\[=+>\.*\] +75\.0% 48\.0 MiB\/64\.0 MiB rate 2\.0 MiB\/s remaining 00:00:08$/);
    });
    it("shows a paused fetch's lag, and fetch and replay rates once sampled", () => {
        const paused = { sync: false, fetch: true, replay: false };
        const first = renderView([
            secondary({
                fetchLagBytes: 4 * MIB,
                replayLagBytes: 2 * MIB,
                appliedStreamBytes: 10 * MIB,
                paused,
                replState: "PausedFetch",
            }),
        ], undefined, 120, 0);
        const self = first.lines.findIndex((l) => /^ {2}\* bravo/.test(l));
        assert.match(first.lines[self] ?? "", /PausedFetch +dcAS-r alive lag 6\.0 MiB$/);
        // fetch: 8 MiB held of 12 MiB; replay: 6 of the 8 MiB held.
        assert.match(first.lines[self + 1] ?? "", /^ {6}fetch\(p\): \[=+>\.+\] +66\.7% 8\.0 MiB\/12\.0 MiB rate \? remaining --:--:--$/);
        assert.match(first.lines[self + 2] ?? "", /^ {6}replay: +\[=+>\.+\] +75\.0% 6\.0 MiB\/8\.0 MiB rate \? remaining --:--:--$/);
        // One second later replay applied 1 MiB more (fetch still paused: nothing fetched).
        const second = renderView([
            secondary({
                fetchLagBytes: 4 * MIB,
                replayLagBytes: MIB,
                appliedStreamBytes: 11 * MIB,
                paused,
                replState: "PausedFetch",
            }),
        ], first.sample, 120, 1000);
        assert.match(second.lines[self + 1] ?? "", /rate 0 B\/s remaining --:--:--$/);
        assert.match(second.lines[self + 2] ?? "", / 87\.5% 7\.0 MiB\/8\.0 MiB rate 1\.0 MiB\/s remaining 00:00:01$/);
    });
    it("hides fetch and replay bars when caught up, and flags a paused replay", () => {
        const caughtUp = renderView([
            secondary({
                fetchLagBytes: 0,
                replayLagBytes: 0,
                appliedStreamBytes: 8 * MIB,
                replState: "Replicating",
            }),
        ], undefined, 120, 0);
        assert.equal(caughtUp.lines.filter((l) => /^ {6}/.test(l)).length, 0);
        const pausedReplay = renderView([
            secondary({
                fetchLagBytes: 0,
                replayLagBytes: 0,
                appliedStreamBytes: 8 * MIB,
                paused: { sync: false, fetch: false, replay: true },
                replState: "PausedReplay",
            }),
        ], undefined, 120, 0);
        assert.match(pausedReplay.lines[0] ?? "", / PausedReplay dcASF- /);
        assert.ok(pausedReplay.lines.some((l) => /^ {6}replay\(p\): .* 100\.0% /.test(l)));
    });
    it("labels a region resync and names the gap replay waits at", () => {
        const s = checked({
            ...secondary({
                fetchLagBytes: 0,
                replayLagBytes: 0,
                appliedStreamBytes: 8 * MIB,
                replState: "Syncing",
            }),
            diskState: "Inconsistent",
            consistent: false,
            replay: { state: "gap", lagBytes: 0, waitingBefore: "log-000000007-alpha" },
            sync: {
                kind: "regions",
                gapFile: "log-000000007-alpha",
                doneBytes: MIB,
                totalBytes: 2 * MIB,
                rateBytesPerSec: 0,
                sameBytes: 0,
            },
        });
        const { lines } = renderView([s], undefined, 120, 0);
        assert.ok(lines.some((l) => /^ {6}resync: +\[=+>\.+\] +50\.0% 1\.0 MiB\/2\.0 MiB rate \? remaining --:--:--$/.test(l)), lines.join("\n"));
        assert.equal(lines.at(-1), "      replay waits at gap log-000000007-alpha");
    });
    it("cuts every line to the terminal's width, and none without one", () => {
        for (const cols of [40, 60, 80, 100]) {
            const { lines } = renderView([primary()], undefined, cols, 0);
            for (const l of lines)
                assert.ok(l.length <= cols, `${l.length} > ${cols}: ${l}`);
            assert.ok(lines.some((l) => l.endsWith("~")), "the long resource line is marked as cut");
        }
        const whole = renderView([primary()], undefined, undefined, 0);
        assert.ok(whole.lines[0]?.endsWith("nbd.sock"));
    });
    it("names a resource that could not be read, and says when there is none", () => {
        assert.deepEqual(renderView([{ name: "r1", readError: "resource r1 does not exist" }], undefined, 80, 0).lines, ["r1  error: resource r1 does not exist"]);
        assert.deepEqual(renderView([], undefined, 80, 0).lines, ["no resources"]);
    });
    it("is a pure function of its inputs", () => {
        const previous = {
            atMs: 0,
            counters: { "r0/bravo/sync": { bytes: 8 * MIB, changedAtMs: 0 } },
        };
        const a = renderView([primary()], previous, 100, 4000);
        const b = renderView([primary()], previous, 100, 4000);
        assert.deepEqual(a, b);
        assert.match(a.lines.join("\n"), /rate 2\.0 MiB\/s remaining 00:00:24/);
    });
    it("derives flags from the one state another member publishes", () => {
        const m = (replState, diskState = "Outdated") => memberFlags({ host: "x", self: false, alive: true, role: "secondary", diskState, replState });
        assert.equal(m("Replicating", "UpToDate"), "dCASFR");
        assert.equal(m("PausedFetch"), "dcAS-R");
        assert.equal(m("PausedReplay"), "dcASF-");
        assert.equal(m("Fetching"), "dcASfR");
        assert.equal(m("Replaying"), "dcASFr");
        assert.equal(m("PausedSync", "Inconsistent"), "d-A-FR");
        assert.equal(m("Failed", "Detached"), "-c-SFR");
        assert.equal(selfFlags(primary()), "DCAS-R");
    });
});
//# sourceMappingURL=view-render.test.js.map
/**
 * The log space monitor (src/resource/log-space.ts) over real directories:
 * statfs goes to the real filesystem through FaultyStorage, whose plan
 * reports chosen free bytes (the OS's answer, not our component, is
 * replaced); time is a SimClock, so the timer is driven exactly.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Metrics } from "../../../src/metrics/metrics.js";
import { LogSpaceMonitor, } from "../../../src/resource/log-space.js";
import { FaultyStorage } from "../../helpers/faulty-file.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { SimClock } from "../../sim/sim-clock.js";
const GIB = 1024 ** 3;
const SIZE = 100 * GIB;
const INTERVAL_MS = 5000;
const SETTINGS = {
    sampleIntervalMs: INTERVAL_MS,
    warning: { freeBytes: 0, freePercent: 20 },
    cut: { freeBytes: 0, freePercent: 10 },
    emergency: { freeBytes: 1 * GIB, freePercent: 5 },
    hysteresisPercent: 2,
};
/** The value of a sample in the exposition text, NaN if absent. */
async function metric(metrics, name, labels = "") {
    const text = await metrics.registry.metrics();
    const line = text.split("\n").find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
    return line === undefined ? NaN : Number(line.split(" ").at(-1));
}
describe("log space monitor", () => {
    let tmp;
    let root;
    before(async () => {
        tmp = await makeTempDir("marsd-log-space-");
        root = tmp.join("resources");
        for (const r of ["r0", "r1", "r2"])
            await mkdir(tmp.join("resources", r), { recursive: true });
    });
    after(() => tmp.remove());
    /** A monitor over r0 and r1 in the temp dir; `otherDevice` dirs report a second filesystem. */
    function setup(options = {}) {
        const faulty = new FaultyStorage({ statfs: { sizeBytes: SIZE, availableBytes: 50 * GIB } });
        const statfsCalls = [];
        // Counts statfs calls and moves some directories to a second device (as if mounted).
        const storage = Object.assign(Object.create(faulty), {
            statfs: (p) => {
                statfsCalls.push(p);
                return faulty.statfs(p);
            },
            stat: async (p) => {
                const facts = await faulty.stat(p);
                return options.otherDevice?.includes(p) ? { ...facts, device: facts.device + 1n } : facts;
            },
        });
        const metrics = new Metrics({ defaultMetrics: false });
        const time = new SimClock();
        const changes = [];
        const deletions = [];
        const resources = [
            { name: "r1", dir: tmp.join("resources", "r1") },
            { name: "r0", dir: tmp.join("resources", "r0") },
        ];
        const monitor = new LogSpaceMonitor({
            time,
            storage,
            logger: pino({ level: "silent" }),
            metrics,
            settings: SETTINGS,
            roots: [root],
            resources: () => resources,
            deleteReplayedLogs: (name) => {
                deletions.push(name);
                if (options.deleteFails)
                    return Promise.reject(new Error("disk on fire"));
                return Promise.resolve({ deleted: [`log-000000001-${name}`] });
            },
        });
        monitor.onLevel((c) => changes.push(c));
        return { monitor, storage: faulty, metrics, time, changes, deletions, statfsCalls, resources };
    }
    /** One timer period, and the sample it started (real IO) done. */
    const tick = async (s) => {
        await s.time.advance(INTERVAL_MS);
        await s.monitor.settled();
    };
    const setFree = (s, percent) => {
        s.storage.plan.statfs = { sizeBytes: SIZE, availableBytes: (SIZE * percent) / 100 };
    };
    it("samples each filesystem once, labels it by the root, exports size, free bytes, ratio and levels", async () => {
        const s = setup();
        await s.monitor.sampleNow();
        assert.equal(s.statfsCalls.length, 1, "r0, r1 and the root share one filesystem: one statfs");
        const [sample, ...others] = s.monitor.lastSamples();
        assert.deepEqual(others, []);
        assert.equal(sample?.filesystem, root);
        assert.deepEqual(sample?.resources, ["r0", "r1"]);
        assert.equal(sample?.level, "ok");
        const fs = `filesystem="${root}"`;
        assert.equal(await metric(s.metrics, "marsd_log_fs_size_bytes", fs), SIZE);
        assert.equal(await metric(s.metrics, "marsd_log_fs_free_bytes", fs), 50 * GIB);
        assert.equal(await metric(s.metrics, "marsd_log_fs_free_ratio", fs), 0.5);
        assert.equal(await metric(s.metrics, "marsd_log_space_level", fs), 0);
        assert.equal(await metric(s.metrics, "marsd_resource_log_space_level", 'resource="r0"'), 0);
        // The emergency threshold is the larger of 1 GiB and 5 % of 100 GiB.
        assert.equal(await metric(s.metrics, "marsd_log_space_threshold_bytes", `${fs},level="emergency"`), 5 * GIB);
        assert.equal(s.monitor.levelOf("r0"), "ok");
        assert.equal(s.monitor.levelOf("nope"), undefined);
        assert.deepEqual(s.changes, [], "ok at the first sample is no change");
        assert.deepEqual(s.deletions, []);
    });
    it("reports level changes with hysteresis to listeners, per filesystem with its resources", async () => {
        const s = setup();
        const seen = [];
        for (const percent of [30, 19, 15, 9, 4, 6, 8, 30]) {
            setFree(s, percent);
            await s.monitor.sampleNow();
            seen.push(s.monitor.levelOf("r1") ?? "none");
        }
        assert.deepEqual(seen, ["ok", "warning", "warning", "cut", "emergency", "emergency", "cut", "ok"]);
        assert.deepEqual(s.changes.map((c) => `${c.previous}->${c.level}`), ["ok->warning", "warning->cut", "cut->emergency", "emergency->cut", "cut->ok"]);
        assert.deepEqual(s.changes[0], {
            filesystem: root,
            resources: ["r0", "r1"],
            level: "warning",
            previous: "ok",
            freeBytes: (SIZE * 19) / 100,
            sizeBytes: SIZE,
        });
        assert.equal(await metric(s.metrics, "marsd_log_space_level", `filesystem="${root}"`), 0);
    });
    it("a failed statfs is counted and logged, never thrown; the previous level and numbers hold", async () => {
        const s = setup();
        setFree(s, 15);
        await s.monitor.sampleNow();
        s.storage.plan.statfs = { fail: true };
        await s.monitor.sampleNow();
        await s.monitor.sampleNow();
        assert.equal(await metric(s.metrics, "marsd_log_space_sample_errors_total"), 2);
        assert.equal(s.monitor.levelOf("r0"), "warning");
        assert.equal(await metric(s.metrics, "marsd_log_fs_free_bytes", `filesystem="${root}"`), (SIZE * 15) / 100);
        assert.equal(s.changes.length, 1);
        // The timer keeps going through failures.
        s.monitor.start();
        await s.monitor.settled();
        for (let i = 0; i < 3; i++)
            await tick(s);
        assert.equal(await metric(s.metrics, "marsd_log_space_sample_errors_total"), 6);
        setFree(s, 50);
        await tick(s);
        assert.equal(s.monitor.levelOf("r0"), "ok");
        await s.monitor.stop();
    });
    it("a sample that fails unexpectedly (the resource list throws) is counted, not thrown", async () => {
        const s = setup();
        await s.monitor.sampleNow();
        const broken = new LogSpaceMonitor({
            time: s.time,
            storage: s.storage,
            logger: pino({ level: "silent" }),
            metrics: s.metrics,
            settings: SETTINGS,
            roots: [root],
            resources: () => {
                throw new Error("not started");
            },
            deleteReplayedLogs: () => Promise.resolve({ deleted: [] }),
        });
        broken.start();
        await broken.settled();
        await broken.sampleNow();
        assert.equal(await metric(s.metrics, "marsd_log_space_sample_errors_total"), 2);
        await broken.stop();
    });
    it("a directory whose stat fails is an error of that sample; the others are still sampled", async () => {
        const s = setup();
        s.resources.push({ name: "gone", dir: tmp.join("resources", "gone") });
        await s.monitor.sampleNow();
        assert.equal(await metric(s.metrics, "marsd_log_space_sample_errors_total"), 1);
        assert.equal(s.monitor.levelOf("r0"), "ok");
        assert.equal(s.monitor.levelOf("gone"), undefined);
    });
    it("at warning or worse deletes replayed logs of every resource there, once per sampling interval", async () => {
        const s = setup();
        s.monitor.start();
        await s.monitor.settled();
        assert.deepEqual(s.deletions, [], "nothing is deleted while space is fine");
        setFree(s, 15);
        await s.monitor.sampleNow();
        assert.deepEqual(s.deletions.sort(), ["r0", "r1"]);
        await s.monitor.sampleNow();
        await s.monitor.sampleNow();
        assert.equal(s.deletions.length, 2, "sampleNow again within the interval deletes nothing more");
        assert.equal(await metric(s.metrics, "marsd_log_space_deleted_files_total", 'resource="r0"'), 1);
        await tick(s);
        assert.equal(s.deletions.length, 4, "the next tick deletes again (still at warning)");
        setFree(s, 3);
        await tick(s);
        assert.equal(s.deletions.length, 6, "and at emergency");
        setFree(s, 90);
        await tick(s);
        await tick(s);
        assert.equal(s.deletions.length, 6, "not once space is back");
        await s.monitor.stop();
        setFree(s, 1);
        await tick(s);
        assert.equal(s.monitor.levelOf("r0"), "ok", "no sample after stop()");
    });
    it("a failing deletion is logged, not thrown; sampling goes on", async () => {
        const s = setup({ deleteFails: true });
        setFree(s, 15);
        await s.monitor.sampleNow();
        assert.deepEqual(s.deletions.sort(), ["r0", "r1"]);
        assert.equal(s.monitor.levelOf("r0"), "warning");
    });
    it("resources on another filesystem get their own sample, label and level; gone resources are forgotten", async () => {
        const r1 = tmp.join("resources", "r1");
        const s = setup({ otherDevice: [r1] });
        setFree(s, 15);
        await s.monitor.sampleNow();
        assert.equal(s.statfsCalls.length, 2);
        assert.deepEqual(s.monitor.lastSamples().map((x) => [x.filesystem, x.resources]), [
            [root, ["r0"]],
            [r1, ["r1"]],
        ]);
        assert.equal(s.monitor.sampleOf("r1")?.filesystem, r1);
        // r1 leaves: its filesystem (no root on it) and its level disappear from the metrics.
        s.resources.splice(0, 1);
        await s.monitor.sampleNow();
        assert.deepEqual(s.monitor.lastSamples().map((x) => x.filesystem), [root]);
        assert.equal(s.monitor.levelOf("r1"), undefined);
        assert.ok(Number.isNaN(await metric(s.metrics, "marsd_log_fs_free_bytes", `filesystem="${r1}"`)));
        assert.ok(Number.isNaN(await metric(s.metrics, "marsd_resource_log_space_level", 'resource="r1"')));
    });
    it("a throwing listener does not keep the others from hearing", async () => {
        const s = setup();
        s.monitor.onLevel(() => {
            throw new Error("listener bug");
        });
        const late = [];
        const unsubscribe = s.monitor.onLevel((c) => late.push(c.level));
        setFree(s, 4);
        await s.monitor.sampleNow();
        unsubscribe();
        setFree(s, 50);
        await s.monitor.sampleNow();
        assert.deepEqual(late, ["emergency"]);
        assert.deepEqual(s.changes.map((c) => c.level), ["emergency", "ok"]);
    });
});
//# sourceMappingURL=log-space.test.js.map
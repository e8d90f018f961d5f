/**
 * The log space monitor on a real small filesystem, in a real daemon,
 * written through a real NBD client (libnbd's pattern writer): the
 * daemon's data dir is a 64 MiB tmpfs; /metrics reports its size and free
 * bytes as statfs(2) sees them; when log writes take free space below the
 * warning threshold the level goes to 1 and the replayed log files are
 * deleted by the monitor alone (the scheduled deletion job is off), so the
 * writer goes on writing more log than the filesystem ever had free.
 *
 * Sizes: tmpfs 64 MiB; a ballast file of 24 MiB on it (space taken by
 * something else); warning below 32 MiB free (percent criteria off),
 * hysteresis 2 % (1.3 MiB); sampled every 200 ms. Logs rotate at 1 MiB,
 * preallocated in 256 KiB steps. r0's 16 MiB disk is outside the tmpfs.
 * The writer does 12,000 writes of 4 KiB over 4,096 blocks (a 4 KiB write
 * is a 4,160-byte log record: ~48 MiB of log, more than the ~40 MiB the
 * filesystem has free). Bounds checked: the writer sees no error, at most
 * 64 MiB are ever used (the tmpfs), the level reached 1 and the deleted
 * file counter grew, and the log files left at the end take less than
 * 8 MiB.
 *
 * Runs as root (mount). Skipped, saying why, only if the tmpfs cannot be
 * mounted. MARSD_LOG_SPACE_SEED replays the writer's choices.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, stat, statfs, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { createVolume, startNode } from "../helpers/single-node.js";
import { requirePythonNbd, requireTool, run } from "../helpers/tools.js";
const SEED = Number(process.env.MARSD_LOG_SPACE_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const TMPFS_BYTES = 64 * MIB;
const BALLAST_BYTES = 24 * MIB;
const WARNING_FREE_BYTES = 32 * MIB;
const WRITES = 12_000;
const BLOCKS = 4096;
const RECORD_BYTES = 4160;
const MAX_LOG_LEFT_BYTES = 8 * MIB;
async function scrape(daemon) {
    return (await fetch(`${daemon.adminUrl}/metrics`)).text();
}
function sample(text, name, labels) {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
    return line === undefined ? NaN : Number(line.split(" ").at(-1));
}
async function logBytes(dir) {
    const names = (await readdir(dir)).filter((n) => n.startsWith("log-"));
    let bytes = 0;
    for (const n of names)
        bytes += (await stat(path.join(dir, n))).size;
    return { files: names.length, bytes };
}
describe(`log space monitor on a 64 MiB tmpfs (seed ${SEED})`, { timeout: 120_000 }, () => {
    let daemon;
    let baseDir;
    let mountPoint;
    after(async () => {
        // The daemon first (it holds files on the tmpfs), then the mount, then the directories.
        await daemon?.cleanup().catch(() => undefined);
        if (mountPoint)
            await run(requireTool("umount"), [mountPoint]).catch(() => undefined);
        if (baseDir)
            await rm(baseDir, { recursive: true, force: true });
    });
    it("reports the filesystem's free bytes, goes to warning and deletes replayed logs by itself", async (t) => {
        await requirePythonNbd();
        baseDir = await mkdtemp(path.join(os.tmpdir(), "marsd-log-space-"));
        const dataDir = path.join(baseDir, "data");
        await mkdir(dataDir);
        try {
            await run(requireTool("mount"), ["-t", "tmpfs", "-o", `size=${TMPFS_BYTES}`, "tmpfs", dataDir]);
            mountPoint = dataDir;
        }
        catch (err) {
            t.skip(`a size-limited tmpfs cannot be mounted here (needs root): ${String(err)}`);
            return;
        }
        const config = path.join(baseDir, "config.json");
        await writeFile(config, JSON.stringify({
            log: { rotateBytes: MIB, preallocateBytes: 256 * 1024 },
            jobs: { logRotate: "", logDelete: "" },
            logSpace: {
                sampleIntervalMs: 200,
                warning: { freeBytes: WARNING_FREE_BYTES, freePercent: 0 },
                cut: { freeBytes: 0, freePercent: 0 },
                emergency: { freeBytes: 0, freePercent: 0 },
                hysteresisPercent: 2,
            },
        }));
        daemon = await startNode({ baseDir, extraArgs: ["--config", config] });
        const r0 = await createVolume(daemon, "r0", 16 * MIB);
        const resourceDir = path.join(dataDir, "resources", "r0");
        const fsLabel = `filesystem="${path.join(dataDir, "resources")}"`;
        const d = daemon;
        // The fs as statfs sees it, in /metrics (a sample is at most 200 ms old).
        const fresh = await waitFor("r0 sampled, the free bytes in /metrics matching statfs", async () => {
            const text = await scrape(d);
            const st = await statfs(dataDir);
            const free = sample(text, "marsd_log_fs_free_bytes", fsLabel);
            const r0Sampled = !Number.isNaN(sample(text, "marsd_resource_log_space_level", 'resource="r0"'));
            return r0Sampled && Math.abs(free - st.bavail * st.bsize) <= 64 * 1024 ? text : undefined;
        });
        assert.equal(sample(fresh, "marsd_log_fs_size_bytes", fsLabel), TMPFS_BYTES);
        assert.equal(sample(fresh, "marsd_log_space_level", fsLabel), 0);
        assert.equal(sample(fresh, "marsd_resource_log_space_level", 'resource="r0"'), 0);
        // Someone else takes 24 MiB; still ok (about 40 MiB free).
        await writeFile(path.join(dataDir, "ballast"), Buffer.alloc(BALLAST_BYTES, 1));
        const freeAtStart = (await statfs(dataDir)).bavail * (await statfs(dataDir)).bsize;
        assert.ok(freeAtStart > WARNING_FREE_BYTES + 2 * MIB, `free at start ${freeAtStart}`);
        await waitFor("the ballast in /metrics", async () => {
            const free = sample(await scrape(d), "marsd_log_fs_free_bytes", fsLabel);
            return Math.abs(free - freeAtStart) <= 64 * 1024;
        });
        const writer = await startPatternWriter({
            uri: r0.uri,
            blocks: BLOCKS,
            depth: 8,
            seed: SEED,
            stateFile: path.join(baseDir, "writer.json"),
            maxWrites: WRITES,
        });
        // Watch the level and the fullest moment while the writer runs.
        let sawWarning = false;
        let minFree = Infinity;
        let writerDone = false;
        const watching = (async () => {
            for (;;) {
                const text = await scrape(d);
                if (sample(text, "marsd_log_space_level", fsLabel) === 1)
                    sawWarning = true;
                const st = await statfs(dataDir);
                minFree = Math.min(minFree, st.bavail * st.bsize);
                if (writerDone)
                    return;
                await new Promise((r) => setTimeout(r, 20));
            }
        })();
        const code = await writer.exited;
        writerDone = true;
        await watching;
        assert.equal(code, 0, `the writer saw an error: ${writer.stderr()}`);
        assert.equal(writer.acks, WRITES);
        const logWritten = WRITES * RECORD_BYTES;
        console.log(`log space: ${(logWritten / MIB).toFixed(1)} MiB of log written, ${(freeAtStart / MIB).toFixed(1)} MiB free ` +
            `at start, ${(minFree / MIB).toFixed(1)} MiB at the fullest, warning below ${WARNING_FREE_BYTES / MIB} MiB`);
        assert.ok(logWritten > freeAtStart, "the test writes more log than the filesystem had free");
        assert.ok(sawWarning, "marsd_log_space_level went to 1 (warning)");
        assert.ok(minFree < WARNING_FREE_BYTES, "free space crossed the warning threshold");
        const text = await scrape(d);
        const deleted = sample(text, "marsd_log_space_deleted_files_total", 'resource="r0"');
        assert.ok(deleted >= 10, `replayed log files were deleted automatically (${deleted})`);
        assert.match(d.output, /log space low: deleted replayed log files/);
        // The monitor deletes once per sample (200 ms): the writes of the last sample period may
        // still be there when the writer ends (9.5 MB once); the next samples must take them.
        const left = await waitFor("the monitor to delete the last replayed files", async () => {
            const now = await logBytes(resourceDir);
            return now.bytes < MAX_LOG_LEFT_BYTES ? now : undefined;
        }, 5_000).catch(() => logBytes(resourceDir));
        console.log(`log space: ${deleted} log files deleted, ${left.files} left (${left.bytes} bytes)`);
        assert.ok(left.bytes < MAX_LOG_LEFT_BYTES, `log files left: ${left.bytes} bytes`);
        assert.equal(sampleNoLabels(text, "marsd_log_space_sample_errors_total"), 0);
        const status = await d.rpc.call("resource.status", { name: "r0" });
        assert.equal(status.state, "running");
    });
});
function sampleNoLabels(text, name) {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(" ").at(-1));
}
//# sourceMappingURL=log-space.test.js.map
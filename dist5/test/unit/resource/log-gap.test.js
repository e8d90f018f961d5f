/**
 * A gap in the log (emergency mode: writes that bypassed the log between
 * two files, LogFileHeader.gap): replay stops before the file after the
 * gap unless this disk holds what the gap skipped, and goes on once a
 * resync says so. Real log files written through LogStream.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { formatLogName } from "../../../src/log/log-name.js";
import { LogStream } from "../../../src/log/log-stream.js";
import { RecordKind } from "../../../src/log/record.js";
import { genesisVersion } from "../../../src/log/version.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { systemClock } from "../../../src/platform/clock.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { LocalLogs } from "../../../src/replication/local-logs.js";
import { Replayer } from "../../../src/replication/replayer.js";
import { ApplyQueue } from "../../../src/resource/apply-queue.js";
import { recoverLog } from "../../../src/resource/recovery.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
const DISK_BYTES = 64 * 1024;
/** File 1: block 0 = a; then a gap (block 1 written straight to alpha's disk); file 2: block 2 = c. */
async function writeGappedLog(root) {
    const dir = path.join(root, "res");
    await mkdir(dir, { recursive: true });
    const options = {
        dir,
        resource: "r0",
        host: "alpha",
        storage: nodeStorage,
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        rotateBytes: 1 << 30,
    };
    const first = await LogStream.start(options, 1, 0, genesisVersion("r0", 0));
    await first.append([
        { kind: RecordKind.Write, offsetBytes: 0, lengthBytes: 4096, payload: pattern(4096, 1) },
    ]);
    const finished = await first.close();
    const second = await LogStream.start(options, 2, finished.lengthBytes, finished.versionEntry.version, {
        reason: "emergency",
        host: "alpha",
        afterFile: formatLogName(finished.name),
    });
    await second.append([
        { kind: RecordKind.Write, offsetBytes: 8192, lengthBytes: 4096, payload: pattern(4096, 3) },
    ]);
    const gapFile = formatLogName(second.current);
    await second.close();
    return { dir, gapFile };
}
describe("a gap in the log", () => {
    let tmp;
    let n = 0;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    it("recovery stops before the gap on another node's disk, and crosses it on the writer's", async () => {
        const root = tmp.join(`case-${++n}`);
        const { dir, gapFile } = await writeGappedLog(root);
        for (const host of ["bravo", "alpha"]) {
            const disk = path.join(root, `${host}.img`);
            await writeFile(disk, Buffer.alloc(DISK_BYTES));
            const backing = await nodeStorage.open(disk, "readwrite");
            try {
                const result = await recoverLog({
                    dir,
                    resource: "r0",
                    host,
                    time: systemClock,
                    storage: nodeStorage,
                    backing,
                    checkpoint: undefined,
                });
                const image = await readFile(disk);
                assert.ok(image.subarray(0, 4096).equals(pattern(4096, 1)), `${host}: file 1 applied`);
                if (host === "bravo") {
                    assert.equal(result.stoppedAtGap, gapFile, "bravo stops before the gap file");
                    assert.ok(image.subarray(8192, 12288).equals(Buffer.alloc(4096)), "nothing after the gap applied");
                }
                else {
                    assert.equal(result.stoppedAtGap, undefined);
                    assert.ok(image.subarray(8192, 12288).equals(pattern(4096, 3)), "alpha replays its own gap file");
                }
            }
            finally {
                await backing.close();
            }
        }
    });
    it("a following replayer waits at the gap, reports it once, and goes on after the resync", async () => {
        const root = tmp.join(`case-${++n}`);
        const { dir, gapFile } = await writeGappedLog(root);
        const disk = path.join(root, "bravo.img");
        await writeFile(disk, Buffer.alloc(DISK_BYTES));
        const backing = await nodeStorage.open(disk, "readwrite");
        const logs = new LocalLogs(dir, nodeStorage);
        await logs.load();
        // As a fetcher does: a file is finished once the next one exists.
        logs.markFinished("log-000000001-alpha");
        const applier = new ApplyQueue(systemClock, backing, undefined);
        let resynced = false;
        const gaps = [];
        const replayer = new Replayer({
            resource: "r0",
            logs,
            storage: nodeStorage,
            applier,
            metrics: new Metrics({ defaultMetrics: false }),
            logger: pino({ level: "silent" }),
            onFileReplayed: () => undefined,
            maxInFlight: 8,
            mayEnter: (file, header) => !header.gap || resynced,
        }, { fileNumber: 1, host: "alpha", offsetBytes: 0, nextSeq: 0, streamBytes: 0 });
        replayer.on("gap", (file, header) => gaps.push({ file, header }));
        try {
            replayer.follow();
            await waitFor("replay waits at the gap", () => Promise.resolve(replayer.state === "gap"));
            assert.deepEqual(gaps.map((g) => [g.file, g.header.gap?.host, g.header.gap?.afterFile]), [[gapFile, "alpha", "log-000000001-alpha"]]);
            assert.equal(replayer.pendingGap?.file, gapFile);
            assert.equal(replayer.readPosition.fileNumber, 1, "still in the file before the gap");
            // The resync (here: the gap's block written as the gap writer had it) covers the gap.
            await backing.writev([pattern(4096, 2)], 4096);
            resynced = true;
            replayer.gapResynced();
            await waitFor("replay went on past the gap", () => Promise.resolve(replayer.readPosition.fileNumber === 2 && replayer.state === "caught-up"));
            await applier.idle();
            const image = await readFile(disk);
            assert.ok(image.subarray(8192, 12288).equals(pattern(4096, 3)), "the file after the gap applied");
            assert.equal(gaps.length, 1, "the gap was reported once");
        }
        finally {
            await replayer.stop();
            await backing.close();
        }
    });
});
//# sourceMappingURL=log-gap.test.js.map
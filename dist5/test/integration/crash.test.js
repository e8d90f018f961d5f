/**
 * kill -9 at random moments while a real NBD client (libnbd, from Python)
 * writes versioned blocks with many requests in flight. After every
 * restart each block must hold its last acknowledged version (or the one
 * write to it that was still in flight), byte for byte: no acknowledged
 * write is ever lost or torn, and the resource is running again (never
 * left `failed`). Small log files (every cycle writes more than one file
 * holds), preallocation on and a fast checkpoint make the crashes hit
 * rotation, preallocation and checkpointing; about a third of the cycles
 * kill the daemon at a file boundary on purpose: right after
 * `resource.logRotate` returned, or while it runs.
 *
 * MARSD_CRASH_CYCLES (default 20) and MARSD_CRASH_SEED replay a run; the
 * seed is in the test's name.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { createVolume, startNode } from "../helpers/single-node.js";
import { requireTool, run, SYSTEM_PYTHON, requirePythonNbd } from "../helpers/tools.js";
import { BLOCK_BYTES, PATTERN_WRITER, blockVersion } from "../helpers/versioned-blocks.js";
import { prng } from "../helpers/prng.js";
const BLOCKS = 2048;
const CYCLES = Number(process.env.MARSD_CRASH_CYCLES ?? 20);
const SEED = Number(process.env.MARSD_CRASH_SEED ?? Date.now() % 1_000_000);
function startWriter(uri, stateFile, seed, depth, kill) {
    const args = [PATTERN_WRITER, uri, String(BLOCKS), String(depth), String(seed), stateFile];
    args.push(String(1 << 30));
    if (kill)
        args.push(String(kill.pid), String(kill.atAck));
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d.toString()));
    const runState = {
        acks: 0,
        acked: new Map(),
        exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
        output: () => stderr,
    };
    createInterface({ input: child.stdout }).on("line", (line) => {
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (!m)
            return;
        runState.acks += 1;
        runState.acked.set(Number(m[1]), Number(m[2]));
    });
    return runState;
}
describe("crash safety: kill -9 under a real NBD writer", () => {
    let node;
    let nbdcopy = "";
    let tmp;
    /** waitFor, failing with the restarted daemon's own output (recovery logs) in the message. */
    async function waitForExport(context, probe) {
        try {
            return await waitFor(`r0 to be exported again (${context})`, probe);
        }
        catch (err) {
            throw new Error(`${err.message}\ndaemon output:\n${node.daemon.output.slice(-6000)}`);
        }
    }
    before(async () => {
        nbdcopy = requireTool("nbdcopy");
        await requirePythonNbd();
        tmp = await makeTempDir("marsd-crash-");
        const config = tmp.join("marsd.json");
        await writeFile(config, JSON.stringify({
            log: { rotateBytes: 1024 * 1024, preallocateBytes: 256 * 1024, checkpointIntervalMs: 50 },
            jobs: { logRotate: "", logDelete: "" },
        }));
        const daemon = await startNode({ extraArgs: ["--config", config] });
        node = await createVolume(daemon, "r0", BLOCKS * BLOCK_BYTES);
    });
    after(async () => {
        await node?.daemon.cleanup();
        await tmp?.remove();
    });
    it(`loses no acknowledged write across ${CYCLES} kill -9 cycles (seed ${SEED})`, async () => {
        const random = prng(SEED);
        const onDisk = new Map();
        const image = path.join(node.daemon.baseDir, "readback.img");
        const stateFile = path.join(node.daemon.baseDir, "writer-state.json");
        let totalAcks = 0;
        let tornSeen = 0;
        let boundaryKills = 0;
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const context = `seed ${SEED}, cycle ${cycle}`;
            await writeFile(stateFile, JSON.stringify(Object.fromEntries(onDisk)));
            const depth = 1 + Math.floor(random() * 32);
            // More than a 1 MiB file holds (~250 writes of 4 KiB): every cycle crosses a file boundary.
            const killAfter = 300 + Math.floor(random() * 400);
            const atBoundary = random() < 0.35;
            const pid = node.daemon.child?.pid;
            assert.ok(pid);
            const writerSeed = Math.floor(random() * 1e9);
            let writer;
            if (!atBoundary) {
                // The writer kills the daemon itself, right behind acknowledgement number killAfter.
                writer = startWriter(node.uri, stateFile, writerSeed, depth, { pid, atAck: killAfter });
            }
            else {
                // Kill at a file boundary: right after an explicit rotation returned, or while it runs.
                writer = startWriter(node.uri, stateFile, writerSeed, depth, undefined);
                const rotateAt = 50 + Math.floor(random() * 200);
                await waitFor(`${rotateAt} acknowledgements (${context})`, () => writer.acks >= rotateAt, 20_000, 1);
                const rotation = node.daemon.rpc.call("resource.logRotate", { name: "r0" });
                if (random() < 0.5) {
                    await rotation;
                }
                else {
                    rotation.catch(() => undefined);
                    const more = writer.acks + Math.floor(random() * 4);
                    await waitFor(`the rotation under way (${context})`, () => writer.acks >= more, 20_000, 1);
                }
                await node.daemon.kill9();
                boundaryKills += 1;
            }
            const code = await writer.exited;
            assert.equal(code, 0, `writer failed (${context}): ${writer.output()}`);
            assert.ok(atBoundary || writer.acks >= killAfter, `writer stopped after ${writer.acks} acks (${context}): ${writer.output()}`);
            await node.daemon.waitExit();
            assert.equal(node.daemon.exitSignal, "SIGKILL", context);
            totalAcks += writer.acks;
            await node.daemon.relaunch();
            const status = await waitForExport(context, async () => {
                const s = await node.daemon.rpc.call("resource.status", { name: "r0" });
                if (s.state !== "running")
                    throw new Error(`r0 is ${s.state} after restart: ${s.error} (${context})`);
                return s.device ? s : undefined;
            });
            if (status.log.recovery.tornBytes > 0)
                tornSeen += 1;
            await run(nbdcopy, [status.device?.uri ?? node.uri, image]);
            const bytes = await readFile(image);
            for (let block = 0; block < BLOCKS; block++) {
                const version = blockVersion(bytes, block);
                const before = onDisk.get(block) ?? 0;
                const acked = writer.acked.get(block) ?? before;
                assert.ok(typeof version === "number", `block ${block}: ${String(version)} (${context})`);
                assert.ok(version >= acked, `block ${block}: version ${version} on disk, ${acked} was acknowledged (${context})`);
                // Only one write per block is ever in flight: at most one unacknowledged version may have landed.
                assert.ok(version <= acked + 1, `block ${block}: version ${version} was never written (${context})`);
                if (version > 0)
                    onDisk.set(block, version);
            }
        }
        assert.ok(totalAcks >= CYCLES * 20);
        // Shut down cleanly at the end; the last restart must not need to replay anything.
        assert.equal(await node.daemon.stop(), 0);
        await node.daemon.relaunch();
        const last = await node.daemon.rpc.call("resource.status", { name: "r0" });
        assert.deepEqual(last.log.recovery, { replayedBytes: 0, tornBytes: 0 });
        console.log(`crash test: seed ${SEED}, ${CYCLES} cycles (${boundaryKills} at a file boundary), ${totalAcks} acknowledged writes checked, 0 lost, ${tornSeen} restarts cut a torn tail`);
    });
});
//# sourceMappingURL=crash.test.js.map
/**
 * Stopping: SIGTERM while a real client writes drains the IO, finishes the
 * log, checkpoints and exits 0, so the restart replays nothing and every
 * acknowledged write is there. Failing: a failed log fdatasync in a real
 * (in-process) daemon fails the writes with EIO, marks the resource
 * failed, calls onFatal, and recovery on restart keeps what was
 * acknowledged.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { Daemon } from "../../src/daemon/daemon.js";
import { Cmd, Errno, Opt, Rep } from "../../src/frontend/nbd/protocol.js";
import { waitFor } from "../helpers/daemon-process.js";
import { FaultyStorage } from "../helpers/faulty-file.js";
import { startInProcess, type InProcessDaemon } from "../helpers/in-process.js";
import { RawNbdClient } from "../helpers/nbd-client.js";
import { startNodeWithVolume, type NodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run, SYSTEM_PYTHON } from "../helpers/tools.js";
import { BLOCK_BYTES, PATTERN_WRITER, blockVersion } from "../helpers/versioned-blocks.js";

const MIB = 1024 * 1024;

describe("clean stop and fatal failure", () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it("SIGTERM under load: drains, finishes the log, checkpoints, exits 0; the restart replays nothing", async () => {
    const nbdcopy = requireTool("nbdcopy");
    const blocks = 1024;
    const node: NodeWithVolume = await startNodeWithVolume({ sizeBytes: blocks * BLOCK_BYTES });
    cleanups.push(() => node.daemon.cleanup());
    const stateFile = path.join(node.daemon.baseDir, "state.json");
    await writeFile(stateFile, "{}");
    const child = spawn(SYSTEM_PYTHON, [PATTERN_WRITER, node.uri, String(blocks), "32", "7", stateFile], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked = new Map<number, number>();
    let acks = 0;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^ack (\d+) (\d+)$/.exec(line);
      if (m) {
        acked.set(Number(m[1]), Number(m[2]));
        acks += 1;
      }
    });
    const writerExited = new Promise((resolve) => child.once("exit", resolve));
    await waitFor("the writer to get going", () => acks >= 300);
    const code = await node.daemon.stop();
    assert.equal(code, 0, node.daemon.output);
    await writerExited;
    assert.match(node.daemon.output, /"msg":"stopped"/);

    await node.daemon.relaunch();
    const status = await waitFor("r0 exported again", async () => {
      const s = await node.daemon.rpc.call<{
        device?: { uri: string };
        log: {
          recovery: { replayedBytes: number; tornBytes: number };
          checkpoint?: { streamBytes: number };
          durable: { streamBytes: number };
        };
      }>("resource.status", { name: "r0" });
      return s.device ? s : undefined;
    });
    assert.deepEqual(
      status.log.recovery,
      { replayedBytes: 0, tornBytes: 0 },
      "a clean stop leaves nothing to replay",
    );
    const image = path.join(node.daemon.baseDir, "readback.img");
    await run(nbdcopy, [node.uri, image]);
    const bytes = await readFile(image);
    for (const [block, version] of acked) {
      const found = blockVersion(bytes, block);
      assert.ok(
        typeof found === "number" && found >= version,
        `block ${block}: ${String(found)} < ${version}`,
      );
    }
  });

  it("a failed log fdatasync fails writes with EIO, marks the resource failed and calls onFatal", async () => {
    const fatal: unknown[] = [];
    let armed = false;
    const storage = new FaultyStorage({
      match: (p) => /\/log-\d{9}-/.test(p),
      beforeOp: (op) => {
        // Fail from the first batch sync after arming (the file header was synced before).
        if (armed && op === "datasync") storage.plan.failDatasyncFrom = 1;
      },
    });
    const node: InProcessDaemon = await startInProcess({ storage, onFatal: (err) => fatal.push(err) });
    cleanups.push(() => node.cleanup());
    const disk = path.join(node.baseDir, "disk.img");
    await writeFile(disk, Buffer.alloc(4 * MIB));
    await node.daemon.resources.create({ name: "r0", disk, frontend: "nbd" });
    const c = await RawNbdClient.connect(node.config.nbd.socket);
    cleanups.push(() => Promise.resolve(c.close()));
    await c.handshake();
    c.sendOption(Opt.GO, RawNbdClient.infoRequest("r0"));
    assert.equal((await c.readOptionReply()).type, Rep.INFO);
    assert.equal((await c.readOptionReply()).type, Rep.ACK);

    // Acknowledged before the failure.
    c.sendRequest(Cmd.WRITE, { cookie: 1n, offset: 0n, data: Buffer.alloc(4096, 0x11) });
    assert.equal((await c.readSimpleReply()).errno, Errno.OK);
    armed = true;
    storage.plan.failDatasyncFrom = storage.calls.datasync + 1;
    c.sendRequest(Cmd.WRITE, { cookie: 2n, offset: 4096n, data: Buffer.alloc(4096, 0x22) });
    assert.deepEqual(await c.readSimpleReply(), { errno: Errno.EIO, cookie: 2n });
    c.sendRequest(Cmd.WRITE, { cookie: 3n, offset: 8192n, data: Buffer.alloc(4096, 0x33) });
    assert.deepEqual(
      await c.readSimpleReply(),
      { errno: Errno.EIO, cookie: 3n },
      "later writes are refused with EIO too",
    );
    c.sendRequest(Cmd.FLUSH, { cookie: 4n });
    assert.equal((await c.readSimpleReply()).errno, Errno.EIO, "a flush cannot succeed on a failed log");
    c.sendRequest(Cmd.READ, { cookie: 5n, offset: 0n, length: 4096 });
    const read = await c.readSimpleReply(4096);
    assert.equal(read.errno, Errno.OK, "reads still work");
    assert.ok(read.data?.equals(Buffer.alloc(4096, 0x11)));

    assert.equal(fatal.length, 1, "onFatal is called once");
    assert.match(String(fatal[0]), /EIO/);
    assert.equal(storage.callsAfterFailure, 0, "the log is never written or synced again");
    const resource = node.daemon.resources.get("r0");
    assert.equal(resource?.state, "failed");
    assert.match(resource?.detail().error ?? "", /fdatasync/);
    const metrics = await node.daemon.metrics.registry.metrics();
    assert.match(metrics, /^marsd_resource_failed\{resource="r0"\} 1$/m);
    assert.ok(
      node.logs.some((l) => l.level === 60 || l.msg === "resource failed"),
      "the failure is logged",
    );

    // Restart on the same dirs with a healthy disk: the acknowledged write is there, the failed ones are not.
    c.close();
    await node.daemon.stop();
    const logger = (await import("pino")).pino({ level: "silent" });
    const again = new Daemon(node.config, logger);
    cleanups.push(() => again.stop());
    await again.start();
    const recovered = again.resources.get("r0");
    assert.equal(recovered?.state, "running");
    const target = Buffer.alloc(3 * 4096);
    await recovered?.volume?.read(0, target);
    assert.ok(target.subarray(0, 4096).equals(Buffer.alloc(4096, 0x11)), "the acknowledged write survived");
    // A write answered with EIO may or may not have landed (as on any disk), but never partly.
    for (const [at, fill] of [
      [4096, 0x22],
      [8192, 0x33],
    ] as const) {
      const block = target.subarray(at, at + 4096);
      assert.ok(block.equals(Buffer.alloc(4096)) || block.equals(Buffer.alloc(4096, fill)), `block at ${at}`);
    }
    await again.stop();
  });
});

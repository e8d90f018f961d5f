/**
 * A planned handover away from a primary whose log area is full (emergency
 * mode), with real daemons, a real small filesystem and a real NBD client.
 *
 * alpha's resource directory is a 6 MiB tmpfs; charlie's replay is paused,
 * so it pins every log file and nothing frees space on alpha. A writer
 * fills the log area (alpha writes straight to its disk from then on) and
 * writes on in emergency mode; a ballast file then takes the last blocks. The operator hands over to bravo: alpha's
 * step-down cannot start the gap file that would log those writes (the log
 * area is full: the resource fails and recovers, as a secondary, once its
 * state files find room), so alpha's disk holds acknowledged writes that
 * no log has, and bravo waits for them. Once space is back,
 * alpha writes the gap file itself, bravo resyncs the dirty regions from it
 * and takes over: every acknowledged write is on bravo's export, and all
 * three disks end equal. Without that, bravo waited for ever and nobody
 * served (simulator seed 980143, where the gap file failed with EIO).
 *
 * Runs as root (mount). MARSD_EMERGENCY_SEED replays the writers' choices.
 */
import assert from "node:assert/strict";
import { appendFile, mkdir, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { makeDisk, nbdUri, resourceDirOf, sha256File, status, waitCaughtUp } from "../helpers/replication.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { requirePythonNbd, requireTool, run } from "../helpers/tools.js";
import { smallLogAreaConfig } from "../helpers/emergency-config.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";

const SEED = Number(process.env.MARSD_EMERGENCY_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 64 * MIB;
const BLOCKS = 2048;

/** Writes `file` until its filesystem has no block left (ENOSPC). */
async function fillUp(file: string): Promise<void> {
  const fs = await statfs(path.dirname(file));
  await writeFile(file, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 64 * 1024)));
  const block = Buffer.alloc(4096);
  for (;;) {
    try {
      await appendFile(file, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") return;
      throw err;
    }
  }
}

interface HandoverStatus {
  role: string;
  state: string;
  diskState: string;
  emergency?: { active: boolean; afterFile?: string; gapFile?: string };
  device?: { uri?: string };
}

describe(`emergency mode: a handover away from a full log area (seed ${SEED})`, { timeout: 240_000 }, () => {
  let cluster: TestCluster | undefined;
  let mountPoint: string | undefined;
  after(async () => {
    await cluster?.cleanup().catch(() => undefined);
    if (mountPoint) await run(requireTool("umount"), [mountPoint]).catch(() => undefined);
  });

  it(
    "the old primary logs its emergency-mode writes once space is back, and the new one takes over with them",
    explainOnFailure(async () => {
      await requirePythonNbd();
      requireTool("nbdcopy");
      cluster = await TestCluster.start({
        hosts: ["alpha", "bravo", "charlie"],
        config: {
          replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
          ...smallLogAreaConfig(64 * 1024),
        },
      });
      const c = cluster;
      await c.form();
      const disks = new Map<string, string>();
      for (const host of ["alpha", "bravo", "charlie"])
        disks.set(host, await makeDisk(c, host, "r0", DISK_BYTES));
      const dir = resourceDirOf(c, "alpha", "r0");
      await mkdir(dir, { recursive: true });
      await run(requireTool("mount"), ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir]);
      mountPoint = dir;
      const rpc = (host: string) => c.node(host).daemon.rpc;
      const statusOf = (host: string): Promise<HandoverStatus> =>
        rpc(host).call<HandoverStatus>("resource.status", { name: "r0" });
      await rpc("alpha").call("resource.create", { name: "r0", disk: disks.get("alpha"), frontend: "nbd" });
      for (const host of ["bravo", "charlie"]) {
        await rpc(host).call("resource.join", { name: "r0", disk: disks.get(host) });
        await waitFor(`${host} UpToDate`, async () => (await status(c, host, "r0")).diskState === "UpToDate");
      }
      // charlie pins every log file: nothing frees space on alpha.
      await rpc("charlie").call("resource.pause", { name: "r0", what: "replay" });

      const w1 = await startPatternWriter({
        uri: nbdUri(c, "alpha", "r0"),
        blocks: BLOCKS,
        depth: 8,
        seed: SEED,
        stateFile: path.join(c.baseDir, "w1.json"),
        maxWrites: 3000,
      });
      assert.equal(await w1.exited, 0, `the writer saw an error: ${w1.stderr()}`);
      const full = await statusOf("alpha");
      assert.equal(full.emergency?.active, true, JSON.stringify(full));
      // More writes that only alpha's disk (and its dirty map) holds.
      const w2 = await startPatternWriter({
        uri: nbdUri(c, "alpha", "r0"),
        blocks: BLOCKS,
        depth: 8,
        seed: SEED + 1,
        stateFile: path.join(c.baseDir, "w2.json"),
        initialState: w1.acked,
        maxWrites: 500,
      });
      assert.equal(await w2.exited, 0, `the second writer saw an error: ${w2.stderr()}`);
      assert.equal((await statusOf("alpha")).emergency?.active, true, "still in emergency mode");
      const acked = new Map([...w1.acked, ...w2.acked]);

      // The log area full to the last block (the log space monitor's level
      // switched to emergency mode with a little room left).
      await fillUp(path.join(dir, "ballast"));

      // The handover cannot complete while alpha's log area stays full.
      await assert.rejects(
        rpc("bravo").call("resource.primary", { name: "r0", timeoutMs: 3000 }),
        /timed out/,
      );
      // alpha stepped down without logging them (it fails and recovers while
      // even its small state files find no room); bravo waits for them.
      const stuck = await statusOf("alpha");
      assert.notEqual(stuck.role, "primary");
      assert.equal(stuck.emergency?.active, true, "the writes are still in no log");
      assert.notEqual((await statusOf("bravo")).role, "primary");

      // Space is back: alpha logs the gap, bravo resyncs its regions and serves.
      await run(requireTool("mount"), ["-o", "remount,size=64m", dir]);
      const serving = await waitFor(
        "bravo serving",
        async () => {
          const b = await statusOf("bravo");
          return b.role === "primary" && b.device?.uri ? b : undefined;
        },
        120_000,
      );
      assert.ok(serving);
      const gap = (await statusOf("alpha")).emergency;
      assert.equal(gap?.active, false, "alpha wrote the gap file");
      assert.ok(gap?.gapFile, "alpha names its gap file");
      assert.ok(
        c
          .node("alpha")
          .daemon.output.includes("writing the gap file for this disk's unlogged emergency-mode writes"),
        "alpha wrote it as a secondary",
      );
      const image = path.join(c.baseDir, "bravo.readback.img");
      await run(requireTool("nbdcopy"), [nbdUri(c, "bravo", "r0"), image]);
      await assertAcknowledgedPresent(image, acked, "bravo after the handover");
      console.log(
        `${acked.size} acknowledged blocks on bravo after the handover; alpha's gap file ${gap?.gapFile ?? "?"}`,
      );

      // Everybody follows bravo: the three disks end equal.
      await rpc("charlie").call("resource.resume", { name: "r0", what: "replay" });
      for (const host of ["alpha", "charlie"]) {
        await waitCaughtUp(c, host, "bravo", "r0", 120_000);
        await waitFor(`${host} UpToDate`, async () => (await status(c, host, "r0")).diskState === "UpToDate");
      }
      const bravoDigest = await sha256File(disks.get("bravo") as string, DISK_BYTES);
      for (const host of ["alpha", "charlie"]) {
        assert.equal(await sha256File(disks.get(host) as string, DISK_BYTES), bravoDigest, `${host}'s disk`);
      }
    }),
  );
});

/**
 * Emergency mode with real daemons, a real small filesystem and a real NBD
 * client (libnbd's pattern writer, nbdcopy): the primary's log area fills
 * while a secondary is attached; the writer sees no error (writes go
 * straight to the disk, their regions into the dirty map); the primary is
 * killed (-9) in the middle of emergency-mode writes and restarted once
 * space is back; nothing acknowledged is lost, the dirty map survived, and
 * the secondary resyncs only the dirty regions, then replays on to a disk
 * equal to the primary's.
 *
 * Sizes: alpha's resource directory (logs, state files, the dirty map) is
 * a tmpfs of 6 MiB, remounted to 64 MiB for the restart; disks are 64 MiB
 * files outside it. Logs rotate at 1 MiB, preallocated in 256 KiB steps;
 * the dirty map has 64 KiB regions. bravo's replay is paused while alpha
 * fills up, so no log file can be deleted to make room. Writer 1 does
 * 3,000 random 4 KiB writes over the first 2,048 blocks (8 MiB; ~12 MiB of
 * log: more than the tmpfs holds);
 * writer 2 writes in emergency mode and kills alpha at its 400th
 * acknowledgement. Bounds checked: every acknowledged write is on alpha's
 * disk after the restart; the bytes the secondary copies stay below the
 * dirty bytes (and far below the disk); both disks end equal.
 *
 * The second case: one daemon, r0's log area a 6 MiB tmpfs, 6,000 writes
 * (~25 MiB of log) with the log space monitor deleting replayed files: r0
 * enters and leaves emergency mode under the writer (each switch stalls it
 * less than 2 s), while r1 on the same daemon (logs elsewhere) takes 3,000
 * writes; both verified through nbdcopy.
 *
 * Runs as root (mount). MARSD_EMERGENCY_SEED replays the writers' choices.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitFor, type DaemonProcess } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { makeDisk, nbdUri, resourceDirOf, sha256File, status, waitCaughtUp } from "../helpers/replication.js";
import { createVolume, startNode } from "../helpers/single-node.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { requirePythonNbd, requireTool, run } from "../helpers/tools.js";
import { smallLogAreaConfig } from "../helpers/emergency-config.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";

const SEED = Number(process.env.MARSD_EMERGENCY_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 64 * MIB;
const BLOCKS = 2048;
const GRANULARITY_BYTES = 64 * 1024;

interface EmergencyStatus {
  emergency?: {
    active: boolean;
    afterFile?: string;
    gapFile?: string;
    dirtyBytes?: number;
    membersNeedingResync?: Array<{ host: string; dirtyBytes: number }>;
  };
  device?: { uri?: string };
  state: string;
}

describe(`emergency mode: a full log area on the primary (seed ${SEED})`, { timeout: 240_000 }, () => {
  let cluster: TestCluster | undefined;
  let mountPoint: string | undefined;
  let single: DaemonProcess | undefined;
  let singleMount: string | undefined;
  after(async () => {
    // The daemons first (they hold files on the tmpfs), then the mounts.
    await cluster?.cleanup().catch(() => undefined);
    await single?.cleanup().catch(() => undefined);
    if (mountPoint) await run(requireTool("umount"), [mountPoint]).catch(() => undefined);
    if (singleMount) await run(requireTool("umount"), [singleMount]).catch(() => undefined);
  });

  it(
    "keeps the writer going, survives kill -9, and the secondary resyncs only the dirty regions",
    explainOnFailure(async () => {
      await requirePythonNbd();
      requireTool("nbdcopy");
      cluster = await TestCluster.start({
        hosts: ["alpha", "bravo"],
        // ENOSPC starts emergency mode (the monitor's levels would rather see
        // 1 MiB free); it ends once the remount leaves 1 MiB + 10 % free.
        config: {
          replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
          ...smallLogAreaConfig(GRANULARITY_BYTES),
        },
      });
      await cluster.form();
      const alpha = cluster.node("alpha").daemon;
      const alphaDisk = await makeDisk(cluster, "alpha", "r0", DISK_BYTES);
      const bravoDisk = await makeDisk(cluster, "bravo", "r0", DISK_BYTES);
      const dir = resourceDirOf(cluster, "alpha", "r0");
      await mkdir(dir, { recursive: true });
      await run(requireTool("mount"), ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir]);
      mountPoint = dir;
      await alpha.rpc.call("resource.create", { name: "r0", disk: alphaDisk, frontend: "nbd" });
      await cluster.node("bravo").daemon.rpc.call("resource.join", { name: "r0", disk: bravoDisk });
      await waitFor(
        "bravo UpToDate",
        async () => (await status(cluster!, "bravo", "r0")).diskState === "UpToDate",
      );
      // Replay paused: bravo pins every log file, so nothing frees space on alpha.
      await cluster.node("bravo").daemon.rpc.call("resource.pause", { name: "r0", what: "replay" });
      const syncedBefore =
        (await cluster
          .node("bravo")
          .daemon.metric("marsd_replication_sync_transferred_bytes_total", 'resource="r0"')) ?? 0;
      const alphaStatus = (): Promise<EmergencyStatus> =>
        alpha.rpc.call<EmergencyStatus>("resource.status", { name: "r0" });

      // Writer 1 writes more log than the tmpfs holds: no error reaches it.
      const w1 = await startPatternWriter({
        uri: nbdUri(cluster, "alpha", "r0"),
        blocks: BLOCKS,
        depth: 8,
        seed: SEED,
        stateFile: path.join(cluster.baseDir, "w1.json"),
        maxWrites: 3000,
      });
      assert.equal(await w1.exited, 0, `the writer saw an error: ${w1.stderr()}`);
      assert.equal(w1.acks, 3000);
      const during = await alphaStatus();
      assert.equal(during.emergency?.active, true, JSON.stringify(during));
      assert.equal(during.state, "running");
      assert.ok((during.emergency?.dirtyBytes ?? 0) > 0, "the dirty map holds the regions written");
      assert.ok(
        ((await cluster
          .node("alpha")
          .daemon.metric("marsd_resource_emergency_entries_total", 'resource="r0"')) ?? 0) >= 1,
      );
      assert.equal(
        (await cluster.node("alpha").daemon.metric("marsd_resource_failures_total", 'resource="r0"')) ?? 0,
        0,
      );
      await waitFor(
        "bravo Outdated while alpha writes without logging",
        async () => (await status(cluster!, "bravo", "r0")).diskState === "Outdated",
      );
      const entered = alpha.output
        .split("\n")
        .find((l) => l.includes("emergency mode: writes go straight to the disk"));
      const stallMs = entered ? (JSON.parse(entered) as { stallMs?: number }).stallMs : undefined;
      console.log(`entered emergency mode; writes waited ${String(stallMs)} ms for the switch`);
      assert.ok(
        stallMs !== undefined && stallMs < 2000,
        `the switch to direct writes took ${String(stallMs)} ms`,
      );

      // Writer 2 writes in emergency mode; alpha is killed right behind its 400th acknowledgement.
      const w2 = await startPatternWriter({
        uri: nbdUri(cluster, "alpha", "r0"),
        blocks: BLOCKS,
        depth: 8,
        seed: SEED + 1,
        stateFile: path.join(cluster.baseDir, "w2.json"),
        initialState: w1.acked,
        killPid: alpha.child?.pid ?? 0,
        killAtAck: 400,
      });
      await w2.exited;
      await alpha.waitExit();
      assert.ok(w2.acks >= 400, `writer 2 saw ${w2.acks} acknowledgements`);
      const dirtyBeforeKill = during.emergency?.dirtyBytes ?? 0;

      // Space is back; alpha restarts, still designated: it takes over after the gap.
      await run(requireTool("mount"), ["-o", "remount,size=64m", dir]);
      await alpha.relaunch();
      const back = await waitFor("alpha serving again", async () => {
        const s = await alphaStatus();
        return s.state === "running" && s.device?.uri ? s : undefined;
      });
      assert.equal(back.emergency?.active, false, "logging again after the restart");
      assert.ok(back.emergency?.gapFile, "a gap file was started");
      assert.ok((back.emergency?.dirtyBytes ?? 0) >= dirtyBeforeKill, "the dirty map survived the kill");
      const acked = new Map([...w1.acked, ...w2.acked]);
      const image = path.join(cluster.baseDir, "alpha.readback.img");
      await run(requireTool("nbdcopy"), [nbdUri(cluster, "alpha", "r0"), image]);
      await assertAcknowledgedPresent(image, acked, "alpha after the restart");

      // bravo replays up to the gap, resyncs the dirty regions, then replays on; both disks end equal.
      await cluster.node("bravo").daemon.rpc.call("resource.resume", { name: "r0", what: "replay" });
      await waitCaughtUp(cluster, "bravo", "alpha", "r0", 120_000);
      await waitFor(
        "bravo UpToDate",
        async () => (await status(cluster!, "bravo", "r0")).diskState === "UpToDate",
      );
      const copied =
        ((await cluster
          .node("bravo")
          .daemon.metric("marsd_replication_sync_transferred_bytes_total", 'resource="r0"')) ?? 0) -
        syncedBefore;
      const dirty = back.emergency?.dirtyBytes ?? 0;
      console.log(
        `region resync: ${copied} bytes copied of ${dirty} dirty bytes, disk ${DISK_BYTES} bytes ` +
          `(${((100 * copied) / DISK_BYTES).toFixed(1)} % of the disk); ${acked.size} blocks checked`,
      );
      // One region resync per gap bravo's replay reached: alpha may have left and entered
      // emergency mode again before the kill (each exit starts a gap file), and the map
      // holds the regions of every gap, so each resync copies at most the dirty bytes.
      const resyncs = cluster
        .node("bravo")
        .daemon.output.split("\n")
        .filter((l) => l.includes('"msg":"a gap in the log: resync before replaying on"'))
        .map((l) => (JSON.parse(l) as { totalBytes: number }).totalBytes);
      console.log(`bravo's region resyncs (bytes each): ${resyncs.join(", ")}`);
      assert.ok(resyncs.length >= 1, "bravo resynced at the gap");
      for (const total of resyncs) {
        assert.ok(
          total <= Math.max(dirty, MIB),
          `a resync of ${total} bytes, dirty ${dirty}: only dirty regions`,
        );
      }
      assert.ok(copied > 0, "the secondary copied the dirty regions");
      assert.ok(copied <= resyncs.length * Math.max(dirty, MIB), `copied ${copied} bytes, dirty ${dirty}`);
      assert.ok(dirty < DISK_BYTES / 2, "a region resync, not a full sync");
      assert.equal(await sha256File(alphaDisk, DISK_BYTES), await sha256File(bravoDisk, DISK_BYTES));
      await waitFor(
        "the dirty map cleared once bravo passed the gap",
        async () => (await alphaStatus()).emergency === undefined,
      );
    }),
  );

  it("enters and leaves emergency mode under a writer that never sees an error, while r1 serves on", async () => {
    await requirePythonNbd();
    requireTool("nbdcopy");
    const config = path.join(os.tmpdir(), `marsd-emergency-${process.pid}.json`);
    await writeFile(
      config,
      // Below 1 MiB free: emergency mode, and the monitor deletes replayed logs; back above 1.6 MiB: logging.
      JSON.stringify(smallLogAreaConfig(GRANULARITY_BYTES)),
    );
    single = await startNode({ extraArgs: ["--config", config] });
    const dir = path.join(single.dataDir, "resources", "r0");
    await mkdir(dir, { recursive: true });
    await run(requireTool("mount"), ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir]);
    singleMount = dir;
    const r0 = await createVolume(single, "r0", DISK_BYTES);
    // r1's log area is not on the tmpfs: it serves on while r0 switches back and forth.
    const r1 = await createVolume(single, "r1", DISK_BYTES);
    const writer = await startPatternWriter({
      uri: r0.uri,
      blocks: BLOCKS,
      depth: 8,
      seed: SEED + 2,
      stateFile: path.join(single.baseDir, "w3.json"),
      maxWrites: 6000,
    });
    const other = await startPatternWriter({
      uri: r1.uri,
      blocks: BLOCKS,
      depth: 8,
      seed: SEED + 3,
      stateFile: path.join(single.baseDir, "w4.json"),
      maxWrites: 3000,
    });
    assert.equal(await writer.exited, 0, `the writer saw an error: ${writer.stderr()}`);
    // The writer stops quietly at the first write that fails: say what the daemon said then.
    const problems = (): string =>
      single!.output
        .split("\n")
        .filter((l) => /"level":"(warn|error)"/.test(l) && !l.includes("ublk"))
        .slice(-20)
        .join("\n");
    assert.equal(writer.acks, 6000, `r0's writer stopped early; the daemon's warnings:\n${problems()}`);
    assert.equal(await other.exited, 0, `r1's writer saw an error: ${other.stderr()}`);
    assert.equal(other.acks, 3000);
    const stalls = (msg: string): number[] =>
      single!.output
        .split("\n")
        .filter((l) => l.includes(`"msg":"${msg}"`))
        .map((l) => (JSON.parse(l) as { stallMs: number }).stallMs);
    const entering = stalls("emergency mode: writes go straight to the disk");
    const leaving = stalls("emergency mode over: logging again; members resync the dirty regions");
    console.log(
      `6000 writes (~25 MiB of log through a 6 MiB log area): ${entering.length} entries, ` +
        `${leaving.length} exits; writes waited at most ${Math.max(...entering)} ms entering, ` +
        `${Math.max(...leaving)} ms leaving (entering: ${entering.join(", ")}; leaving: ${leaving.join(", ")})`,
    );
    assert.ok(entering.length >= 1 && leaving.length >= 1, "it entered and left emergency mode");
    assert.ok(Math.max(...entering, ...leaving) < 2000, "no switch stalled the writer for 2 s");
    for (const [name, uri, acked] of [
      ["r0", r0.uri, writer.acked],
      ["r1", r1.uri, other.acked],
    ] as const) {
      const image = path.join(single.baseDir, `${name}.readback.img`);
      await run(requireTool("nbdcopy"), [uri, image]);
      await assertAcknowledgedPresent(image, acked, name);
    }
    const r1Status = await single.rpc.call<{ emergency?: unknown; state: string }>("resource.status", {
      name: "r1",
    });
    assert.equal(r1Status.state, "running");
    assert.equal(r1Status.emergency, undefined, "r1 never left its log");
  });
});

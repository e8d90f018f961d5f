/**
 * Resolving a split brain with real daemons: alpha (primary) is cut off and
 * keeps writing; bravo takes over by force and writes; the link heals and
 * both see the fork. resource.resolveSplitBrain {winner: bravo} on every
 * member: bravo keeps its history, alpha rolls back.
 *
 * 1. Exact: alpha copies from bravo only the regions either side wrote
 *    since the fork (both sides' writes fall in the first 8 MiB of a
 *    128 MiB disk of random data), far below the disk size; the disks end
 *    equal and every write bravo acknowledged is on alpha. Log deletion
 *    asked during the split brain (twice at once on each node) deletes
 *    nothing from the fork on and fails nothing.
 * 2. Fallback: alpha ran long enough alone to cut bravo loose and delete
 *    its own files from the fork on (lagging limit 1 MiB, log deletion
 *    every second); the rollback then compares the whole disk by digests
 *    (the sync covers the whole disk), still sending only what differs.
 *
 * The pattern writers' seeds derive from MARSD_SPLIT_SEED (printed).
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { parseLogName } from "../../src/log/log-name.js";
import { waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import {
  nbdUri,
  resourceDirOf,
  sha256File,
  startReplicated,
  status,
  waitUntil,
  type ReplicatedSetup,
} from "../helpers/replication.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { assertAcknowledgedPresent } from "../helpers/versioned-blocks.js";

const SEED = Number(process.env.MARSD_SPLIT_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const DISK_BYTES = 128 * MIB;
/** Both sides write 4 KiB blocks among the first 2,048: the first 8 MiB. */
const BLOCKS = 2048;
const WRITTEN_SPAN_BYTES = 8 * MIB;
const SYNC = "marsd_replication_sync_transferred_bytes_total";

async function logFileNumbers(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .map((n) => parseLogName(n)?.fileNumber)
    .filter((n): n is number => n !== undefined);
}

/** Cuts alpha off while it writes, makes bravo primary by force, bravo writes, heals: a split brain. */
async function splitBrain(
  setup: ReplicatedSetup,
  seed: number,
  alphaWrites: number,
  whileCutOff: () => Promise<void> = () => Promise.resolve(),
): Promise<Map<number, number>> {
  const { cluster } = setup;
  cluster.partition("alpha");
  const lost = await startPatternWriter({
    uri: nbdUri(cluster, "alpha", "r0"),
    blocks: BLOCKS,
    depth: 4,
    seed,
    stateFile: path.join(cluster.baseDir, `lost-${seed}.json`),
    maxWrites: alphaWrites,
  });
  assert.equal(await lost.exited, 0, lost.stderr());
  await whileCutOff();
  assert.deepEqual(
    await cluster.node("bravo").daemon.rpc.call("resource.primary", { name: "r0", force: true }),
    { changed: true },
  );
  const survivor = await startPatternWriter({
    uri: nbdUri(cluster, "bravo", "r0"),
    blocks: BLOCKS,
    depth: 4,
    seed: seed + 1,
    stateFile: path.join(cluster.baseDir, `survivor-${seed}.json`),
    maxWrites: 300,
  });
  assert.equal(await survivor.exited, 0, survivor.stderr());
  cluster.healAll();
  for (const host of ["alpha", "bravo"]) await waitUntil(cluster, host, "r0", "splitbrain", 30_000);
  await waitUntil(cluster, "alpha", "r0", "secondary", 30_000);
  return survivor.acked;
}

/** Resolves for bravo on both nodes; returns what alpha copied and the size of its sync. */
async function resolve(setup: ReplicatedSetup): Promise<{ copiedBytes: number; syncTotalBytes: number }> {
  const { cluster } = setup;
  const a = cluster.node("alpha").daemon;
  const b = cluster.node("bravo").daemon;
  const refused = await a.rpc
    .call("resource.resolveSplitBrain", { name: "r0", winner: "alpha" })
    .catch((err: Error) => err);
  assert.ok(
    refused instanceof Error && /designated primary/.test(refused.message),
    "the winner must be primary",
  );
  const before = (await a.metric(SYNC, 'resource="r0"')) ?? 0;
  assert.deepEqual(await b.rpc.call("resource.resolveSplitBrain", { name: "r0", winner: "bravo" }), {
    changed: false,
  });
  await a.rpc.call("resource.pause", { name: "r0", what: "sync" });
  assert.deepEqual(await a.rpc.call("resource.resolveSplitBrain", { name: "r0", winner: "bravo" }), {
    changed: true,
  });
  const syncing = (await status(cluster, "alpha", "r0")) as unknown as { sync?: { totalBytes: number } };
  const syncTotalBytes = syncing.sync?.totalBytes ?? -1;
  // Once rolled back, nothing is left to do there.
  assert.deepEqual(await a.rpc.call("resource.resolveSplitBrain", { name: "r0", winner: "bravo" }), {
    changed: false,
  });
  await a.rpc.call("resource.resume", { name: "r0", what: "sync" });
  await waitUntil(cluster, "alpha", "r0", "uptodate", 120_000);
  for (const host of ["alpha", "bravo"]) {
    await waitFor(
      `${host} to see no split brain`,
      async () => !(await status(cluster, host, "r0")).splitBrain.detected,
    );
  }
  return { copiedBytes: ((await a.metric(SYNC, 'resource="r0"')) ?? 0) - before, syncTotalBytes };
}

/** alpha's disk equals bravo's and holds every write bravo acknowledged. */
async function assertFollowsWinner(setup: ReplicatedSetup, acked: Map<number, number>): Promise<void> {
  const [diskA, diskB] = [setup.disks.get("alpha") as string, setup.disks.get("bravo") as string];
  assert.equal(await sha256File(diskA, DISK_BYTES), await sha256File(diskB, DISK_BYTES));
  await assertAcknowledgedPresent(diskA, acked, "bravo's writes are on alpha");
}

describe(`split brain resolution (seed ${SEED}, MARSD_SPLIT_SEED replays)`, { timeout: 300_000 }, () => {
  let setup: ReplicatedSetup | undefined;
  after(async () => setup?.cluster.cleanup());

  it(
    "the loser copies only the regions either side wrote since the fork",
    { timeout: 150_000 },
    explainOnFailure(async () => {
      await requirePythonNbd();
      setup = await startReplicated({
        hosts: ["alpha", "bravo"],
        sizeBytes: DISK_BYTES,
        seedBytes: DISK_BYTES,
        // Several files on alpha's side of the fork, so that log deletion has some to choose from.
        config: { log: { rotateBytes: 1 * MIB } },
      });
      const acked = await splitBrain(setup, SEED, 1200);
      // Log deletion during the split brain (the job, an operator; twice at once) keeps
      // both sides' files from the fork on: positions on two branches are not comparable.
      for (const host of ["alpha", "bravo"]) {
        const rpc = setup.cluster.node(host).daemon.rpc;
        await Promise.all([0, 1].map(() => rpc.call("resource.logDelete", { name: "r0" })));
        assert.equal((await status(setup.cluster, host, "r0")).state, "running", `${host} still runs`);
      }
      const { copiedBytes, syncTotalBytes } = await resolve(setup);
      assert.ok(
        syncTotalBytes > 0 && syncTotalBytes <= WRITTEN_SPAN_BYTES,
        `a region resync of ${syncTotalBytes} bytes`,
      );
      assert.ok(copiedBytes <= WRITTEN_SPAN_BYTES, `alpha copied ${copiedBytes} bytes`);
      await assertFollowsWinner(setup, acked);
      console.log(
        `exact: alpha copied ${(copiedBytes / MIB).toFixed(1)} MiB of a ${DISK_BYTES / MIB} MiB disk (${((copiedBytes / DISK_BYTES) * 100).toFixed(1)} %), a sync of ${(syncTotalBytes / MIB).toFixed(1)} MiB of regions`,
      );
      await setup.cluster.cleanup();
      setup = undefined;
    }),
  );

  it(
    "with the loser's logs since the fork deleted, it compares the whole disk and still sends only what differs",
    { timeout: 150_000 },
    explainOnFailure(async () => {
      await requirePythonNbd();
      setup = await startReplicated({
        hosts: ["alpha", "bravo"],
        sizeBytes: DISK_BYTES,
        seedBytes: DISK_BYTES,
        config: {
          log: { rotateBytes: 1 * MIB },
          jobs: { logDelete: "* * * * * *" },
          lagging: {
            maxLagBytes: 64 * 1024 ** 3,
            maxLagSeconds: 86_400,
            resources: { r0: { maxLagBytes: MIB } },
          },
        },
      });
      const s = setup;
      const bravoFile =
        parseLogName((await status(s.cluster, "bravo", "r0")).log.applied?.file ?? "")?.fileNumber ?? 0;
      const alphaDir = resourceDirOf(s.cluster, "alpha", "r0");
      // alpha cuts bravo loose (it is behind by more than 1 MiB) and deletes every file bravo lacks.
      const acked = await splitBrain(s, SEED + 10, 700, async () => {
        await waitFor(
          "alpha to delete its files from the fork on",
          async () => (await logFileNumbers(alphaDir)).every((n) => n >= bravoFile + 2),
          60_000,
          100,
        );
      });
      const { copiedBytes, syncTotalBytes } = await resolve(s);
      assert.equal(syncTotalBytes, DISK_BYTES, "the whole disk is compared");
      assert.ok(copiedBytes <= WRITTEN_SPAN_BYTES, `alpha copied ${copiedBytes} bytes`);
      await assertFollowsWinner(s, acked);
      console.log(
        `fallback: alpha compared all ${DISK_BYTES / MIB} MiB and copied ${(copiedBytes / MIB).toFixed(1)} MiB (${((copiedBytes / DISK_BYTES) * 100).toFixed(1)} %)`,
      );
    }),
  );
});

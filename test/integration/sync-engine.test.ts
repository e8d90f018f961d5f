/**
 * The sync engine with real daemons: an interrupted sync resumes where it
 * stood (asserted from the bytes sent, not only from the result), and
 * bandwidth limits hold.
 *
 * 1. Resume: alpha's 160 MiB disk holds seeded random data, bravo's is
 *    zero, so every chunk moves. Syncs are limited to 16 MiB/s with 8 MiB
 *    in flight (config), so the copy takes ten seconds. Mid-sync: every
 *    connection of the link is reset; bravo is killed (-9) and restarted;
 *    alpha is killed (-9) and restarted. The bytes bravo receives are
 *    counted per incarnation: before its kill they stay within what it
 *    had copied plus what was in flight at each interruption, and after
 *    its restart within what was left from its saved progress plus the
 *    same slack. Starting over would send the whole disk again.
 * 2. Limits: a sync limited at runtime to 8 MiB/s, then 16 MiB/s, and a
 *    fetch limited to 8 MiB/s, each measured over ten seconds from the
 *    receiver's byte counters: within 10 %.
 *
 * MARSD_SYNC_SEED replays the disk contents and the kill moments.
 */
import assert from "node:assert/strict";
import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { systemClock } from "../../src/platform/clock.js";
import { seededRandom } from "../../src/platform/random.js";
import { waitFor } from "../helpers/daemon-process.js";
import { makeDisk, resourceDirOf, sha256File, status, waitUntil } from "../helpers/replication.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { prng } from "../helpers/prng.js";
import { requireTool, run } from "../helpers/tools.js";

const SEED = Number(process.env.MARSD_SYNC_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const IN_FLIGHT_BYTES = 8 * MIB;
/** Redone at one interruption at most: the windows in flight, and those done beyond the cursor. */
const REDO_BYTES = 2 * IN_FLIGHT_BYTES;

async function fillSeeded(file: string, sizeBytes: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const handle = await open(file, "r+");
  try {
    for (let at = 0; at < sizeBytes; at += 16 * MIB)
      await handle.write(random.bytes(16 * MIB), 0, 16 * MIB, at);
  } finally {
    await handle.close();
  }
}

/** alpha and bravo formed, r0 created on alpha over `diskBytes` of seeded data; bravo's disk zero, not joined yet. */
async function pairWithR0(
  diskBytes: number,
  seed: number,
  config: Record<string, unknown> = {},
): Promise<{ cluster: TestCluster; diskA: string; diskB: string }> {
  const cluster = await TestCluster.start({
    hosts: ["alpha", "bravo"],
    config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 }, ...config },
  });
  await cluster.form();
  const diskA = await makeDisk(cluster, "alpha", "r0", diskBytes);
  const diskB = await makeDisk(cluster, "bravo", "r0", diskBytes);
  await fillSeeded(diskA, diskBytes, seed);
  await cluster
    .node("alpha")
    .daemon.rpc.call("resource.create", { name: "r0", disk: diskA, frontend: "nbd" });
  return { cluster, diskA, diskB };
}

describe(`sync engine (seed ${SEED}, MARSD_SYNC_SEED replays)`, { timeout: 300_000 }, () => {
  let cluster: TestCluster | undefined;
  let diskA = "";
  let diskB = "";
  after(async () => cluster?.cleanup());

  it(
    "a link reset and a kill -9 of either side mid-sync resume without starting over",
    { timeout: 180_000 },
    explainOnFailure(async () => {
      const random = prng(SEED);
      const DISK_BYTES = 160 * MIB;
      ({ cluster, diskA, diskB } = await pairWithR0(DISK_BYTES, SEED, {
        bandwidth: { syncBytesPerSec: 16 * MIB, fetchBytesPerSec: 0 },
        sync: { maxConcurrent: 2, maxInFlightBytes: IN_FLIGHT_BYTES },
      }));
      const a = () => cluster!.node("alpha").daemon;
      const b = () => cluster!.node("bravo").daemon;
      await b().rpc.call("resource.join", { name: "r0", disk: diskB });
      const syncFile = path.join(resourceDirOf(cluster, "bravo", "r0"), "sync.json");
      const saved = async () =>
        JSON.parse(await readFile(syncFile, "utf8").catch(() => "{}")) as {
          state?: string;
          doneBytes?: number;
        };
      const transferred = async () =>
        (await b().metric("marsd_replication_sync_transferred_bytes_total", 'resource="r0"')) ?? 0;
      const doneNow = async () =>
        (await status(cluster!, "bravo", "r0")) as unknown as { sync?: { doneBytes: number } };
      const waitSaved = async (atLeast: number, what: string) =>
        waitFor(
          `bravo's saved sync progress to reach ${atLeast} bytes (${what})`,
          async () => {
            const s = await saved();
            if (s.state === "done") throw new Error(`the sync ended before ${what}`);
            return (s.doneBytes ?? 0) >= atLeast ? s : undefined;
          },
          60_000,
          20,
        );

      // A reset of every connection of the link, both ways.
      await waitSaved(16 * MIB + Math.floor(random() * 16 * MIB), "the link reset");
      cluster.proxy("bravo", "alpha").resetAll();
      cluster.proxy("alpha", "bravo").resetAll();

      // bravo killed: before it, what it received is what it copied plus the redone windows.
      await waitSaved(48 * MIB + Math.floor(random() * 16 * MIB), "bravo's kill");
      const copiedBeforeKill = (await doneNow()).sync?.doneBytes ?? 0;
      const sentBeforeKill = await transferred();
      await b().kill9();
      const resumeFrom = (await saved()).doneBytes ?? 0;
      assert.ok(
        sentBeforeKill <= copiedBeforeKill + 2 * REDO_BYTES,
        `before bravo's kill it received ${sentBeforeKill} bytes for ${copiedBeforeKill} copied (a reset costs at most ${REDO_BYTES})`,
      );
      await b().relaunch();

      // alpha killed mid-sync: bravo keeps its progress and retries until alpha is back.
      await waitSaved(resumeFrom + 32 * MIB + Math.floor(random() * 16 * MIB), "alpha's kill");
      await a().kill9();
      await a().relaunch();
      await waitUntil(cluster, "bravo", "r0", "uptodate", 120_000);
      const sentAfterRestart = await transferred();
      const left = DISK_BYTES - resumeFrom;
      assert.ok(
        sentAfterRestart <= left + REDO_BYTES,
        `after its restart bravo received ${sentAfterRestart} bytes; ${left} were left from its saved ${resumeFrom} (+${REDO_BYTES} for alpha's kill)`,
      );
      assert.ok(
        sentAfterRestart >= left - 2 * MIB,
        `bravo copied what was left: ${sentAfterRestart} of ${left}`,
      );
      assert.equal(await sha256File(diskB, DISK_BYTES), await sha256File(diskA, DISK_BYTES));
      console.log(
        `resume: link reset, then bravo killed having received ${(sentBeforeKill / MIB).toFixed(1)} MiB for ${(copiedBeforeKill / MIB).toFixed(1)} MiB copied, resumed from ${(resumeFrom / MIB).toFixed(1)} MiB and received ${(sentAfterRestart / MIB).toFixed(1)} MiB for the ${(left / MIB).toFixed(1)} MiB left`,
      );
      await cluster.cleanup();
      cluster = undefined;
    }),
  );

  it(
    "invalidate: a secondary with damaged blocks copies only the chunks that differ",
    { timeout: 120_000 },
    explainOnFailure(async () => {
      const random = prng(SEED + 3);
      const DISK_BYTES = 96 * MIB;
      ({ cluster, diskA, diskB } = await pairWithR0(DISK_BYTES, SEED + 3));
      const a = cluster.node("alpha").daemon;
      const b = cluster.node("bravo").daemon;
      await b.rpc.call("resource.join", { name: "r0", disk: diskB });
      await waitUntil(cluster, "bravo", "r0", "uptodate", 60_000);
      // Many requests in flight share a pass's abort signal: no warning about it in the log.
      assert.doesNotMatch(b.output, /MaxListenersExceededWarning/);
      const refused = await a.rpc.call("resource.invalidate", { name: "r0" }).catch((err: Error) => err);
      assert.ok(
        refused instanceof Error && /primary/.test(refused.message),
        "invalidate on the primary is refused",
      );

      // Three damaged 4 KiB blocks in three different 1 MiB chunks, behind the daemon's back.
      const chunks = new Set<number>();
      while (chunks.size < 3) chunks.add(Math.floor(random() * (DISK_BYTES / MIB)));
      const handle = await open(diskB, "r+");
      for (const chunk of chunks) {
        const at = chunk * MIB + Math.floor(random() * 256) * 4096;
        await handle.write(Buffer.alloc(4096, 0xee), 0, 4096, at);
      }
      await handle.close();
      assert.notEqual(await sha256File(diskB, DISK_BYTES), await sha256File(diskA, DISK_BYTES));

      const SYNC = "marsd_replication_sync_transferred_bytes_total";
      const before = (await b.metric(SYNC, 'resource="r0"')) ?? 0;
      await b.rpc.call("resource.pause", { name: "r0", what: "sync" });
      assert.equal(
        (await b.rpc.call<{ changed: boolean }>("resource.invalidate", { name: "r0" })).changed,
        true,
      );
      const paused = await status(cluster, "bravo", "r0");
      assert.equal(paused.consistent, false, "an invalidated replica is not consistent");
      assert.equal(paused.replState, "PausedSync");
      // A second call while that sync is under way changes nothing.
      assert.equal(
        (await b.rpc.call<{ changed: boolean }>("resource.invalidate", { name: "r0" })).changed,
        false,
      );
      await b.rpc.call("resource.resume", { name: "r0", what: "sync" });
      await waitUntil(cluster, "bravo", "r0", "uptodate", 60_000);
      const copied = ((await b.metric(SYNC, 'resource="r0"')) ?? 0) - before;
      assert.equal(copied, 3 * MIB, `bravo copied ${copied} bytes for three damaged chunks`);
      assert.equal(await sha256File(diskB, DISK_BYTES), await sha256File(diskA, DISK_BYTES));
      await cluster.cleanup();
      cluster = undefined;
    }),
  );

  it(
    "sync and fetch bandwidth limits hold within 10 % over 10 s, and change at runtime",
    { timeout: 180_000 },
    explainOnFailure(async () => {
      const DISK_BYTES = 448 * MIB;
      ({ cluster, diskA, diskB } = await pairWithR0(DISK_BYTES, SEED + 1));
      const a = cluster.node("alpha").daemon;
      const b = cluster.node("bravo").daemon;
      const set = await b.rpc
        .call<{ changed: boolean; resources: Record<string, { sync: number }> }>("node.setBandwidth", {
          resource: "r0",
          syncBytesPerSec: 8 * MIB,
        })
        .catch((err: Error) => err);
      // r0 does not exist on bravo before it joins: a limit for it is refused as a likely typo.
      assert.ok(
        set instanceof Error && /does not exist/.test(set.message),
        set instanceof Error ? set.message : JSON.stringify(set),
      );
      const limited = await b.rpc.call<{ changed: boolean }>("node.setBandwidth", {
        syncBytesPerSec: 8 * MIB,
      });
      assert.equal(limited.changed, true);
      assert.equal(
        (await b.rpc.call<{ changed: boolean }>("node.setBandwidth", { syncBytesPerSec: 8 * MIB })).changed,
        false,
      );
      await b.rpc.call("resource.join", { name: "r0", disk: diskB });
      const counter = async (name: string) => (await b.metric(name, 'resource="r0"')) ?? 0;
      const rateOver = async (name: string, seconds: number): Promise<number> => {
        const start = await counter(name);
        const startedMs = performance.now();
        // The measurement interval itself (not a wait for a condition).
        await systemClock.sleep(seconds * 1000);
        return ((await counter(name)) - start) / ((performance.now() - startedMs) / 1000);
      };
      const SYNC = "marsd_replication_sync_transferred_bytes_total";
      await waitFor("the sync to move", async () => (await counter(SYNC)) >= 8 * MIB, 30_000, 50);
      const at8 = await rateOver(SYNC, 10);
      // Replay does not wait for the whole sync: a write made now on alpha is applied on bravo while it still syncs.
      const nbdcopy = requireTool("nbdcopy");
      const early = path.join(cluster.baseDir, "early.bin");
      await writeFile(early, "");
      await fillSeeded(early, 4 * MIB, SEED + 4);
      await run(nbdcopy, [early, a.nbdUri("r0")], { timeoutMs: 60_000 });
      const durable = (
        await a.rpc.call<{ log: { durable?: { file: string; offsetBytes: number } } }>("resource.status", {
          name: "r0",
        })
      ).log.durable;
      assert.ok(durable, "alpha reports its durable position");
      const appliedDuringSync = await waitFor(
        "bravo to apply alpha's new writes during its sync",
        async () => {
          const st = await status(cluster!, "bravo", "r0");
          const applied = st.log.applied;
          if (!applied) return undefined;
          const reached =
            applied.file > durable.file ||
            (applied.file === durable.file && applied.offsetBytes >= durable.offsetBytes);
          return reached ? st : undefined;
        },
        30_000,
        100,
      );
      assert.equal(appliedDuringSync.replState, "Syncing", "bravo applied them before its sync ended");
      // The resource's own limit is lower than the node's: it applies.
      await b.rpc.call("node.setBandwidth", { syncBytesPerSec: 64 * MIB });
      await b.rpc.call("node.setBandwidth", { resource: "r0", syncBytesPerSec: 16 * MIB });
      // What was paid at the old rate drains first.
      const changedAt = await counter(SYNC);
      await waitFor(
        "16 MiB more at the new rate",
        async () => (await counter(SYNC)) >= changedAt + 16 * MIB,
        30_000,
        50,
      );
      const at16 = await rateOver(SYNC, 10);
      assert.ok(
        Math.abs(at8 / (8 * MIB) - 1) <= 0.1,
        `sync at 8 MiB/s limit: ${(at8 / MIB).toFixed(2)} MiB/s`,
      );
      assert.ok(
        Math.abs(at16 / (16 * MIB) - 1) <= 0.1,
        `sync at 16 MiB/s limit: ${(at16 / MIB).toFixed(2)} MiB/s`,
      );
      const metricLimit = await b.metric("marsd_bandwidth_limit_bytes_per_second", 'kind="sync",scope="r0"');
      assert.equal(metricLimit, 16 * MIB);
      assert.ok(
        ((await b.metric("marsd_bandwidth_throttled_seconds_total", 'kind="sync",resource="r0"')) ?? 0) > 1,
      );
      await b.rpc.call("node.setBandwidth", { resource: "r0", syncBytesPerSec: 0 });
      await b.rpc.call("node.setBandwidth", { syncBytesPerSec: 0 });
      await waitUntil(cluster, "bravo", "r0", "uptodate", 120_000);

      // Fetch: logs written while bravo's fetch is paused, then fetched at 8 MiB/s.
      await b.rpc.call("resource.pause", { name: "r0", what: "fetch" });
      const data = path.join(cluster.baseDir, "data.bin");
      await writeFile(data, "");
      await fillSeeded(data, 160 * MIB, SEED + 2);
      await run(nbdcopy, [data, a.nbdUri("r0")], { timeoutMs: 120_000 });
      await b.rpc.call("node.setBandwidth", { fetchBytesPerSec: 8 * MIB });
      await b.rpc.call("resource.resume", { name: "r0", what: "fetch" });
      const FETCH = "marsd_replication_fetched_bytes_total";
      const before = await counter(FETCH);
      await waitFor("the fetch to move", async () => (await counter(FETCH)) >= before + 4 * MIB, 30_000, 50);
      const fetchRate = await rateOver(FETCH, 10);
      assert.ok(
        Math.abs(fetchRate / (8 * MIB) - 1) <= 0.1,
        `fetch at 8 MiB/s limit: ${(fetchRate / MIB).toFixed(2)} MiB/s`,
      );
      console.log(
        `limits: sync ${(at8 / MIB).toFixed(2)} MiB/s at 8, ${(at16 / MIB).toFixed(2)} MiB/s at 16; fetch ${(fetchRate / MIB).toFixed(2)} MiB/s at 8`,
      );
    }),
  );
});

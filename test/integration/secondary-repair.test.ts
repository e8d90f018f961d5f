/**
 * A node restarted behind the end of its local log: the writes
 * between its checkpoint and that end may be on its disk in part (after a
 * power loss some torn), so it says consistent only once replay has passed
 * that end again (simulator seed 870116). A replay pause that reached its
 * checkpoint (pause.json `replayCheckpointed`) applied nothing after it:
 * that disk is consistent at once, replay still paused.
 *
 * The crash between a pause and its checkpoint is made by removing the
 * flag from pause.json while the daemon is down (what that crash leaves).
 *
 * A primary that lost power before its first checkpoint has none: on its
 * restart (a secondary until it has heard the other members) replay
 * starts at its oldest local file, not at the newest (simulator seed
 * 940020). The power loss is made by a kill -9, a torn block written into
 * its disk and checkpoint.json removed while it is down.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
import {
  diskDigests,
  nbdUri,
  resourceDirOf,
  startReplicated,
  status,
  waitCaughtUp,
  waitUntil,
  type ReplicatedSetup,
} from "../helpers/replication.js";
import { requireTool, run } from "../helpers/tools.js";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.js";

const MIB = 1024 * 1024;

interface Detail {
  state: string;
  role: string;
  consistent: boolean;
  paused: { replay: boolean };
  fetch?: { lagBytes: number };
  replay?: { lagBytes: number };
}

describe("a node restarted behind its local log", { timeout: 300_000 }, () => {
  let setup: ReplicatedSetup;
  let tmp: TempDir;

  before(async () => {
    tmp = await makeTempDir("marsd-repair-");
    setup = await startReplicated({ hosts: ["alpha", "bravo"], sizeBytes: 16 * MIB });
    await waitUntil(setup.cluster, "bravo", "r0", "uptodate", 60_000);
  });

  after(async () => {
    await setup?.cluster.cleanup();
    await tmp?.remove();
  });

  const bravo = () => setup.cluster.node("bravo").daemon;
  const detail = () => bravo().rpc.call<Detail>("resource.status", { name: "r0" });
  const pauseFile = () => path.join(resourceDirOf(setup.cluster, "bravo", "r0"), "pause.json");

  /** Pauses bravo's replay, writes 4 MiB on alpha, waits until bravo has fetched it all. */
  async function writeBehindPausedReplay(label: string): Promise<void> {
    await bravo().rpc.call("resource.pause", { name: "r0", what: "replay" });
    const data = path.join(tmp.path, `${label}.bin`);
    await writeFile(data, randomBytes(4 * MIB));
    await run(requireTool("nbdcopy"), [data, nbdUri(setup.cluster, "alpha", "r0")], { timeoutMs: 60_000 });
    await waitFor(`${label}: bravo to fetch everything`, async () => {
      const d = await detail();
      return d.fetch?.lagBytes === 0 && (d.replay?.lagBytes ?? 0) > 0;
    });
  }

  async function restartedAsSecondary(): Promise<Detail> {
    await bravo().relaunch();
    let last: Detail | undefined;
    await waitFor("bravo's resource to run as a secondary", async () => {
      last = await detail();
      return last.state === "running" && last.role === "secondary";
    });
    return last as Detail;
  }

  it(
    "a pause with its checkpoint written: consistent right after a kill -9, replay still paused",
    explainOnFailure(async () => {
      await writeBehindPausedReplay("checkpointed");
      const saved = JSON.parse(await readFile(pauseFile(), "utf8")) as { replayCheckpointed?: boolean };
      assert.equal(saved.replayCheckpointed, true, "the pause records its checkpoint");
      await bravo().kill9();
      const d = await restartedAsSecondary();
      assert.equal(d.paused.replay, true);
      assert.equal(d.consistent, true, "nothing was applied after the checkpoint: the disk is a prefix");
      assert.ok((d.replay?.lagBytes ?? 0) > 0, "the fetched log is still to replay");
      await bravo().rpc.call("resource.resume", { name: "r0", what: "replay" });
      await waitCaughtUp(setup.cluster, "bravo", "alpha", "r0");
    }),
  );

  it(
    "a crash before the pause's checkpoint: not consistent until replay passes the log's end at start",
    explainOnFailure(async () => {
      await writeBehindPausedReplay("unflagged");
      await bravo().kill9();
      // What a crash between the pause and its checkpoint leaves behind.
      await writeFile(pauseFile(), JSON.stringify({ sync: false, fetch: false, replay: true }) + "\n");
      const d = await restartedAsSecondary();
      assert.equal(d.paused.replay, true);
      assert.equal(d.consistent, false, "writes up to the local log's end may be on the disk in part");
      assert.equal((await status(setup.cluster, "bravo", "r0")).diskState, "Inconsistent");
      await assert.rejects(
        bravo().rpc.call("resource.verify", { name: "r0" }),
        /not consistent/,
        "nothing to compare while the disk is repaired",
      );
      await bravo().rpc.call("resource.resume", { name: "r0", what: "replay" });
      await waitFor("bravo to be consistent again", async () => (await detail()).consistent);
      await waitCaughtUp(setup.cluster, "bravo", "alpha", "r0");
      const digests = await diskDigests(setup);
      assert.equal(digests.get("bravo"), digests.get("alpha"));
    }),
  );

  it(
    "a primary restarted with no checkpoint replays every local file, the oldest first",
    explainOnFailure(async () => {
      const alpha = () => setup.cluster.node("alpha").daemon;
      const data = path.join(tmp.path, "first-file.bin");
      await writeFile(data, randomBytes(MIB));
      await run(requireTool("nbdcopy"), [data, nbdUri(setup.cluster, "alpha", "r0")], { timeoutMs: 60_000 });
      // The write is in a file older than the newest one.
      await alpha().rpc.call("resource.logRotate", { name: "r0" });
      await waitCaughtUp(setup.cluster, "bravo", "alpha", "r0");
      await alpha().kill9();
      // What a power loss before the first checkpoint leaves: a torn block, no checkpoint.
      const disk = await open(setup.disks.get("alpha") as string, "r+");
      try {
        await disk.write(randomBytes(4096), 0, 4096, 8192);
        await disk.sync();
      } finally {
        await disk.close();
      }
      await rm(path.join(resourceDirOf(setup.cluster, "alpha", "r0"), "checkpoint.json"));
      await alpha().relaunch();
      await waitFor("alpha to serve again", async () => {
        const d = await alpha().rpc.call<Detail>("resource.status", { name: "r0" });
        return d.state === "running" && d.role === "primary";
      });
      await waitCaughtUp(setup.cluster, "bravo", "alpha", "r0");
      const digests = await diskDigests(setup);
      assert.equal(
        digests.get("alpha"),
        digests.get("bravo"),
        "the torn block is repaired from the oldest file",
      );
    }),
  );
});

/**
 * resource.resize with real daemons and a real NBD client (libnbd): alpha
 * (primary), bravo (online) and charlie (stopped during the first grow).
 *
 * 1. A shrink is refused (SHRINK_REFUSED, 1009); a size not a multiple of
 *    4096 is refused by the API schema.
 * 2. The disks are grown behind the daemons (as lvextend would), alpha's
 *    tail holding 4 MiB of old data no member has; alpha grows 16 -> 32 MiB
 *    while the pattern writer writes; the same call again: changed false.
 *    A NEW NBD connection sees 32 MiB and writes across and beyond the old
 *    end. bravo ends equal to alpha over the whole 32 MiB, having copied
 *    at least the 4 MiB only alpha had and at most the 16 MiB tail.
 * 3. charlie comes back, grows and ends equal too.
 * 4. A second grow to 48 MiB (marsadm resize r0 48M; 40M is refused) without growing charlie's disk: charlie
 *    reports `resize` in its status and stays at 32 MiB (bravo grows); its
 *    replay stops before a write beyond its end; once its disk is grown it
 *    retries, grows and ends equal.
 * 5. bravo leaves and joins again with an empty disk; during its full sync
 *    (paused, and slowed to 4 MiB/s) alpha grows to 64 MiB: the sync takes
 *    the new end in, and bravo and charlie end equal over 64 MiB.
 * 6. bravo takes over (planned handover); alpha, now a member, refuses a
 *    resize (1020); bravo grows to 72 MiB and alpha and charlie follow.
 *
 * MARSD_RESIZE_SEED replays the writer's choices and the data.
 */
import assert from "node:assert/strict";
import { open, truncate } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { RpcCallError } from "../../src/cli/rpc-client.js";
import { MARSADM_MAIN, waitFor } from "../helpers/daemon-process.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { prng } from "../helpers/prng.js";
import {
  nbdUri,
  sha256File,
  startReplicated,
  status,
  waitCaughtUp,
  type ReplicatedSetup,
} from "../helpers/replication.js";
import { explainOnFailure } from "../helpers/test-cluster.js";
import { RunError, SYSTEM_PYTHON, requirePythonNbd, run } from "../helpers/tools.js";

const SEED = Number(process.env.MARSD_RESIZE_SEED ?? Date.now() % 1_000_000);
const MIB = 1024 * 1024;
const OLD_BYTES = 16 * MIB;
const NEW_BYTES = 32 * MIB;
const LAST_BYTES = 48 * MIB;
const FINAL_BYTES = 64 * MIB;
const HANDOVER_BYTES = 72 * MIB;
/** Syncs copy at most this fast, so a full sync is still running when the grow comes. */
const SYNC_BYTES_PER_SEC = 4 * MIB;
const NAME = "r0";

function randomBytes(next: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Connects anew (so the handshake reports the size now), writes `data` at each offset, flushes; prints the size. */
const NBD_WRITE = `
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
data = open(sys.argv[2], "rb").read()
for off in sys.argv[3:]:
    h.pwrite(data, int(off))
h.flush()
print(h.get_size())
h.shutdown()
`;

async function writeThroughNewConnection(
  setup: ReplicatedSetup,
  data: Buffer,
  offsets: number[],
  primary = "alpha",
): Promise<number> {
  const file = path.join(setup.cluster.baseDir, "nbd-data.bin");
  const handle = await open(file, "w");
  await handle.write(data);
  await handle.close();
  const { stdout } = await run(SYSTEM_PYTHON, [
    "-c",
    NBD_WRITE,
    nbdUri(setup.cluster, primary, NAME),
    file,
    ...offsets.map(String),
  ]);
  return Number(stdout.trim());
}

/** marsadm against alpha: [exit code, stdout + stderr]. */
async function marsadm(setup: ReplicatedSetup, ...args: string[]): Promise<[number, string]> {
  const daemon = setup.cluster.node("alpha").daemon;
  const argv = [
    MARSADM_MAIN,
    "--url",
    daemon.adminUrl,
    "--token-file",
    path.join(daemon.dataDir, "admin.token"),
  ];
  try {
    const r = await run(process.execPath, [...argv, ...args]);
    return [0, r.stdout + r.stderr];
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    return [Number(err.result.code), err.result.stdout + err.result.stderr];
  }
}

async function synced(setup: ReplicatedSetup, host: string): Promise<number> {
  return (
    (await setup.cluster
      .node(host)
      .daemon.metric("marsd_replication_sync_transferred_bytes_total", `resource="${NAME}"`)) ?? 0
  );
}

interface SizeStatus {
  sizeBytes: number;
  diskState: string;
  resize?: { wantedBytes: number; diskBytes: number; reason: string };
  replay?: { state: string; blockedReason?: string };
  members: Array<{ host: string; resize?: { wantedBytes: number; diskBytes: number; reason: string } }>;
}

function sizeStatus(setup: ReplicatedSetup, host: string): Promise<SizeStatus> {
  return setup.cluster.node(host).daemon.rpc.call<SizeStatus>("resource.status", { name: NAME });
}

async function waitEqual(
  setup: ReplicatedSetup,
  host: string,
  sizeBytes: number,
  primary = "alpha",
): Promise<void> {
  await waitFor(
    `${host} grown to ${sizeBytes}`,
    async () => (await sizeStatus(setup, host)).sizeBytes === sizeBytes,
  );
  await waitCaughtUp(setup.cluster, host, primary, NAME);
  await waitFor(
    `${host} UpToDate`,
    async () => (await status(setup.cluster, host, NAME)).diskState === "UpToDate",
  );
  assert.equal(
    await sha256File(setup.disks.get(host) as string, sizeBytes),
    await sha256File(setup.disks.get(primary) as string, sizeBytes),
    `${host}'s disk equals ${primary}'s over ${sizeBytes} bytes`,
  );
}

describe(`resource.resize grows online (seed ${SEED})`, { timeout: 120_000 }, () => {
  let setup: ReplicatedSetup | undefined;
  after(async () => setup?.cluster.cleanup());

  it(
    "refuses a shrink, grows while writing, copies only the tail, and grows an absent or small member later",
    explainOnFailure(async () => {
      await requirePythonNbd();
      const next = prng(SEED);
      setup = await startReplicated({
        hosts: ["alpha", "bravo", "charlie"],
        sizeBytes: OLD_BYTES,
        seedBytes: MIB,
        config: {
          peer: { retryMaxMs: 500 },
          bandwidth: { syncBytesPerSec: SYNC_BYTES_PER_SEC, fetchBytesPerSec: 0 },
        },
      });
      const s = setup;
      const alpha = s.cluster.node("alpha").daemon;

      // 1. Refusals.
      await assert.rejects(
        alpha.rpc.call("resource.resize", { name: NAME, sizeBytes: OLD_BYTES / 2 }),
        (err: unknown) => err instanceof RpcCallError && err.code === 1009,
      );
      await assert.rejects(
        alpha.rpc.call("resource.resize", { name: NAME, sizeBytes: OLD_BYTES + 100 }),
        (err: unknown) => err instanceof RpcCallError && err.code === -32602,
      );
      await assert.rejects(
        s.cluster.node("bravo").daemon.rpc.call("resource.resize", { name: NAME, sizeBytes: NEW_BYTES }),
        (err: unknown) => err instanceof RpcCallError && err.code === 1020,
      );

      // 2. charlie is away; the operator grows every disk; alpha's tail has old data.
      await s.cluster.node("charlie").daemon.stop();
      for (const disk of s.disks.values()) await truncate(disk, NEW_BYTES);
      const stale = await open(s.disks.get("alpha") as string, "r+");
      await stale.write(randomBytes(next, 4 * MIB), 0, 4 * MIB, 20 * MIB);
      await stale.close();
      const bravoCopiedBefore = await synced(s, "bravo");
      const writer = await startPatternWriter({
        uri: nbdUri(s.cluster, "alpha", NAME),
        blocks: 1024,
        depth: 2,
        seed: SEED,
        stateFile: path.join(s.cluster.baseDir, "writer.json"),
        maxWrites: 3000,
      });
      await waitFor("the writer to be writing", () => Promise.resolve(writer.acks >= 100));
      const grown = await alpha.rpc.call<{ changed: boolean; sizeBytes: number; previousBytes: number }>(
        "resource.resize",
        { name: NAME, sizeBytes: NEW_BYTES },
      );
      assert.deepEqual(grown, { changed: true, sizeBytes: NEW_BYTES, previousBytes: OLD_BYTES });
      const again = await alpha.rpc.call<{ changed: boolean }>("resource.resize", {
        name: NAME,
        sizeBytes: NEW_BYTES,
      });
      assert.equal(again.changed, false);
      const beyond = randomBytes(next, 64 * 1024);
      const seen = await writeThroughNewConnection(s, beyond, [OLD_BYTES - 32 * 1024, 30 * MIB]);
      assert.equal(seen, NEW_BYTES, "a new NBD connection sees the new size");
      assert.equal(await writer.exited, 0, writer.stderr());
      assert.equal((await sizeStatus(s, "alpha")).sizeBytes, NEW_BYTES);

      await waitEqual(s, "bravo", NEW_BYTES);
      const copied = (await synced(s, "bravo")) - bravoCopiedBefore;
      console.log(`bravo copied ${copied} bytes for a ${NEW_BYTES - OLD_BYTES}-byte tail`);
      assert.ok(copied >= 4 * MIB, `the 4 MiB only alpha had were copied: ${copied}`);
      assert.ok(copied <= NEW_BYTES - OLD_BYTES, `only the tail was copied: ${copied}`);

      // 3. charlie comes back and grows.
      await s.cluster.node("charlie").daemon.relaunch();
      await waitEqual(s, "charlie", NEW_BYTES);

      // 4. charlie's disk is not grown this time.
      await truncate(s.disks.get("alpha") as string, LAST_BYTES);
      await truncate(s.disks.get("bravo") as string, LAST_BYTES);
      assert.deepEqual(await marsadm(s, "resize", NAME, "48M"), [0, "grown from 32.0 MiB to 48.0 MiB\n"]);
      const [code, shrink] = await marsadm(s, "resize", NAME, "40M");
      assert.equal(code, 1);
      assert.match(shrink, /1009|SHRINK_REFUSED|cannot shrink/);
      await waitFor("charlie to report its small disk", async () => {
        const c = await sizeStatus(s, "charlie");
        return c.resize?.wantedBytes === LAST_BYTES && c.resize.diskBytes === NEW_BYTES;
      });
      // The primary's operator sees it too (published with charlie's status).
      await waitFor("alpha to list charlie's small disk", async () => {
        const m = (await sizeStatus(s, "alpha")).members.find((x) => x.host === "charlie");
        return m?.resize?.diskBytes === NEW_BYTES && /grow the disk/.test(m.resize.reason);
      });
      await writeThroughNewConnection(s, beyond, [40 * MIB]);
      await waitEqual(s, "bravo", LAST_BYTES);
      // charlie replays up to that write and stops before it: nothing is written past its end.
      await waitFor("charlie's replay to stop before the write beyond its end", async () =>
        /beyond this member's size/.test((await sizeStatus(s, "charlie")).replay?.blockedReason ?? ""),
      );
      const c = await sizeStatus(s, "charlie");
      assert.equal(c.sizeBytes, NEW_BYTES, "charlie keeps its size until its disk is grown");
      assert.match(c.resize?.reason ?? "", /grow the disk/);
      await truncate(s.disks.get("charlie") as string, LAST_BYTES);
      await waitEqual(s, "charlie", LAST_BYTES);
      assert.equal((await sizeStatus(s, "charlie")).resize, undefined);
      await waitFor("alpha to see charlie grown", async () =>
        (await sizeStatus(s, "alpha")).members.some((x) => x.host === "charlie" && x.resize === undefined),
      );

      // 5. A grow during a member's full sync: the sync takes the new end in.
      const bravo = s.cluster.node("bravo").daemon;
      await bravo.rpc.call("resource.leave", { name: NAME });
      const bravoDisk = s.disks.get("bravo") as string;
      await truncate(bravoDisk, 0);
      await truncate(bravoDisk, LAST_BYTES);
      await bravo.rpc.call("resource.join", { name: NAME, disk: bravoDisk });
      await bravo.rpc.call("resource.pause", { name: NAME, what: "sync" });
      const joining = await bravo.rpc.call<{
        sync?: { kind: string; doneBytes: number; totalBytes: number };
      }>("resource.status", { name: NAME });
      assert.equal(joining.sync?.kind, "full", "bravo is in its full sync");
      assert.ok(joining.sync.doneBytes < joining.sync.totalBytes);
      for (const disk of s.disks.values()) await truncate(disk, FINAL_BYTES);
      await alpha.rpc.call("resource.resize", { name: NAME, sizeBytes: FINAL_BYTES });
      await waitFor("bravo's full sync to cover the new end", async () => {
        const b = await bravo.rpc.call<{ sizeBytes: number; sync?: { kind: string; totalBytes: number } }>(
          "resource.status",
          { name: NAME },
        );
        return b.sizeBytes === FINAL_BYTES && b.sync?.kind === "full" && b.sync.totalBytes === FINAL_BYTES;
      });
      await writeThroughNewConnection(s, beyond, [60 * MIB]);
      await bravo.rpc.call("resource.resume", { name: NAME, what: "sync" });
      await waitEqual(s, "bravo", FINAL_BYTES);
      await waitEqual(s, "charlie", FINAL_BYTES);

      // 6. After a handover, the new primary grows the resource; the old one follows as a member.
      await bravo.rpc.call("resource.primary", { name: NAME, timeoutMs: 30_000 }, 40_000);
      for (const disk of s.disks.values()) await truncate(disk, HANDOVER_BYTES);
      await assert.rejects(
        alpha.rpc.call("resource.resize", { name: NAME, sizeBytes: HANDOVER_BYTES }),
        (err: unknown) => err instanceof RpcCallError && err.code === 1020,
      );
      await bravo.rpc.call("resource.resize", { name: NAME, sizeBytes: HANDOVER_BYTES });
      await writeThroughNewConnection(s, beyond, [HANDOVER_BYTES - 64 * 1024], "bravo");
      await waitEqual(s, "alpha", HANDOVER_BYTES, "bravo");
      await waitEqual(s, "charlie", HANDOVER_BYTES, "bravo");
    }),
  );
});

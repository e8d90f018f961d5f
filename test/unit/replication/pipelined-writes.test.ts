/**
 * PipelinedWrites: writes issued without waiting all land before settle()
 * resolves (the fetcher syncs only after it), and a failed one is thrown by
 * settle() and by the next issue().
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { PipelinedWrites } from "../../../src/replication/pipelined-writes.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { makeTempDir, type TempDir } from "../../helpers/temp-dir.js";
import { waitFor } from "../../helpers/daemon-process.js";

const KIB = 1024;

describe("pipelined writes", () => {
  let tmp: TempDir;
  before(async () => (tmp = await makeTempDir("marsd-pipelined-")));
  after(async () => tmp.remove());

  it("are several in flight at once, and all written when settle() resolves", async () => {
    const gate = new Gate();
    const storage = new FaultyStorage({ beforeOp: (op) => (op === "writev" ? gate.wait() : undefined) });
    const file = await storage.open(tmp.join("a.log"), "create");
    const writes = new PipelinedWrites(file);
    const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * KIB, i + 1));
    chunks.forEach((c, i) => writes.issue(c, i * 64 * KIB));
    let settled = false;
    const settling = writes.settle().then(() => (settled = true));
    await waitFor("all eight writes in flight before any completed", () => gate.waiting === 8);
    assert.equal(settled, false);
    gate.open();
    await settling;
    await file.close();
    assert.deepEqual(await readFile(tmp.join("a.log")), Buffer.concat(chunks));
  });

  it("throw a failed write from settle() and from the next issue()", async () => {
    const storage = new FaultyStorage({ failWritevFrom: 2 });
    const file = await storage.open(tmp.join("b.log"), "create");
    const writes = new PipelinedWrites(file);
    writes.issue(Buffer.alloc(KIB, 1), 0);
    writes.issue(Buffer.alloc(KIB, 2), KIB);
    await assert.rejects(writes.settle(), /EIO/);
    assert.throws(() => writes.issue(Buffer.alloc(KIB, 3), 2 * KIB), /EIO/);
    await file.close();
  });
});

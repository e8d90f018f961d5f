import assert from "node:assert/strict";
import { cp, mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { systemClock } from "../../../src/platform/clock.js";
import { listLogFiles } from "../../../src/log/log-directory.js";
import { LogStream, type LogPosition } from "../../../src/log/log-stream.js";
import { RecordKind } from "../../../src/log/record.js";
import type { AppendEntry } from "../../../src/log/writer.js";
import {
  CHECKPOINT_FILE,
  Checkpointer,
  readCheckpoint,
  writeCheckpoint,
} from "../../../src/resource/checkpoint.js";
import { recoverLog } from "../../../src/resource/recovery.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { LogCorruptError } from "../../../src/util/errors.js";
import { DEFAULT_WRITER_LIMITS } from "../../../src/log/writer.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { FaultyStorage, injectedError } from "../../helpers/faulty-file.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir, type TempDir } from "../../helpers/temp-dir.js";
import { genesisVersion } from "../../../src/log/version.js";

const DISK_BYTES = 256 * 1024;

interface Written {
  dir: string;
  disk: string;
  /** Disk content after each append i (models[0] = the empty disk). */
  models: Buffer[];
  /** Log position behind each append i (positions[0] = start of the stream). */
  positions: LogPosition[];
}

/** Writes `count` random writes and zero ranges through a real LogStream (rotating every ~32 KiB). */
async function writeLog(
  root: string,
  count: number,
  seed: number,
  lengthOf: (i: number) => number = (i) => 512 * (1 + ((i + seed) % 8)),
): Promise<Written> {
  const dir = path.join(root, "res");
  await mkdir(dir, { recursive: true });
  const disk = path.join(root, "disk.img");
  await writeFile(disk, Buffer.alloc(DISK_BYTES));
  const stream = await LogStream.start(
    {
      dir,
      resource: "r0",
      host: "alpha",
      storage: nodeStorage,
      clock: new LamportClock({ wall: systemClock }),
      time: systemClock,
      rotateBytes: 32 * 1024,
    },
    1,
    0,
    genesisVersion("r0", 0),
  );
  let model = Buffer.alloc(DISK_BYTES);
  const models = [model];
  const positions = [stream.durablePosition()];
  for (let i = 1; i <= count; i++) {
    const offset = ((i * 7919 + seed * 131) % (DISK_BYTES / 512 - 8)) * 512;
    const length = lengthOf(i);
    const entry: AppendEntry =
      i % 5 === 0
        ? { kind: RecordKind.Zero, offsetBytes: offset, lengthBytes: length }
        : {
            kind: RecordKind.Write,
            offsetBytes: offset,
            lengthBytes: length,
            payload: pattern(length, seed * 10_000 + i),
          };
    model = Buffer.from(model);
    if (entry.payload) Buffer.from(entry.payload).copy(model, offset);
    else model.fill(0, offset, offset + length);
    models.push(model);
    positions.push((await stream.append([entry])).position);
  }
  await stream.close();
  return { dir, disk, models, positions };
}

async function recover(w: Written) {
  const backing = await nodeStorage.open(w.disk, "readwrite");
  try {
    return await recoverLog({
      dir: w.dir,
      resource: "r0",
      time: systemClock,
      storage: nodeStorage,
      backing,
      checkpoint: await readCheckpoint(w.dir, nodeStorage),
    });
  } finally {
    await backing.close();
  }
}

describe("checkpoint and crash recovery", () => {
  let tmp: TempDir;
  let n = 0;
  const nextRoot = () => tmp.join(`case-${++n}`);
  before(async () => (tmp = await makeTempDir()));
  after(() => tmp.remove());

  it("replays every file of the log onto the disk, and replaying again changes nothing", async () => {
    const w = await writeLog(nextRoot(), 60, 1);
    assert.ok((await listLogFiles(nodeStorage, w.dir)).length >= 3, "the log spans several files");
    const first = await recover(w);
    assert.ok((await readFile(w.disk)).equals(w.models[60] as Buffer));
    assert.deepEqual(first.endPosition, w.positions[60]);
    assert.equal(first.tornBytes, 0);
    assert.ok(first.replayedBytes > 0);
    const second = await recover(w);
    assert.ok((await readFile(w.disk)).equals(w.models[60] as Buffer), "replay is idempotent");
    assert.deepEqual(second.endPosition, first.endPosition);
  });

  it("fails when a write of the replay fails, even one nobody waited for (no end position to checkpoint)", async () => {
    const count = 20;
    const seed = 2;
    const w = await writeLog(nextRoot(), count, seed);
    // The disk write of the last record fails (writeLog's offsets are distinct
    // here): the replayer has issued it and finished the log by then, so only
    // the queue can tell (simulator seed 1000043 lost such a failure).
    const lastOffset = ((count * 7919 + seed * 131) % (DISK_BYTES / 512 - 8)) * 512;
    const storage = new FaultyStorage({
      match: (p) => p === w.disk,
      beforeOp: (op, p, _n, range) => {
        if (op === "writev" && range?.positionBytes === lastOffset) throw injectedError("write", p);
      },
    });
    const backing = await storage.open(w.disk, "readwrite");
    try {
      await assert.rejects(
        recoverLog({
          dir: w.dir,
          resource: "r0",
          time: systemClock,
          storage,
          backing,
          checkpoint: undefined,
        }),
        /EIO/,
      );
    } finally {
      await backing.close();
    }
  });

  it("replays only what follows the checkpoint, also over a disk that is ahead of it", async () => {
    const w = await writeLog(nextRoot(), 60, 2);
    const all = await recover(w);
    // The disk now holds everything; the checkpoint says only the first 25 appends are applied.
    await writeCheckpoint(w.dir, w.positions[25] as LogPosition, nodeStorage);
    const partial = await recover(w);
    assert.ok((await readFile(w.disk)).equals(w.models[60] as Buffer));
    assert.ok(partial.replayedBytes < all.replayedBytes);
    assert.ok(partial.replayedBytes > 0);
    // A disk that only has the checkpointed state ends up identical too.
    await writeFile(w.disk, w.models[25] as Buffer);
    await recover(w);
    assert.ok((await readFile(w.disk)).equals(w.models[60] as Buffer));
    await writeCheckpoint(w.dir, w.positions[60] as LogPosition, nodeStorage);
    assert.equal((await recover(w)).replayedBytes, 0, "nothing to replay at the end of the log");
  });

  it("cuts a torn tail at every byte offset of the last record, keeping and replaying the prefix", async () => {
    // A short last record keeps the number of cuts (each a full recovery with fsyncs) small.
    const source = await writeLog(nextRoot(), 12, 3, (i) => (i === 12 ? 100 : 1024));
    const files = await listLogFiles(nodeStorage, source.dir);
    const last = files[files.length - 1];
    assert.ok(last);
    const end = source.positions[12] as LogPosition;
    const prev = source.positions[11] as LogPosition;
    assert.equal(prev.fileNumber, end.fileNumber, "the last two appends are in the last file");
    const fullBytes = await readFile(last.path);
    for (let keep = 1; keep < end.offsetBytes - prev.offsetBytes; keep++) {
      const root = tmp.join(`torn-${keep}`);
      await cp(path.dirname(source.dir), root, { recursive: true });
      const copy = { ...source, dir: path.join(root, "res"), disk: path.join(root, "disk.img") };
      await writeFile(path.join(copy.dir, last.fileName), fullBytes.subarray(0, prev.offsetBytes + keep));
      const result = await recover(copy);
      // Torn bytes are counted up to the last non-zero one (zeroes may be preallocated space).
      const kept = fullBytes.subarray(prev.offsetBytes, prev.offsetBytes + keep);
      let nonZero = kept.length;
      while (nonZero > 0 && kept[nonZero - 1] === 0) nonZero -= 1;
      assert.equal(result.tornBytes, nonZero, `keep ${keep}`);
      assert.deepEqual(result.endPosition, prev, `keep ${keep}`);
      assert.equal((await stat(path.join(copy.dir, last.fileName))).size, prev.offsetBytes, "cut off");
      assert.ok((await readFile(copy.disk)).equals(source.models[11] as Buffer), `keep ${keep}: disk`);
      await rm(root, { recursive: true, force: true });
    }
  });

  it("cuts preallocated zeroes left by a crash without counting them as torn", async () => {
    const root = nextRoot();
    const dir = path.join(root, "res");
    await mkdir(dir, { recursive: true });
    const disk = path.join(root, "disk.img");
    await writeFile(disk, Buffer.alloc(DISK_BYTES));
    const stream = await LogStream.start(
      {
        dir,
        resource: "r0",
        host: "alpha",
        storage: nodeStorage,
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        rotateBytes: 64 * 1024 * 1024,
        limits: { ...DEFAULT_WRITER_LIMITS, preallocateBytes: 256 * 1024 },
      },
      1,
      0,
      genesisVersion("r0", 0),
    );
    const model = Buffer.alloc(DISK_BYTES);
    for (let i = 0; i < 40; i++) {
      const payload = pattern(4096, i);
      payload.copy(model, i * 4096);
      await stream.append([{ kind: RecordKind.Write, offsetBytes: i * 4096, lengthBytes: 4096, payload }]);
    }
    const logFile = path.join(dir, "log-000000001-alpha");
    const durable = stream.durablePosition();
    await waitFor("zeroes preallocated ahead", async () => (await stat(logFile)).size > durable.offsetBytes);
    // The state a crash leaves: copy it while the writer still has the file open.
    const crashed = nextRoot();
    await cp(root, crashed, { recursive: true });
    await stream.close();
    const result = await recover({
      dir: path.join(crashed, "res"),
      disk: path.join(crashed, "disk.img"),
      models: [],
      positions: [],
    });
    assert.equal(result.tornBytes, 0, "zeroes are not torn writes");
    assert.equal(result.endPosition?.offsetBytes, durable.offsetBytes);
    assert.equal(
      (await stat(path.join(crashed, "res", "log-000000001-alpha"))).size,
      durable.offsetBytes,
      "cut off",
    );
    assert.ok((await readFile(path.join(crashed, "disk.img"))).equals(model));
  });

  it("refuses corruption instead of skipping it", async () => {
    const w = await writeLog(nextRoot(), 40, 4);
    const files = await listLogFiles(nodeStorage, w.dir);
    const middle = files[1];
    assert.ok(middle && files.length >= 3);
    // Damage one payload byte in the middle of a finished file.
    const handle = await open(middle.path, "r+");
    const size = (await handle.stat()).size;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, Math.floor(size / 2));
    byte[0] = (byte[0] as number) ^ 0x01;
    await handle.write(byte, 0, 1, Math.floor(size / 2));
    await handle.close();
    await assert.rejects(recover(w), LogCorruptError);

    // A finished (not last) file that ends in a torn record is corruption too.
    const w2 = await writeLog(nextRoot(), 40, 5);
    const f2 = (await listLogFiles(nodeStorage, w2.dir))[0];
    assert.ok(f2);
    const bytes = await readFile(f2.path);
    await writeFile(f2.path, bytes.subarray(0, bytes.length - 3));
    await assert.rejects(recover(w2), /finished log file ends in an invalid record/);
  });

  it("refuses a checkpoint that points to a missing file or is malformed", async () => {
    const w = await writeLog(nextRoot(), 5, 6);
    await writeCheckpoint(w.dir, { ...(w.positions[5] as LogPosition), fileNumber: 99 }, nodeStorage);
    await assert.rejects(recover(w), /missing log file/);
    await writeFile(path.join(w.dir, CHECKPOINT_FILE), '{"format":1,"host":"alpha"}');
    await assert.rejects(readCheckpoint(w.dir, nodeStorage), LogCorruptError);
    await writeFile(path.join(w.dir, CHECKPOINT_FILE), "not json");
    await assert.rejects(readCheckpoint(w.dir, nodeStorage));
  });

  it("the checkpointer syncs the disk before persisting a moved position, and only then", async () => {
    const root = nextRoot();
    await mkdir(root);
    const disk = path.join(root, "disk.img");
    await writeFile(disk, Buffer.alloc(4096));
    const storage = new FaultyStorage({});
    const backing = await storage.open(disk, "readwrite");
    let applied: LogPosition | undefined;
    const persisted: LogPosition[] = [];
    const errors: unknown[] = [];
    const checkpointer = new Checkpointer(
      systemClock,
      nodeStorage,
      root,
      backing,
      () => applied,
      60_000,
      (p) => persisted.push(p),
      (err) => errors.push(err),
    );
    await checkpointer.checkpointNow();
    assert.equal(storage.calls.datasync, 0, "nothing applied yet: nothing to do");
    applied = { fileNumber: 1, host: "alpha", offsetBytes: 500, nextSeq: 3, streamBytes: 500 };
    await checkpointer.checkpointNow();
    assert.equal(storage.calls.datasync, 1);
    assert.deepEqual(await readCheckpoint(root, nodeStorage), { format: 1, ...applied });
    await checkpointer.checkpointNow();
    assert.equal(storage.calls.datasync, 1, "unchanged position: no new sync");
    storage.plan.failDatasyncFrom = 2;
    applied = { ...applied, offsetBytes: 900, streamBytes: 900, nextSeq: 5 };
    await assert.rejects(checkpointer.checkpointNow(), /EIO/);
    assert.equal(
      (await readCheckpoint(root, nodeStorage))?.offsetBytes,
      500,
      "a failed sync never persists the position",
    );
    assert.equal(persisted.length, 1);
    await checkpointer.stop();
    await backing.close();
    assert.deepEqual(errors, []);
  });
});

import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { RECORD_HEADER_BYTES } from "../../../src/log/record.js";
import type { LogWriterObserver } from "../../../src/log/writer-settings.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
import { scanLogFile } from "../../../src/log/scanner.js";
import { ClosedError, LogFailedError } from "../../../src/util/errors.js";
import { FaultyStorage, Gate, injectedError } from "../../helpers/faulty-file.js";
import { openWriter, pattern, readLogRecords, writeEntry } from "../../helpers/log-fixtures.js";
import { makeTempDir, type TempDir } from "../../helpers/temp-dir.js";
import { waitFor } from "../../helpers/daemon-process.js";

const KIB = 1024;

interface BatchLog {
  batches: Array<{ records: number; bytes: number }>;
  maxPendingBytes: number;
  observer: LogWriterObserver;
}

function batchLog(): BatchLog {
  const log: BatchLog = {
    batches: [],
    maxPendingBytes: 0,
    observer: {
      batchDurable: (records, bytes) => log.batches.push({ records, bytes }),
      pendingBytes: (bytes) => (log.maxPendingBytes = Math.max(log.maxPendingBytes, bytes)),
    },
  };
  return log;
}

function entry4k(i: number) {
  return [writeEntry(i * 4 * KIB, pattern(4 * KIB, i))];
}

describe("log writer (group commit)", () => {
  let tmp: TempDir;
  let n = 0;
  const nextFile = () => tmp.join(`log-${++n}`);
  before(async () => (tmp = await makeTempDir()));
  after(() => tmp.remove());

  it("batches many concurrent appends into few writev+fdatasync rounds", async () => {
    const log = batchLog();
    const file = nextFile();
    const storage = new FaultyStorage({});
    const writer = await openWriter(file, { observer: log.observer, storage });
    const syncsBefore = storage.calls.datasync;
    const appends = 500;
    const results = await Promise.all(Array.from({ length: appends }, (_, i) => writer.append(entry4k(i))));
    const syncs = storage.calls.datasync - syncsBefore;
    assert.equal(
      log.batches.reduce((s, b) => s + b.records, 0),
      appends,
    );
    assert.ok(log.batches.length <= 10, `${appends} appends took ${log.batches.length} batches`);
    assert.equal(syncs, log.batches.length, "one fdatasync per batch");
    assert.equal(storage.calls.writev - 1, log.batches.length, "one writev per batch (plus the header)");
    assert.deepEqual(
      results.map((r) => r.lastSeq),
      Array.from({ length: appends }, (_, i) => i + 1),
    );
    await writer.finish();
    const { records } = await readLogRecords(file);
    assert.equal(records.length, appends);
    for (const r of records) assert.deepEqual(r.payload, pattern(4 * KIB, r.seq - 1));
  });

  it("puts the appends of one event-loop turn into one batch, though a second batch could start", async () => {
    const log = batchLog();
    const writer = await openWriter(nextFile(), {
      observer: log.observer,
      limits: { maxBatchesInFlight: 2, preallocateBytes: 0 },
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => writer.append(entry4k(i))));
    assert.deepEqual(
      log.batches.map((b) => b.records),
      [5],
    );
    // Appends of a later turn (here: after the await) form a batch of their own.
    await writer.append(entry4k(5));
    assert.deepEqual(
      log.batches.map((b) => b.records),
      [5, 1],
    );
    await writer.finish();
  });

  it("resolves appends in call order, each once it and everything before it is durable", async () => {
    const writer = await openWriter(nextFile());
    const order: number[] = [];
    let lastEnd = 0;
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writer.append(entry4k(i)).then((r) => {
          order.push(i);
          assert.ok(r.endOffsetBytes > lastEnd);
          assert.ok(writer.durableOffsetBytes >= r.endOffsetBytes, "resolved before durable");
          lastEnd = r.endOffsetBytes;
        }),
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
    await writer.finish();
  });

  it("keeps batches within maxBatchBytes and maxBatchRecords", async () => {
    const log = batchLog();
    const recordBytes = RECORD_HEADER_BYTES + 4 * KIB;
    const writer = await openWriter(nextFile(), {
      observer: log.observer,
      limits: { maxBatchBytes: 5 * recordBytes, maxBatchRecords: 256 },
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => writer.append(entry4k(i))));
    assert.ok(log.batches.every((b) => b.bytes <= 5 * recordBytes));
    const byRecords = await openWriter(nextFile(), {
      observer: ((log.batches = []), log.observer),
      limits: { maxBatchRecords: 3 },
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => byRecords.append(entry4k(i))));
    assert.ok(log.batches.every((b) => b.records <= 3));
    // The entries of one append stay together even beyond the bound.
    const big = await byRecords.append([0, 1, 2, 3, 4].map((i) => writeEntry(i * 4096, pattern(16, i))));
    assert.equal(log.batches[log.batches.length - 1]?.records, 5);
    assert.equal(big.lastSeq, 45);
    await writer.finish();
    await byRecords.finish();
  });

  it("runs at most maxBatchesInFlight batches at once, and acknowledges them in order", async () => {
    const gate = new Gate();
    let firstBatchOffsetBytes = -1;
    let syncedAfterOpen = 0;
    // The first batch is held at its writev (known by its offset: the two
    // batches' writes may finish in either order, so a count would not say
    // which batch it is); the second one is written and synced meanwhile.
    const storage = new FaultyStorage({
      beforeOp: (op, _path, _n, range) =>
        op === "writev" && range?.positionBytes === firstBatchOffsetBytes ? gate.wait() : undefined,
      afterOp: (op) => {
        if (op === "datasync" && firstBatchOffsetBytes >= 0) syncedAfterOpen += 1;
      },
    });
    // No preallocation: its fills would add writes and fdatasyncs of their own.
    // One record per batch, so that six appends make six batches.
    const writer = await openWriter(nextFile(), {
      storage,
      limits: { maxBatchesInFlight: 2, maxBatchRecords: 1, preallocateBytes: 0 },
    });
    firstBatchOffsetBytes = writer.durableOffsetBytes;
    const writesAtOpen = storage.calls.writev;
    const resolved: number[] = [];
    const appends = Array.from({ length: 6 }, (_, i) =>
      writer.append(entry4k(i)).then(() => resolved.push(i)),
    );
    // Batches start at the end of the turn: two are running, the rest wait for them.
    await waitFor("two batches to start", () => writer.batchesInFlight === 2);
    assert.equal(storage.calls.writev - writesAtOpen, 2);
    await waitFor("the second batch to be durable", () => syncedAfterOpen >= 1);
    assert.deepEqual(resolved, [], "nothing is acknowledged while an earlier batch is not durable");
    assert.equal(writer.batchesInFlight, 2);
    assert.equal(storage.calls.writev - writesAtOpen, 2, "no third batch while two are in flight");
    gate.open();
    await Promise.all(appends);
    assert.deepEqual(resolved, [0, 1, 2, 3, 4, 5]);
    await writer.finish();
  });

  it("bounds queued bytes with maxPendingBytes (backpressure) and admits waiting appends in order", async () => {
    const gate = new Gate();
    let armed = false;
    const log = batchLog();
    const storage = new FaultyStorage({
      beforeOp: (op) => (armed && op === "datasync" ? gate.wait() : undefined),
    });
    const limit = 64 * KIB;
    const writer = await openWriter(nextFile(), {
      storage,
      observer: log.observer,
      limits: { maxPendingBytes: limit, maxBatchesInFlight: 1 },
    });
    armed = true;
    const resolved: number[] = [];
    const appends = Array.from({ length: 100 }, (_, i) =>
      writer.append(entry4k(i)).then(() => resolved.push(i)),
    );
    await waitFor("the first batch to reach fdatasync", () => gate.waiting === 1);
    assert.ok(log.maxPendingBytes <= limit, `pending ${log.maxPendingBytes} > ${limit}`);
    assert.ok(writer.projectedEndBytes - writer.durableOffsetBytes <= limit);
    gate.open();
    await Promise.all(appends);
    assert.ok(log.maxPendingBytes <= limit, `pending ${log.maxPendingBytes} > ${limit}`);
    assert.deepEqual(
      resolved,
      Array.from({ length: 100 }, (_, i) => i),
    );
    // A single append larger than the bound still goes through (alone).
    const huge = [writeEntry(0, pattern(128 * KIB, 1))];
    await writer.append(huge);
    await writer.finish();
  });

  it("treats a failed fdatasync as fatal: every pending and later append rejects, never retried", async () => {
    const file = nextFile();
    // 1 = header, 2 = the first batch (both appends of one turn), 3 = fails.
    const storage = new FaultyStorage({ failDatasyncFrom: 3 });
    // Four records per batch: the 20 appends below are two batches in flight and more queued.
    const writer = await openWriter(file, { storage, limits: { maxBatchesInFlight: 2, maxBatchRecords: 4 } });
    const failed: LogFailedError[] = [];
    writer.on("failed", (err) => failed.push(err));
    const first = await Promise.all([writer.append(entry4k(0)), writer.append(entry4k(1))]);
    const durableBefore = writer.durableOffsetBytes;
    assert.equal(durableBefore, first[1]?.endOffsetBytes);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => writer.append(entry4k(i + 2))),
    );
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof LogFailedError));
    assert.equal(failed.length, 1);
    assert.match(failed[0]?.message ?? "", /EIO/);
    assert.ok(writer.failed instanceof LogFailedError);
    await assert.rejects(writer.append(entry4k(99)), LogFailedError);
    await assert.rejects(writer.barrier(), LogFailedError);
    assert.equal(storage.callsAfterFailure, 0, "no write or fdatasync after the failure");
    assert.equal(writer.durableOffsetBytes, durableBefore, "the durable end never moves after a failure");
    await writer.finish().catch(() => undefined);
    // What was acknowledged is in the file.
    const handle = await nodeStorage.open(file, "read");
    try {
      const outcome = await scanLogFile(handle, { toOffsetBytes: durableBefore });
      assert.equal(outcome.status, "complete");
      assert.equal(outcome.nextSeq, 3);
    } finally {
      await handle.close();
    }
  });

  it("treats a failed or torn writev as fatal and leaves only a torn tail behind", async () => {
    const file = nextFile();
    const storage = new FaultyStorage({ tearWritev: { at: 4, keepBytes: 1000 } }); // 1 = header, 2-3 = good batches
    const writer = await openWriter(file, { storage, limits: { maxBatchesInFlight: 1, maxBatchRecords: 1 } });
    const good = await writer.append(entry4k(0));
    const outcomes = await Promise.allSettled([writer.append(entry4k(1)), writer.append(entry4k(2))]);
    assert.equal(outcomes[0]?.status, "fulfilled", "the batch before the torn write is durable");
    assert.equal(outcomes[1]?.status, "rejected");
    const durable = writer.durableOffsetBytes;
    assert.ok(durable > good.endOffsetBytes);
    await writer.finish().catch(() => undefined);
    assert.equal((await stat(file)).size, durable + 1000, "1000 bytes of the torn batch reached the file");
    const handle = await nodeStorage.open(file, "read");
    try {
      const outcome = await scanLogFile(handle);
      assert.equal(outcome.status, "torn");
      assert.equal(outcome.endOffsetBytes, durable);
    } finally {
      await handle.close();
    }

    const failing = new FaultyStorage({ failWritevFrom: 2 });
    const w2 = await openWriter(nextFile(), { storage: failing });
    await assert.rejects(w2.append(entry4k(0)), LogFailedError);
    await assert.rejects(w2.append(entry4k(1)), LogFailedError);
    assert.equal(failing.calls.datasync, 1, "only the file header was synced");
    assert.equal(failing.callsAfterFailure, 0, "no write or fdatasync after the failed write");
    await w2.finish().catch(() => undefined);
  });

  it("uses O_DSYNC writes instead of a separate fdatasync when the storage honours them", async () => {
    const storage = new FaultyStorage({ hideSyncWrites: false });
    const file = nextFile();
    const writer = await openWriter(file, { storage });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append(entry4k(i))));
    assert.equal(storage.calls.datasync, 0);
    assert.ok(storage.calls.writev >= 2);
    await writer.finish();
    assert.equal((await readLogRecords(file)).records.length, 20);
  });

  it("keeps synced zeroes ahead of small batches and cuts them off when the file is finished", async () => {
    const file = nextFile();
    const chunk = 256 * KIB;
    const writer = await openWriter(file, { limits: { preallocateBytes: chunk } });
    let sawZeroesAhead = false;
    for (let wave = 0; wave < 20; wave++) {
      await Promise.all(Array.from({ length: 5 }, (_, i) => writer.append(entry4k(wave * 5 + i))));
      const size = (await stat(file)).size;
      if (size > writer.durableOffsetBytes) {
        sawZeroesAhead = true;
        // What a crash would leave behind: records, then zeroes (a torn tail with nothing torn).
        const handle = await nodeStorage.open(file, "read");
        try {
          const outcome = await scanLogFile(handle, { toOffsetBytes: size });
          assert.equal(outcome.status, "torn");
          assert.equal(outcome.endOffsetBytes, writer.durableOffsetBytes);
        } finally {
          await handle.close();
        }
      }
    }
    assert.ok(sawZeroesAhead, "space was preallocated ahead of the records");
    const { lengthBytes } = await writer.finish();
    assert.equal((await stat(file)).size, lengthBytes, "a finished file holds exactly its records");
    assert.equal((await readLogRecords(file)).records.length, 100);
  });

  it("never writes a batch into the range being zero-filled; the batch waits for the fill", async () => {
    const chunk = 256 * KIB;
    const fillGate = new Gate();
    const writes: Array<{ positionBytes: number; lengthBytes: number; whileFilling: boolean }> = [];
    let fill: { positionBytes: number; lengthBytes: number } | undefined;
    let filling = false;
    const storage = new FaultyStorage({
      beforeOp: async (op, _path, _n, range) => {
        if (op !== "writev" || !range) return;
        if (range.lengthBytes === chunk && fill === undefined) {
          fill = range;
          filling = true;
          await fillGate.wait();
          filling = false;
          return;
        }
        writes.push({ ...range, whileFilling: filling });
      },
    });
    const file = nextFile();
    const writer = await openWriter(file, {
      storage,
      limits: { preallocateBytes: chunk, maxBatchesInFlight: 1 },
    });
    await writer.append(entry4k(0));
    await waitFor("the first fill to start", () => fillGate.waiting === 1);
    const f = fill;
    assert.ok(f);
    // Enough appends to run past the start of the fill.
    const pending = Array.from({ length: 150 }, (_, i) => writer.append(entry4k(i + 1)));
    await waitFor(
      "the writer to reach the fill",
      () => writer.projectedEndBytes > f.positionBytes && writer.batchesInFlight === 0,
    );
    for (const w of writes.filter((x) => x.whileFilling)) {
      assert.ok(
        w.positionBytes + w.lengthBytes <= f.positionBytes,
        `batch at ${w.positionBytes} overlapped the fill`,
      );
    }
    assert.ok(writer.durableOffsetBytes <= f.positionBytes);
    fillGate.open();
    await Promise.all(pending);
    await writer.finish();
    const { records } = await readLogRecords(file);
    assert.equal(records.length, 151);
    for (const r of records) assert.deepEqual(r.payload, pattern(4 * KIB, r.seq - 1));
  });

  it("finish() fails when a zero fill it waits for fails: the file is not finished", async () => {
    // Simulator seed 880031: a rotation took such a file for finished and
    // started the next one while the log failed into emergency mode.
    const chunk = 256 * KIB;
    const fillGate = new Gate();
    const storage = new FaultyStorage({
      beforeOp: async (op, path, _n, range) => {
        if (op !== "writev" || range?.lengthBytes !== chunk) return;
        await fillGate.wait();
        throw injectedError("writev", path);
      },
    });
    const writer = await openWriter(nextFile(), { storage, limits: { preallocateBytes: chunk } });
    await writer.append(entry4k(0));
    await waitFor("the first fill to start", () => fillGate.waiting === 1);
    const finishing = writer.finish();
    fillGate.open();
    await assert.rejects(finishing, LogFailedError);
  });

  it("finish() waits for queued appends, then refuses new ones", async () => {
    const file = nextFile();
    const writer = await openWriter(file);
    const pending = Array.from({ length: 10 }, (_, i) => writer.append(entry4k(i)));
    await writer.barrier();
    const { lengthBytes } = await writer.finish();
    await Promise.all(pending);
    assert.equal(lengthBytes, (await stat(file)).size);
    await assert.rejects(writer.append(entry4k(11)), ClosedError);
    const empty = await openWriter(nextFile());
    await empty.barrier();
    await empty.finish();
  });

  it("abandon waits for the batches in flight: the durable end it leaves is final", async () => {
    const gate = new Gate();
    let holding = false;
    const storage = new FaultyStorage({
      beforeOp: (op) => (holding && op === "datasync" ? gate.wait() : undefined),
    });
    const writer = await openWriter(nextFile(), { storage });
    holding = true;
    const acked: number[] = [];
    const appends = [1, 2, 3].map((i) => writer.append(entry4k(i)).then((r) => acked.push(r.lastSeq)));
    await waitFor("a batch waiting in its fdatasync", () => Promise.resolve(gate.waiting > 0));
    const before = writer.durableOffsetBytes;
    const abandoned = writer.abandon();
    gate.open();
    await abandoned;
    await Promise.allSettled(appends);
    // Whatever became durable was acknowledged, and is inside the durable end read now.
    assert.ok(writer.durableOffsetBytes > before, "the batch in flight completed before abandon returned");
    assert.equal(
      writer.durableNextSeq,
      Math.max(...acked) + 1,
      "every acknowledged record is before the end",
    );
  });
});

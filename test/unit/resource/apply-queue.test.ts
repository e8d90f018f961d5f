import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { LogPosition } from "../../../src/log/log-stream.js";
import { systemClock } from "../../../src/platform/clock.js";
import { ApplyQueue } from "../../../src/resource/apply-queue.js";
import type { RandomAccessFile, WriteRange } from "../../../src/platform/storage/types.js";
import { FaultyStorage, Gate } from "../../helpers/faulty-file.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir, type TempDir } from "../../helpers/temp-dir.js";
import { prng } from "../../helpers/prng.js";

const DISK_BYTES = 64 * 1024;

function position(offsetBytes: number): LogPosition {
  return { fileNumber: 1, host: "alpha", offsetBytes, nextSeq: offsetBytes, streamBytes: offsetBytes };
}

describe("apply queue", () => {
  let tmp: TempDir;
  let n = 0;
  before(async () => (tmp = await makeTempDir()));
  after(() => tmp.remove());

  async function disk(storage: FaultyStorage): Promise<RandomAccessFile> {
    const file = tmp.join(`disk-${++n}`);
    await writeFile(file, Buffer.alloc(DISK_BYTES));
    return storage.open(file, "readwrite");
  }

  it("keeps overlapping writes in log order however the disk reorders completions", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = prng(seed);
      // Every disk write waits a random number of event-loop turns: completions come back shuffled.
      const storage = new FaultyStorage({
        beforeOp: async () => {
          for (let turns = Math.floor(random() * 20); turns > 0; turns--) await new Promise(setImmediate);
        },
      });
      const backing = await disk(storage);
      const queue = new ApplyQueue(systemClock, backing, position(0));
      const model = Buffer.alloc(DISK_BYTES);
      const applied: Promise<void>[] = [];
      for (let i = 1; i <= 300; i++) {
        // Small ranges in a small disk: most writes overlap others still in flight.
        const offset = Math.floor(random() * (DISK_BYTES - 3000));
        const length = 1 + Math.floor(random() * 3000);
        if (random() < 0.2) {
          model.fill(0, offset, offset + length);
          applied.push(queue.apply({ offsetBytes: offset, lengthBytes: length }, position(i)));
        } else {
          const data = pattern(length, seed * 1000 + i);
          data.copy(model, offset);
          applied.push(queue.apply({ offsetBytes: offset, lengthBytes: length, data }, position(i)));
        }
      }
      await Promise.all(applied);
      await queue.idle();
      assert.equal(queue.inFlightCount, 0);
      assert.equal(queue.inFlightBytes, 0);
      assert.deepEqual(queue.appliedPosition, position(300));
      await backing.close();
      assert.ok(model.equals(await readFile(backing.path)), `seed ${seed}: disk differs from log order`);
    }
  });

  it("writes what one event-loop turn issues as one group, and advances the position per group", async () => {
    const gate = new Gate();
    const storage = new FaultyStorage({
      beforeOp: (_op, _path, count) => (count === 1 ? gate.wait() : undefined),
    });
    const backing = await disk(storage);
    const groups: number[] = [];
    const counting: RandomAccessFile = Object.create(backing, {
      writeRanges: {
        value: (ranges: readonly WriteRange[]) => {
          groups.push(ranges.length);
          return backing.writeRanges(ranges);
        },
      },
    }) as RandomAccessFile;
    const queue = new ApplyQueue(systemClock, counting, position(0));
    const first = queue.apply({ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }, position(1));
    const second = queue.apply({ offsetBytes: 4096, lengthBytes: 10, data: pattern(10, 2) }, position(2));
    while (gate.waiting === 0) await new Promise(setImmediate);
    // The first group is at the disk; what is issued now forms the next one.
    const third = queue.apply({ offsetBytes: 100, lengthBytes: 10, data: pattern(10, 3) }, position(3));
    queue.markApplied(position(4));
    assert.deepEqual(queue.appliedPosition, position(0), "nothing is on the disk yet");
    assert.equal(queue.inFlightCount, 3);
    assert.equal(queue.inFlightBytes, 30);
    gate.open();
    await Promise.all([first, second]);
    assert.ok(
      [position(2), position(4)].some((p) => JSON.stringify(p) === JSON.stringify(queue.appliedPosition)),
    );
    await third;
    assert.deepEqual(queue.appliedPosition, position(4), "the marker moved the position past the header");
    assert.deepEqual(groups, [2, 1]);
    assert.equal(queue.inFlightCount, 0);
    await backing.close();
  });

  it("hands a group to the disk only after the setImmediate callbacks of the turn that issued it", async () => {
    // Frontends acknowledge from setImmediate; the disk hand-off must not delay them.
    const events: string[] = [];
    const storage = new FaultyStorage({ beforeOp: (op) => void events.push(op) });
    const backing = await disk(storage);
    const queue = new ApplyQueue(systemClock, backing, position(0));
    const applied = queue.apply({ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }, position(1));
    setImmediate(() => events.push("acknowledge"));
    await applied;
    assert.deepEqual(events, ["acknowledge", "writev"]);
    await backing.close();
  });

  it("lets a read wait for exactly the in-flight writes that overlap it", async () => {
    const gate = new Gate();
    const storage = new FaultyStorage({ beforeOp: (op) => (op === "writev" ? gate.wait() : undefined) });
    const backing = await disk(storage);
    const queue = new ApplyQueue(systemClock, backing);
    const write = queue.apply({ offsetBytes: 8192, lengthBytes: 100, data: pattern(100, 3) });
    assert.equal(queue.rangeApplied(0, 8192), undefined, "no overlap: nothing to wait for");
    assert.equal(queue.rangeApplied(8292, 100), undefined);
    const wait = queue.rangeApplied(8000, 200);
    assert.ok(wait);
    let settled = false;
    void wait.then(() => (settled = true));
    await new Promise(setImmediate);
    assert.equal(settled, false);
    gate.open();
    await write;
    await wait;
    const target = Buffer.alloc(100);
    await backing.read(target, 8192);
    assert.deepEqual(target, pattern(100, 3));
    await backing.close();
  });

  it("stops the applied position for good after a failed write", async () => {
    const storage = new FaultyStorage({ failWritevFrom: 2 });
    const backing = await disk(storage);
    const queue = new ApplyQueue(systemClock, backing, position(0));
    await queue.apply({ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }, position(1));
    await assert.rejects(
      queue.apply({ offsetBytes: 100, lengthBytes: 10, data: pattern(10, 2) }, position(2)),
      /EIO/,
    );
    // Even though the disk "works" again, nothing more is written and the position stays.
    storage.plan.failWritevFrom = undefined;
    await assert.rejects(
      queue.apply({ offsetBytes: 200, lengthBytes: 10, data: pattern(10, 3) }, position(3)),
      /EIO/,
    );
    queue.markApplied(position(4));
    assert.equal(storage.calls.writev, 2, "no write after the failure");
    assert.deepEqual(queue.appliedPosition, position(1));
    assert.equal(queue.inFlightCount, 0);
    const reading = queue.rangeApplied(100, 10);
    assert.equal(reading, undefined, "the failed write is no longer in flight");
    assert.throws(() => queue.assertHealthy(), /EIO/);
    await backing.close();
  });

  it("reports a failed write that nobody waited for, once", async () => {
    const storage = new FaultyStorage({ failWritevFrom: 1 });
    const backing = await disk(storage);
    const failures: Error[] = [];
    const queue = new ApplyQueue(systemClock, backing, position(0), undefined, (err) => failures.push(err));
    queue.assertHealthy();
    // Issued and not awaited, as replay issues the records of a file and moves on.
    void queue
      .apply({ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }, position(1))
      .catch(() => undefined);
    void queue
      .apply({ offsetBytes: 100, lengthBytes: 10, data: pattern(10, 2) }, position(2))
      .catch(() => undefined);
    await queue.idle();
    assert.equal(failures.length, 1);
    assert.match(failures[0]?.message ?? "", /EIO/);
    assert.throws(() => queue.assertHealthy(), /EIO/);
    assert.deepEqual(queue.appliedPosition, position(0));
    await backing.close();
  });
});

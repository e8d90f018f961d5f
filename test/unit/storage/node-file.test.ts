import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { nodeStorage } from "../../../src/storage/node-file.js";
import { pattern } from "../../helpers/log-fixtures.js";
import { makeTempDir, type TempDir } from "../../helpers/temp-dir.js";

describe("NodeFile.writeRanges (worker-thread batches)", () => {
  let tmp: TempDir;
  before(async () => (tmp = await makeTempDir()));
  after(() => tmp.remove());

  it("writes ranges in order, later ranges winning, zero ranges included", async () => {
    const path = tmp.join("ranges");
    await writeFile(path, Buffer.alloc(3 * 1024 * 1024, 0xee));
    const file = await nodeStorage.open(path, "readwrite");
    const model = Buffer.alloc(3 * 1024 * 1024, 0xee);
    const ranges = [];
    for (let i = 0; i < 500; i++) {
      const offsetBytes = (i * 7919) % (model.length - 5000);
      const lengthBytes = 1 + ((i * 31) % 5000);
      if (i % 7 === 0) {
        model.fill(0, offsetBytes, offsetBytes + lengthBytes);
        ranges.push({ offsetBytes, lengthBytes });
      } else {
        // A view into a larger buffer, as NBD payloads are.
        const data = pattern(lengthBytes + 100, i).subarray(50, 50 + lengthBytes);
        data.copy(model, offsetBytes);
        ranges.push({ offsetBytes, lengthBytes, data });
      }
    }
    // A zero range larger than the worker's zero buffer.
    model.fill(0, 100, 100 + 1536 * 1024);
    ranges.push({ offsetBytes: 100, lengthBytes: 1536 * 1024 });
    await file.writeRanges(ranges);
    await file.close();
    assert.ok(model.equals(await readFile(path)));
  });

  it("reports a failed write with its code and path, and close() waits for batches", async () => {
    const path = tmp.join("readonly");
    await writeFile(path, Buffer.alloc(4096));
    const readOnly = await nodeStorage.open(path, "read");
    await assert.rejects(readOnly.writeRanges([{ offsetBytes: 0, lengthBytes: 10, data: pattern(10, 1) }]), {
      code: "EBADF",
      path,
    });
    await readOnly.close();

    const writable = await nodeStorage.open(path, "readwrite");
    const writing = writable.writeRanges([{ offsetBytes: 0, lengthBytes: 4096, data: pattern(4096, 2) }]);
    // Closing right away must not close the descriptor under the worker.
    await writable.close();
    await writing;
    assert.deepEqual(await readFile(path), pattern(4096, 2));
    await assert.rejects(writable.writeRanges([{ offsetBytes: 0, lengthBytes: 1 }]), /closed/);
  });
});

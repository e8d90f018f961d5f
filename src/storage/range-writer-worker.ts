/**
 * Worker thread body for RangeWriterPool: writes a batch of ranges to a
 * file descriptor with synchronous pwrites, in order, and answers once per
 * batch. Doing many small writes here, one message per batch, costs the
 * main thread far less than one thread-pool round trip per write (see
 * range-writer-pool.ts).
 */
import fs from "node:fs";
import { parentPort } from "node:worker_threads";
import type { RangeBatchMessage, RangeBatchResult } from "./range-writer-pool.js";

const ZEROES = new Uint8Array(1024 * 1024);

function writeFully(fd: number, data: Uint8Array, positionBytes: number): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, positionBytes + done);
    if (n === 0) throw new Error(`write made no progress at ${positionBytes + done}`);
    done += n;
  }
}

function writeBatch(message: RangeBatchMessage): void {
  const { fd, offsets, lengths, hasData, buffer } = message;
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i] as number;
    const length = lengths[i] as number;
    if (hasData[i] === 1) {
      writeFully(fd, bytes.subarray(at, at + length), offset);
      at += length;
    } else {
      for (let done = 0; done < length; done += ZEROES.length) {
        writeFully(fd, ZEROES.subarray(0, Math.min(ZEROES.length, length - done)), offset + done);
      }
    }
  }
}

const port = parentPort;
if (!port) throw new Error("range-writer-worker must run in a worker thread");
port.on("message", (message: RangeBatchMessage) => {
  let result: RangeBatchResult;
  try {
    writeBatch(message);
    result = { id: message.id, buffer: message.buffer };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    result = {
      id: message.id,
      buffer: message.buffer,
      error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall },
    };
  }
  port.postMessage(result, [message.buffer]);
});

/**
 * Worker thread body for RangeWriterPool: writes a batch of ranges with
 * synchronous pwrites, in order, and answers once per batch. Doing many
 * small writes here, one message per batch, costs the main thread far less
 * than one thread-pool round trip per write (see range-writer-pool.ts).
 */
import fs from "node:fs";
import { parentPort } from "node:worker_threads";
import { DIRECT_IO_ALIGN_BYTES } from "./types.js";
import { InternalError } from "../../util/errors.js";
const MIB = 1024 * 1024;
function pageAlignedMemory() {
    try {
        return new WebAssembly.Memory({ initial: 32, maximum: 32 }).buffer;
    }
    catch {
        return undefined;
    }
}
const PAGE_ALIGNED = pageAlignedMemory();
const STAGING = PAGE_ALIGNED ? new Uint8Array(PAGE_ALIGNED, 0, MIB) : undefined;
const ZEROES = PAGE_ALIGNED ? new Uint8Array(PAGE_ALIGNED, MIB, MIB) : new Uint8Array(MIB);
function writeFully(fd, data, positionBytes) {
    let done = 0;
    while (done < data.length) {
        const n = fs.writeSync(fd, data, done, data.length - done, positionBytes + done);
        // An I/O error in the terms of the Storage contract (errors carry a POSIX code).
        if (n === 0)
            throw Object.assign(new Error(`write made no progress at ${positionBytes + done}`), { code: "EIO" });
        done += n;
    }
}
/** Writes `data` through the O_DIRECT descriptor, copied piecewise into aligned memory (zeroes need no copy). */
function writeDirect(directFd, staging, data, zeroes, positionBytes) {
    for (let done = 0; done < data.length; done += staging.length) {
        const n = Math.min(staging.length, data.length - done);
        let source = ZEROES.subarray(0, n);
        if (!zeroes) {
            source = staging.subarray(0, n);
            source.set(data.subarray(done, done + n));
        }
        writeFully(directFd, source, positionBytes + done);
    }
}
class BatchWriter {
    message;
    /**
     * Set once the O_DIRECT descriptor refused a write, or at once when this
     * worker has no aligned memory: the rest of the batch is written buffered.
     */
    directRefused;
    constructor(message) {
        this.message = message;
        this.directRefused = message.directFd >= 0 && STAGING === undefined;
    }
    write(data, zeroes, offsetBytes) {
        const { fd, directFd } = this.message;
        const aligned = offsetBytes % DIRECT_IO_ALIGN_BYTES === 0 && data.length % DIRECT_IO_ALIGN_BYTES === 0;
        if (directFd >= 0 && aligned && !this.directRefused && STAGING) {
            try {
                writeDirect(directFd, STAGING, data, zeroes, offsetBytes);
                return;
            }
            catch (err) {
                // The device or filesystem wants more alignment than we assume: buffered from now on.
                if (err.code !== "EINVAL")
                    throw err;
                this.directRefused = true;
            }
        }
        writeFully(fd, data, offsetBytes);
    }
    writeAll() {
        const { offsets, lengths, hasData, buffer } = this.message;
        const bytes = new Uint8Array(buffer);
        let at = 0;
        for (let i = 0; i < offsets.length; i++) {
            const offset = offsets[i];
            const length = lengths[i];
            if (hasData[i] === 1) {
                this.write(bytes.subarray(at, at + length), false, offset);
                at += length;
            }
            else {
                for (let done = 0; done < length; done += ZEROES.length) {
                    this.write(ZEROES.subarray(0, Math.min(ZEROES.length, length - done)), true, offset + done);
                }
            }
        }
    }
}
const port = parentPort;
if (!port)
    throw new InternalError("range-writer-worker must run in a worker thread");
port.on("message", (message) => {
    const writer = new BatchWriter(message);
    let result;
    try {
        writer.writeAll();
        result = { id: message.id, buffer: message.buffer, directRefused: writer.directRefused };
    }
    catch (err) {
        const e = err;
        result = {
            id: message.id,
            buffer: message.buffer,
            directRefused: writer.directRefused,
            error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall },
        };
    }
    port.postMessage(result, [message.buffer]);
});
//# sourceMappingURL=range-writer-worker.js.map
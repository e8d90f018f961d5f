export const SMALL_BATCH_BYTES = 256 * 1024;
/** Distance left between the last reserved byte and a fresh fill, for batches formed meanwhile. */
const FILL_MARGIN_BYTES = 256 * 1024;
const ZEROES = new Uint8Array(1024 * 1024);
export class LogPreallocator {
    storage;
    filePath;
    chunkBytes;
    onFilled;
    onError;
    handle;
    fill;
    averageBatchBytes = 0;
    stopped = false;
    /** Everything below this offset is written (records or zeroes) and allocated. */
    allocatedEndBytes;
    constructor(storage, filePath, chunkBytes, startBytes, 
    /** A fill finished: batches waiting on it may go. */
    onFilled, onError) {
        this.storage = storage;
        this.filePath = filePath;
        this.chunkBytes = chunkBytes;
        this.onFilled = onFilled;
        this.onError = onError;
        this.allocatedEndBytes = startBytes;
    }
    /** True if a batch at [offsetBytes, offsetBytes + lengthBytes) would overlap the fill in progress. */
    blocks(offsetBytes, lengthBytes) {
        const f = this.fill;
        return f !== undefined && offsetBytes + lengthBytes > f.startBytes && offsetBytes < f.endBytes;
    }
    /** Called for every batch reserved up to `reservedEndBytes`; starts a fill when the space ahead runs low. */
    batchReserved(reservedEndBytes, batchBytes) {
        this.averageBatchBytes = this.averageBatchBytes * 0.9 + batchBytes * 0.1;
        if (this.stopped || this.fill || this.averageBatchBytes >= SMALL_BATCH_BYTES)
            return;
        if (this.allocatedEndBytes - reservedEndBytes >= this.chunkBytes)
            return;
        const startBytes = this.allocatedEndBytes >= reservedEndBytes
            ? this.allocatedEndBytes
            : reservedEndBytes + FILL_MARGIN_BYTES;
        const endBytes = startBytes + this.chunkBytes;
        const done = this.zeroFill(startBytes, endBytes).then(() => {
            this.allocatedEndBytes = Math.max(this.allocatedEndBytes, endBytes);
            this.fill = undefined;
            this.onFilled();
        }, (err) => {
            this.fill = undefined;
            this.stopped = true;
            this.onError(err);
        });
        this.fill = { startBytes, endBytes, done };
    }
    /** Issues no further IO from now on (the log failed: nothing may touch the file any more). */
    halt() {
        this.stopped = true;
    }
    /** Stops filling; resolves once no fill is running and the second handle is closed. */
    async stop() {
        this.stopped = true;
        await this.fill?.done;
        await this.handle?.close();
        this.handle = undefined;
    }
    async zeroFill(startBytes, endBytes) {
        this.handle ??= await this.storage.open(this.filePath, "readwrite");
        const buffers = [];
        for (let at = startBytes; at < endBytes; at += ZEROES.length) {
            buffers.push(ZEROES.subarray(0, Math.min(ZEROES.length, endBytes - at)));
        }
        if (this.stopped)
            return;
        await this.handle.writev(buffers, startBytes);
        // After a failure of the log no sync may be issued: its success would prove nothing.
        if (this.stopped)
            return;
        await this.handle.datasync();
    }
}
//# sourceMappingURL=preallocator.js.map
/**
 * Bytes received on a socket and not yet parsed. Consuming a range that
 * lies inside one received chunk returns a view (no copy); only ranges
 * spanning chunks are concatenated.
 */
export class ByteQueue {
    chunks = [];
    headOffset = 0;
    total = 0;
    get length() {
        return this.total;
    }
    push(chunk) {
        if (chunk.length === 0)
            return;
        this.chunks.push(chunk);
        this.total += chunk.length;
    }
    /** Removes and returns the next n bytes (n <= length). */
    take(n) {
        if (n === 0)
            return Buffer.alloc(0);
        const head = this.chunks[0];
        const availableInHead = head.length - this.headOffset;
        if (n <= availableInHead) {
            const out = head.subarray(this.headOffset, this.headOffset + n);
            this.advance(n);
            return out;
        }
        const out = Buffer.allocUnsafe(n);
        let filled = 0;
        while (filled < n) {
            const chunk = this.chunks[0];
            const count = Math.min(chunk.length - this.headOffset, n - filled);
            chunk.copy(out, filled, this.headOffset, this.headOffset + count);
            filled += count;
            this.advance(count);
        }
        return out;
    }
    /** Drops up to n bytes; returns how many were dropped. */
    skip(n) {
        const count = Math.min(n, this.total);
        let left = count;
        while (left > 0) {
            const chunk = this.chunks[0];
            const step = Math.min(chunk.length - this.headOffset, left);
            this.advance(step);
            left -= step;
        }
        return count;
    }
    advance(n) {
        this.headOffset += n;
        this.total -= n;
        const head = this.chunks[0];
        if (this.headOffset === head.length) {
            this.chunks.shift();
            this.headOffset = 0;
        }
    }
}
//# sourceMappingURL=byte-queue.js.map
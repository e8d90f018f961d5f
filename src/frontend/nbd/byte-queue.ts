/**
 * Bytes received on a socket and not yet parsed. Consuming a range that
 * lies inside one received chunk returns a view (no copy); only ranges
 * spanning chunks are concatenated.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Removes and returns the next n bytes (n <= length). */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const head = this.chunks[0] as Buffer;
    const availableInHead = head.length - this.headOffset;
    if (n <= availableInHead) {
      const out = head.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const count = Math.min(chunk.length - this.headOffset, n - filled);
      chunk.copy(out, filled, this.headOffset, this.headOffset + count);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  /** Drops up to n bytes; returns how many were dropped. */
  skip(n: number): number {
    const count = Math.min(n, this.total);
    let left = count;
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer;
      const step = Math.min(chunk.length - this.headOffset, left);
      this.advance(step);
      left -= step;
    }
    return count;
  }

  private advance(n: number): void {
    this.headOffset += n;
    this.total -= n;
    const head = this.chunks[0] as Buffer;
    if (this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}

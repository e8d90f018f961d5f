/**
 * The storage seam. Everything that touches files or devices goes through
 * these interfaces, so tests can wire a disk that tears writes or fails
 * fsync (see test/helpers/faulty-file.ts) while production wires Node's fs.
 */

/** One range of RandomAccessFile.writeRanges. */
export interface WriteRange {
  offsetBytes: number;
  lengthBytes: number;
  /** Undefined means zeroes. */
  data?: Uint8Array;
}

/** A file or block device addressed by byte position (pread/pwrite style). */
export interface RandomAccessFile {
  readonly path: string;
  /**
   * True when every write is durable by the time it completes (the file was
   * opened with OpenOptions.syncWrites and the implementation honours it):
   * then a writev is a write plus an fdatasync in one system call, and a
   * separate datasync() is not needed. Absent or false: call datasync().
   */
  readonly syncWrites?: boolean;
  /** Reads up to target.length bytes at positionBytes; returns the count (short only at end of file). */
  read(target: Uint8Array, positionBytes: number): Promise<number>;
  /** Writes every byte of every buffer, in order, starting at positionBytes. */
  writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void>;
  /**
   * Writes independent ranges, in order (a later range wins where two
   * overlap), with no atomicity and no sync: how logged writes are applied
   * to a disk. One call for many small writes is much cheaper than a
   * writev each (NodeFile hands the whole batch to a worker thread).
   */
  writeRanges(ranges: readonly WriteRange[]): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back are durable when this resolves. */
  datasync(): Promise<void>;
  truncate(lengthBytes: number): Promise<void>;
  /** Current length (for block devices: the device size). */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export type OpenMode =
  /** Read only; the file must exist. */
  | "read"
  /** Read and write; the file must exist. */
  | "readwrite"
  /** Create a new file; fails if it exists. */
  | "create";

export interface OpenOptions {
  /**
   * Ask for synchronous data writes (O_DSYNC). The log uses it so one batch
   * costs one system call, one thread-pool round trip, instead of two.
   * Implementations may ignore it; they then report syncWrites = false.
   */
  syncWrites?: boolean;
}

export interface Storage {
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<RandomAccessFile>;
}

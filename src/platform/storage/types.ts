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
  /**
   * True while writeRanges writes aligned ranges with O_DIRECT (asked for
   * with OpenOptions.directWrites, and neither the open nor a write was
   * refused by the filesystem or device).
   */
  readonly directWrites?: boolean;
  /** Reads up to target.length bytes at positionBytes; returns the count (short only at end of file). */
  read(target: Uint8Array, positionBytes: number): Promise<number>;
  /** Writes every byte of every buffer, in order, starting at positionBytes. */
  writev(buffers: readonly Uint8Array[], positionBytes: number): Promise<void>;
  /**
   * Writes independent ranges as if in order (a later range wins where two
   * overlap; ranges that do not overlap may be written in parallel), with
   * no atomicity and no sync: how logged writes are applied to a disk. One
   * call for many small writes is much cheaper than a writev each
   * (NodeFile hands the batch to worker threads).
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
  /**
   * Let writeRanges bypass the page cache (O_DIRECT) for ranges aligned to
   * DIRECT_IO_ALIGN_BYTES; other writes and all reads stay buffered. Used
   * for the backing disk, whose writes are already durable in the log.
   * Implementations may ignore it (a filesystem without O_DIRECT does).
   */
  directWrites?: boolean;
}

export type FileKind = "file" | "directory" | "block-device" | "symlink" | "other";

/** What stat(2) says about a path (what the code here needs of it). */
export interface FileFacts {
  kind: FileKind;
  sizeBytes: number;
  /** Device and inode of the file itself: its identity, stable across renames. */
  device: bigint;
  inode: bigint;
  /** For a block device: its major:minor number. */
  rdev: bigint;
  /** Number of names (hard links) of the file. */
  links: number;
  modifiedMs: number;
}

/** What statfs(2) says about the filesystem holding a path. */
export interface FilesystemSpace {
  /** Total size of the filesystem. */
  sizeBytes: number;
  /** Free blocks, including those reserved for root. */
  freeBytes: number;
  /** Free blocks an unprivileged process may use (statfs f_bavail): what space decisions go by. */
  availableBytes: number;
}

/**
 * Failures are Errors with a POSIX `code` (ENOENT, EEXIST, EIO, ENOSPC,
 * EACCES, ...), as Node's fs reports them; `isErrno` tests them.
 */
export interface Storage {
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<RandomAccessFile>;
  /** The whole content of a (small) file. */
  readFile(path: string): Promise<Uint8Array>;
  /** The names in a directory, in no particular order. */
  list(dir: string): Promise<string[]>;
  /** stat(2), or lstat(2) with followLinks false. */
  stat(path: string, options?: { followLinks?: boolean }): Promise<FileFacts>;
  /** realpath(3): absolute, symbolic links resolved; rejects ENOENT if it does not exist. */
  realPath(path: string): Promise<string>;
  /**
   * mkdir -p; `mode` (default 0o777 before the umask) applies to the
   * directories it creates. Durable only once each new directory's parent is synced.
   */
  makeDirectory(dir: string, options?: { mode?: number }): Promise<void>;
  /** rm -rf; a path that is already gone is not an error. Durable only once the parent is synced. */
  removeTree(path: string): Promise<void>;
  /**
   * rename(2): `toPath` is replaced atomically (readers see the old or the
   * new file, never a mix). Durable only once the directory is synced.
   */
  rename(fromPath: string, toPath: string): Promise<void>;
  /** unlink(2); a file that is already gone is not an error. Durable only once the directory is synced. */
  remove(path: string): Promise<void>;
  /**
   * fsync of a directory: the creations, renames and removals in it so far
   * survive a crash. Without it a new file (or a removal) may not.
   */
  syncDirectory(dir: string): Promise<void>;
  /** statfs(2) of the filesystem that holds `path`. */
  statfs(path: string): Promise<FilesystemSpace>;
}

/** Offsets and lengths of O_DIRECT writes are multiples of this (the largest common logical block size). */
export const DIRECT_IO_ALIGN_BYTES = 4096;

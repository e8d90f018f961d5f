/**
 * The storage seam. Everything that touches files or devices goes through
 * these interfaces, so tests can wire a disk that tears writes or fails
 * fsync (see test/helpers/faulty-file.ts) while production wires Node's fs.
 */
/** Offsets and lengths of O_DIRECT writes are multiples of this (the largest common logical block size). */
export const DIRECT_IO_ALIGN_BYTES = 4096;
//# sourceMappingURL=types.js.map
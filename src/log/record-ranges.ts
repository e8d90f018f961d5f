/**
 * The disk ranges the records of a log file write or zero: what a dirty map
 * must cover when those records will never be replayed somewhere (a file
 * deleted under a member cut loose, the logged writes between two gaps).
 */
import type { Storage } from "../platform/storage/types.js";
import { RecordKind } from "./record.js";
import { scanLogFile } from "./scanner.js";

export interface DiskRange {
  offsetBytes: number;
  lengthBytes: number;
}

/** Scans `path` up to `lengthBytes`; a file of length 0 (listed, never written) has none. */
export async function recordRanges(
  storage: Storage,
  path: string,
  lengthBytes: number,
): Promise<DiskRange[]> {
  const ranges: DiskRange[] = [];
  if (lengthBytes === 0) return ranges;
  const file = await storage.open(path, "read");
  try {
    await scanLogFile(file, {
      toOffsetBytes: lengthBytes,
      onRecord: (record) => {
        if (record.kind === RecordKind.Write || record.kind === RecordKind.Zero) {
          ranges.push({ offsetBytes: record.offsetBytes, lengthBytes: record.lengthBytes });
        }
        return Promise.resolve();
      },
    });
  } finally {
    await file.close();
  }
  return ranges;
}

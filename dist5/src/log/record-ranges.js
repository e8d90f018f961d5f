import { RecordKind } from "./record.js";
import { scanLogFile } from "./scanner.js";
/** Scans `path` up to `lengthBytes`; a file of length 0 (listed, never written) has none. */
export async function recordRanges(storage, path, lengthBytes) {
    const ranges = [];
    if (lengthBytes === 0)
        return ranges;
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
    }
    finally {
        await file.close();
    }
    return ranges;
}
//# sourceMappingURL=record-ranges.js.map
/**
 * The first record of every log file (kind FILE_HEADER, seq 0) describes the
 * file, so a file is self-identifying even when renamed or copied: which
 * resource and host wrote it, its number, and where it starts in the
 * resource's log stream (the sum of the lengths of all earlier files).
 * Stream positions make lag a simple subtraction across file boundaries.
 */
import { RecordKind, encodeRecordHeader } from "./record.js";
export function encodeFileHeaderRecord(header) {
    const payload = Buffer.from(JSON.stringify(header), "utf8");
    const head = encodeRecordHeader({
        kind: RecordKind.FileHeader,
        seq: 0,
        durableSeq: 0,
        stampUs: header.createdStampUs,
        offsetBytes: 0,
        lengthBytes: 0,
    }, payload);
    return [head, payload];
}
export function parseFileHeaderPayload(payload) {
    let value;
    try {
        value = JSON.parse(payload.toString("utf8"));
    }
    catch {
        return "file header is not JSON";
    }
    const h = value;
    if (!h ||
        h.format !== 1 ||
        typeof h.resource !== "string" ||
        typeof h.host !== "string" ||
        !Number.isSafeInteger(h.fileNumber) ||
        !Number.isSafeInteger(h.streamStartBytes) ||
        !Number.isSafeInteger(h.createdStampUs) ||
        typeof h.prevVersion !== "string" ||
        (h.gap !== undefined && !isLogGap(h.gap))) {
        return "file header has missing or invalid fields";
    }
    return h;
}
function isLogGap(value) {
    const g = value;
    return (typeof g === "object" &&
        g !== null &&
        g.reason === "emergency" &&
        typeof g.host === "string" &&
        typeof g.afterFile === "string");
}
//# sourceMappingURL=file-header.js.map
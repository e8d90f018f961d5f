/**
 * The first record of every log file (kind FILE_HEADER, seq 0) describes the
 * file, so a file is self-identifying even when renamed or copied: which
 * resource and host wrote it, its number, and where it starts in the
 * resource's log stream (the sum of the lengths of all earlier files).
 * Stream positions make lag a simple subtraction across file boundaries.
 */
import { RecordKind, encodeRecordHeader } from "./record.js";

export interface LogFileHeader {
  format: 1;
  resource: string;
  host: string;
  fileNumber: number;
  /** Stream position of this file's first byte. */
  streamStartBytes: number;
  createdStampUs: number;
  /**
   * Version of the file this one continues (the previous file's version, or
   * the resource's genesis version): the link of the version chain.
   */
  prevVersion: string;
  /**
   * Set when this file does not carry every write made since the previous
   * file: its writer ran in emergency mode in between (log space ran out)
   * and wrote straight to its disk, recording the regions in its dirty map.
   * A replica may replay into this file only after copying those regions
   * from `gap.host` (a region resync); the writer's own disk holds them.
   */
  gap?: LogGap;
}

export interface LogGap {
  reason: "emergency";
  /** The node whose dirty map holds the regions written in the gap. */
  host: string;
  /** The last file written before the gap. */
  afterFile: string;
}

export function encodeFileHeaderRecord(header: LogFileHeader): Buffer[] {
  const payload = Buffer.from(JSON.stringify(header), "utf8");
  const head = encodeRecordHeader(
    {
      kind: RecordKind.FileHeader,
      seq: 0,
      durableSeq: 0,
      stampUs: header.createdStampUs,
      offsetBytes: 0,
      lengthBytes: 0,
    },
    payload,
  );
  return [head, payload];
}

export function parseFileHeaderPayload(payload: Buffer): LogFileHeader | string {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    return "file header is not JSON";
  }
  const h = value as Partial<LogFileHeader> | null;
  if (
    !h ||
    h.format !== 1 ||
    typeof h.resource !== "string" ||
    typeof h.host !== "string" ||
    !Number.isSafeInteger(h.fileNumber) ||
    !Number.isSafeInteger(h.streamStartBytes) ||
    !Number.isSafeInteger(h.createdStampUs) ||
    typeof h.prevVersion !== "string" ||
    (h.gap !== undefined && !isLogGap(h.gap))
  ) {
    return "file header has missing or invalid fields";
  }
  return h as LogFileHeader;
}

function isLogGap(value: unknown): value is LogGap {
  const g = value as Partial<LogGap> | null;
  return (
    typeof g === "object" &&
    g !== null &&
    g.reason === "emergency" &&
    typeof g.host === "string" &&
    typeof g.afterFile === "string"
  );
}

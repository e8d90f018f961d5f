/**
 * The cluster state's write-ahead journal. Every change is appended as one
 * line and made durable with an fdatasync (changes made meanwhile share
 * it), so a node that restarts remembers every change without rewriting
 * the whole state each time; the state store writes a fresh snapshot and
 * empties the journal once it has grown large.
 *
 * A line is `<crc32c of the JSON, 8 hex digits> <JSON>\n`. Reading stops at
 * the first line that does not check out (a torn append during a crash) and
 * cuts the file there. Operations are idempotent under the state's merge
 * rule, so replaying lines already contained in the snapshot is harmless.
 */
import { crc32c } from "../util/crc32c.js";
import { isErrno } from "../util/errors.js";
import type { RandomAccessFile, Storage } from "../storage/types.js";
import type { StampUs } from "./clock.js";
import type { StateEntry } from "./state-store.js";

export type JournalOp =
  | { put: StateEntry }
  /** An entry collected or forgotten (only if not rewritten since: stamp at or below). */
  | { drop: { key: string; stampUs: StampUs } }
  | { seen: Record<string, StampUs> }
  /** Everything forgotten (this node left the cluster). */
  | { clear: true };

export const JOURNAL_FILE = "state.journal";

function encodeLine(op: JournalOp): Buffer {
  const json = JSON.stringify(op);
  const crc = crc32c(Buffer.from(json, "utf8")).toString(16).padStart(8, "0");
  return Buffer.from(`${crc} ${json}\n`, "utf8");
}

/** Parses the valid prefix of a journal; returns the ops and its length in bytes. */
export function parseJournal(data: Buffer): { ops: JournalOp[]; validBytes: number } {
  const ops: JournalOp[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf(0x0a, at);
    if (end < 0) break;
    const line = data.subarray(at, end).toString("utf8");
    const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
    if (!m || crc32c(Buffer.from(m[2] as string, "utf8")) !== parseInt(m[1] as string, 16)) break;
    try {
      ops.push(JSON.parse(m[2] as string) as JournalOp);
    } catch {
      break;
    }
    at = end + 1;
  }
  return { ops, validBytes: at };
}

export class StateJournal {
  private constructor(
    private readonly file: RandomAccessFile,
    private lengthBytes: number,
  ) {}

  /** Opens (or creates) the journal and returns what it holds; a torn tail is cut off. */
  static async open(storage: Storage, path: string): Promise<{ journal: StateJournal; ops: JournalOp[] }> {
    let file: RandomAccessFile;
    try {
      file = await storage.open(path, "readwrite");
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
      file = await storage.open(path, "create");
    }
    const size = await file.sizeBytes();
    const data = Buffer.alloc(size);
    const n = await file.read(data, 0);
    const { ops, validBytes } = parseJournal(data.subarray(0, n));
    if (validBytes < size) {
      await file.truncate(validBytes);
      await file.datasync();
    }
    return { journal: new StateJournal(file, validBytes), ops };
  }

  get sizeBytes(): number {
    return this.lengthBytes;
  }

  /** Appends the ops durably (one write, one fdatasync). */
  async append(ops: readonly JournalOp[]): Promise<void> {
    const lines = ops.map(encodeLine);
    await this.file.writev(lines, this.lengthBytes);
    this.lengthBytes += lines.reduce((n, l) => n + l.length, 0);
    await this.file.datasync();
  }

  /** Empties the journal (its content is in a snapshot now). */
  async reset(): Promise<void> {
    await this.file.truncate(0);
    await this.file.datasync();
    this.lengthBytes = 0;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

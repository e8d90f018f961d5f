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
 *
 * Generations tie a journal to its snapshot. Emptying the journal after a
 * snapshot writes one first line, `{generation}`, naming the snapshot it
 * continues. A crash between the snapshot's rename and that reset leaves a
 * journal of an older generation: everything in it is in the snapshot
 * already, and replaying it would be wrong, not just redundant (an entry
 * the snapshot no longer holds, dropped or cleared, would come back), so
 * the store ignores it. So is a journal without a generation line behind
 * a snapshot that has one (the journal from before the first snapshot); a
 * snapshot without a generation (written before generations existed) is
 * followed by whatever journal there is.
 *
 * A failed write or fdatasync is fatal for the journal file, as for a log
 * file: the kernel may have dropped the failed pages, so the file is never
 * written or synced again (JournalFailedError). The store then writes a
 * snapshot and replaces the journal with a new file (replace()).
 */
import path from "node:path";
import { createTemporaryFile } from "../platform/storage/atomic-file.js";
import { crc32c } from "../util/crc32c.js";
import { MarsError, errorMessage, isErrno } from "../util/errors.js";
export const JOURNAL_FILE = "state.journal";
function encodeLine(op) {
    const json = JSON.stringify(op);
    const crc = crc32c(Buffer.from(json, "utf8")).toString(16).padStart(8, "0");
    return Buffer.from(`${crc} ${json}\n`, "utf8");
}
/** Parses the valid prefix of a journal; returns the ops and its length in bytes. */
export function parseJournal(data) {
    const ops = [];
    let at = 0;
    while (at < data.length) {
        const end = data.indexOf(0x0a, at);
        if (end < 0)
            break;
        const line = data.subarray(at, end).toString("utf8");
        const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
        if (!m || crc32c(Buffer.from(m[2], "utf8")) !== parseInt(m[1], 16))
            break;
        try {
            ops.push(JSON.parse(m[2]));
        }
        catch {
            break;
        }
        at = end + 1;
    }
    return { ops, validBytes: at };
}
/** The journal file failed a write or sync earlier; it is not touched again. */
export class JournalFailedError extends MarsError {
    constructor(message, options) {
        super("JOURNAL_FAILED", message, options);
    }
}
export class StateJournal {
    path;
    file;
    lengthBytes;
    failure;
    constructor(path, file, lengthBytes) {
        this.path = path;
        this.file = file;
        this.lengthBytes = lengthBytes;
    }
    /** Opens (or creates) the journal and returns what it holds; a torn tail is cut off. */
    static async open(storage, path_) {
        let file;
        try {
            file = await storage.open(path_, "readwrite");
        }
        catch (err) {
            if (!isErrno(err, "ENOENT"))
                throw err;
            file = await storage.open(path_, "create");
            // A new journal must survive a crash, or the changes appended to it vanish with it.
            await storage.syncDirectory(path.dirname(path_));
        }
        const size = await file.sizeBytes();
        const data = Buffer.alloc(size);
        const n = await file.read(data, 0);
        const { ops, validBytes } = parseJournal(data.subarray(0, n));
        if (validBytes < size) {
            await file.truncate(validBytes);
            await file.datasync();
        }
        const first = ops[0];
        const generation = first && "generation" in first ? first.generation : undefined;
        return {
            journal: new StateJournal(path_, file, validBytes),
            ops: generation === undefined ? ops : ops.slice(1),
            generation,
        };
    }
    /**
     * A new, empty journal of `generation` in place of the one at `path_`
     * (which failed): written as a temporary file, synced, renamed over it.
     */
    static async replace(storage, path_, generation) {
        const dir = path.dirname(path_);
        const line = encodeLine({ generation });
        const { path: tmp, file } = await createTemporaryFile(path_, storage);
        try {
            await file.writev([line], 0);
            await file.datasync();
            await storage.rename(tmp, path_);
            await storage.syncDirectory(dir);
        }
        catch (err) {
            await file.close().catch(() => undefined);
            throw err;
        }
        return new StateJournal(path_, file, line.length);
    }
    get sizeBytes() {
        return this.lengthBytes;
    }
    /** Set once a write or sync of this file failed: it must be replaced. */
    get failed() {
        return this.failure;
    }
    /** Appends the ops durably (one write, one fdatasync). */
    async append(ops) {
        const lines = ops.map(encodeLine);
        await this.guard(async () => {
            await this.file.writev(lines, this.lengthBytes);
            this.lengthBytes += lines.reduce((n, l) => n + l.length, 0);
            await this.file.datasync();
        });
    }
    /** Empties the journal (its content is in the snapshot of `generation` now) and starts it with that generation. */
    async reset(generation) {
        const line = encodeLine({ generation });
        await this.guard(async () => {
            await this.file.truncate(0);
            this.lengthBytes = 0;
            await this.file.writev([line], 0);
            this.lengthBytes = line.length;
            await this.file.datasync();
        });
    }
    close() {
        return this.file.close();
    }
    /** Runs one write of the file; the first failure is final (never retried on this file). */
    async guard(write) {
        if (this.failure) {
            throw new JournalFailedError(`${this.path} failed earlier: ${errorMessage(this.failure)}`, {
                cause: this.failure,
            });
        }
        try {
            await write();
        }
        catch (err) {
            this.failure = err instanceof Error ? err : new Error(String(err));
            throw err;
        }
    }
}
//# sourceMappingURL=state-journal.js.map
/**
 * The log files of one resource present on this node: the ones this node
 * wrote as primary and the copies it fetched from others. It knows each
 * file's trustworthy length (durable for our own current file, verified for
 * fetched ones), announces growth so the log server and the replayer can
 * follow a file as it grows, and computes (and caches) each file's version.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { listLogFiles } from "../log/log-directory.js";
import { formatLogName, parseLogName } from "../log/log-name.js";
import { readLogFileHeader, scanLogFile } from "../log/scanner.js";
import { removeStaleTemporaries } from "../platform/storage/atomic-file.js";
import { computeFileVersion } from "../log/version.js";
import { InternalError, LogCorruptError } from "../util/errors.js";
export class LocalLogs extends EventEmitter {
    dir;
    storage;
    files = new Map();
    headers = new Map();
    versions = new Map();
    /** Files whose final length is known (finished by their writer, or fetched to their end). */
    finishedFiles = new Set();
    constructor(dir, storage) {
        super();
        this.dir = dir;
        this.storage = storage;
        this.setMaxListeners(0);
    }
    /**
     * Learns the files present in the directory (lengths = sizes; callers
     * validate tails), after removing what a crash in the middle of creating
     * a file left behind (see discardUnstarted). Returns what it removed.
     */
    async load() {
        const entries = await listLogFiles(this.storage, this.dir);
        const discarded = await this.discardUnstarted(entries);
        const temporaries = await removeStaleTemporaries(this.dir, this.storage);
        for (const entry of entries) {
            if (discarded.includes(entry.fileName))
                continue;
            const size = (await this.storage.stat(entry.path)).sizeBytes;
            this.files.set(entry.fileName, { ...entry, name: entry.fileName, lengthBytes: size });
        }
        return { discarded, temporaries };
    }
    /**
     * A log file is created (O_EXCL), then its header is written and synced,
     * and only then does anything else see it (the writer's appends, the log
     * server, a fetched copy's growth). A crash between the creation and a
     * durable header leaves a file without a valid header: empty, a torn
     * header, or zeroes. It holds nothing anyone was promised, and as long as
     * it is the newest file nothing continues it; left in place, it would
     * make the next writer's create fail (EEXIST) or look like a second
     * candidate for its number. Such files are removed durably (unlink, then
     * fsync the directory) so the number is free again.
     *
     * "Nothing durable" is the scanner's own rule: the file is torn at offset
     * 0 with no valid record behind that proves the header was durable (every
     * data record's durableSeq is >= 1). A damaged header followed by such a
     * record is corruption and stays, for recovery to report. A file with a
     * valid header (even with no records) is part of the chain and stays.
     */
    async discardUnstarted(entries) {
        const discarded = [];
        let newestDurable;
        for (const entry of [...entries].reverse()) {
            if (newestDurable !== undefined && entry.fileNumber < newestDurable)
                break;
            if (await this.holdsNothingDurable(entry.path)) {
                await this.storage.remove(entry.path);
                discarded.push(entry.fileName);
            }
            else {
                newestDurable ??= entry.fileNumber;
            }
        }
        if (discarded.length > 0)
            await this.storage.syncDirectory(this.dir);
        return discarded;
    }
    async holdsNothingDurable(filePath) {
        const file = await this.storage.open(filePath, "read");
        try {
            if (typeof (await readLogFileHeader(file)) !== "string")
                return false;
            const outcome = await scanLogFile(file);
            return outcome.status !== "corrupt" && outcome.endOffsetBytes === 0;
        }
        finally {
            await file.close();
        }
    }
    list() {
        return [...this.files.values()].sort((a, b) => a.fileNumber - b.fileNumber || (a.host < b.host ? -1 : 1));
    }
    get(name) {
        return this.files.get(name);
    }
    /** Files numbered `fileNumber` (more than one only in a split brain). */
    withNumber(fileNumber) {
        return this.list().filter((f) => f.fileNumber === fileNumber);
    }
    newest() {
        return this.list().at(-1);
    }
    pathOf(name) {
        return path.join(this.dir, typeof name === "string" ? name : formatLogName(name));
    }
    /** Registers a file (new own file, or a fetched copy being started). */
    add(name, lengthBytes) {
        const parsed = parseLogName(name);
        if (!parsed)
            throw new InternalError(`not a log file name: ${name}`);
        const file = { ...parsed, name, path: this.pathOf(name), lengthBytes };
        this.files.set(name, file);
        this.versions.delete(name);
        this.emit("grow", name, lengthBytes);
        return file;
    }
    /** The trustworthy length of a file grew. */
    grow(name, lengthBytes) {
        const file = this.files.get(name);
        if (!file || lengthBytes <= file.lengthBytes)
            return;
        file.lengthBytes = lengthBytes;
        this.versions.delete(name);
        this.emit("grow", name, lengthBytes);
    }
    /** Sets the length after cutting a torn or unverified tail. */
    setLength(name, lengthBytes) {
        const file = this.files.get(name);
        if (!file)
            return;
        file.lengthBytes = lengthBytes;
        this.versions.delete(name);
    }
    markFinished(name) {
        if (this.finishedFiles.has(name))
            return;
        this.finishedFiles.add(name);
        this.emit("finished", name);
    }
    isFinished(name) {
        return this.finishedFiles.has(name);
    }
    /**
     * Deletes a file durably (unlink, then fsync the directory): a deleted
     * file must not come back after a power loss, next to files written
     * after it was gone.
     */
    async remove(name) {
        this.files.delete(name);
        this.headers.delete(name);
        this.versions.delete(name);
        this.finishedFiles.delete(name);
        await this.storage.remove(this.pathOf(name));
        await this.storage.syncDirectory(this.dir);
    }
    /** The file's header record (read once, cached). */
    async header(name) {
        const cached = this.headers.get(name);
        if (cached)
            return cached;
        const file = await this.storage.open(this.pathOf(name), "read");
        try {
            const header = await readLogFileHeader(file);
            if (typeof header === "string")
                throw new LogCorruptError(`${name}: ${header}`);
            const parsed = parseLogName(name);
            if (header.fileNumber !== parsed?.fileNumber || header.host !== parsed.host) {
                throw new LogCorruptError(`${name}: its header names ${formatLogName(header)}`);
            }
            this.headers.set(name, header);
            return header;
        }
        finally {
            await file.close();
        }
    }
    /**
     * Takes a file's version from its writer (which knows it without reading
     * the file), if it is for the length the file has here.
     */
    rememberVersion(entry) {
        if (this.files.get(entry.file)?.lengthBytes === entry.lengthBytes)
            this.versions.set(entry.file, entry);
    }
    /**
     * The version of the file as it is here (its verified length), computed
     * by reading it once; cached until the file grows.
     */
    async version(name) {
        const cached = this.versions.get(name);
        const local = this.files.get(name);
        if (!local)
            throw new InternalError(`no local log file ${name}`);
        if (cached && cached.lengthBytes === local.lengthBytes)
            return cached;
        const header = await this.header(name);
        const file = await this.storage.open(local.path, "read");
        try {
            const entry = await computeFileVersion(file, header, local.lengthBytes);
            this.versions.set(name, entry);
            return entry;
        }
        finally {
            await file.close();
        }
    }
    /** Resolves when `name` is longer than `beyondBytes`, is finished, or the signal fires. */
    waitForGrowth(name, beyondBytes, signal) {
        return new Promise((resolve) => {
            const done = () => {
                this.off("grow", onGrow);
                this.off("finished", onFinished);
                signal.removeEventListener("abort", done);
                resolve();
            };
            const onGrow = (n, length) => {
                if (n === name && length > beyondBytes)
                    done();
            };
            const onFinished = (n) => {
                if (n === name)
                    done();
            };
            if ((this.files.get(name)?.lengthBytes ?? 0) > beyondBytes || this.isFinished(name) || signal.aborted) {
                resolve();
                return;
            }
            this.on("grow", onGrow);
            this.on("finished", onFinished);
            signal.addEventListener("abort", done);
        });
    }
    /** Resolves when a file numbered above `fileNumber` appears, or the signal fires. */
    waitForFileAfter(fileNumber, signal) {
        return this.waitUntil(() => this.list().some((f) => f.fileNumber > fileNumber), signal);
    }
    /**
     * Resolves when a file numbered above `fileNumber` has data here, or the
     * signal fires. A fetched copy is listed from the moment its fetch starts,
     * with length 0 and possibly not on disk yet: it has nothing to offer
     * until its first verified bytes (the header) are synced.
     */
    waitForDataAfter(fileNumber, signal) {
        return this.waitUntil(() => this.withDataAfter(fileNumber).length > 0, signal);
    }
    /** Files numbered above `fileNumber` with a trustworthy length above 0 (see waitForDataAfter). */
    withDataAfter(fileNumber) {
        return this.list().filter((f) => f.fileNumber > fileNumber && f.lengthBytes > 0);
    }
    /** Resolves once `check` holds, checked now and at every growth, or when the signal fires. */
    waitUntil(check, signal) {
        return new Promise((resolve) => {
            if (check() || signal.aborted) {
                resolve();
                return;
            }
            const onGrow = () => {
                if (check())
                    done();
            };
            const done = () => {
                this.off("grow", onGrow);
                signal.removeEventListener("abort", done);
                resolve();
            };
            this.on("grow", onGrow);
            signal.addEventListener("abort", done);
        });
    }
}
//# sourceMappingURL=local-logs.js.map
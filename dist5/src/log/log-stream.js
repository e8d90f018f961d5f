/**
 * The sequence of log files one primary writes for a resource: the current
 * file's writer plus rotation to the next file (by size, or on request).
 *
 * Rotation finishes the current file (everything appended to it is durable)
 * before the next file takes appends, so log order = file order = the order
 * in which appends resolve. Appends arriving meanwhile wait for the switch.
 */
import path from "node:path";
import { formatLogName } from "./log-name.js";
import { makeVersionEntry } from "./version.js";
import { LogFailedError, errorMessage } from "../util/errors.js";
import { DEFAULT_PREALLOCATE_BYTES, DEFAULT_WRITER_LIMITS, LogWriter, } from "./writer.js";
export class LogStream {
    options;
    writer;
    rotating;
    /** A rotation failed after the old file was finished: no writer takes appends. */
    rotationFailure;
    /** abandon() was called: no rotation starts any more (it would finish a file being closed). */
    abandoned = false;
    constructor(options, writer) {
        this.options = options;
        this.writer = writer;
        this.watch(writer);
        options.onFileStarted?.(writer);
    }
    /**
     * Starts a new log file with the given number and stream start. `gap`:
     * writes since the previous file bypassed the log (emergency mode; see
     * LogFileHeader.gap).
     */
    static async start(options, fileNumber, streamStartBytes, prevVersion, gap) {
        const writer = await LogStream.createWriter(options, fileNumber, streamStartBytes, prevVersion, gap);
        return new LogStream(options, writer);
    }
    static createWriter(options, fileNumber, streamStartBytes, prevVersion, gap) {
        const header = {
            format: 1,
            resource: options.resource,
            host: options.host,
            fileNumber,
            streamStartBytes,
            createdStampUs: options.clock.now(),
            prevVersion,
            ...(gap ? { gap } : {}),
        };
        const file = path.join(options.dir, formatLogName({ fileNumber, host: options.host }));
        return LogWriter.create(options.storage, file, header, options.clock, options.time, LogStream.writerLimits(options), options.observer);
    }
    /** The writer's limits; preallocation never reaches past where the file will be rotated. */
    static writerLimits(options) {
        const limits = options.limits ?? DEFAULT_WRITER_LIMITS;
        const preallocateBytes = limits.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES;
        return { ...limits, preallocateBytes: Math.min(preallocateBytes, options.rotateBytes) };
    }
    get current() {
        return { fileNumber: this.writer.header.fileNumber, host: this.writer.header.host };
    }
    get currentWriter() {
        return this.writer;
    }
    /** Durable end of the current file, as a log position. */
    durablePosition() {
        const w = this.writer;
        return {
            fileNumber: w.header.fileNumber,
            host: w.header.host,
            offsetBytes: w.durableOffsetBytes,
            nextSeq: w.recordCount + 1,
            streamBytes: w.durableStreamBytes,
        };
    }
    async append(entries) {
        while (this.rotating)
            await this.rotating;
        if (this.rotationFailure)
            throw this.rotationFailure;
        const writer = this.writer;
        const result = await writer.append(entries);
        if (writer === this.writer &&
            writer.projectedEndBytes >= this.options.rotateBytes &&
            !this.rotating &&
            !this.abandoned) {
            this.rotate().catch((err) => this.options.onFailed?.(err));
        }
        return {
            ...result,
            position: {
                fileNumber: writer.header.fileNumber,
                host: writer.header.host,
                offsetBytes: result.endOffsetBytes,
                nextSeq: result.lastSeq + 1,
                streamBytes: writer.header.streamStartBytes + result.endOffsetBytes,
            },
        };
    }
    /** Resolves when everything appended before this call is durable. */
    async barrier() {
        while (this.rotating)
            await this.rotating;
        await this.writer.barrier();
    }
    /**
     * Finishes the current file and starts the next one. Returns the finished
     * file, or undefined if the current file holds no records (nothing to do).
     */
    async rotate() {
        while (this.rotating)
            await this.rotating;
        if (this.abandoned || this.writer.recordCount === 0)
            return undefined;
        let release;
        this.rotating = new Promise((resolve) => (release = resolve));
        try {
            const old = this.writer;
            const finished = await this.finishWriter(old);
            try {
                this.writer = await LogStream.createWriter(this.options, old.header.fileNumber + 1, old.header.streamStartBytes + finished.lengthBytes, finished.versionEntry.version);
            }
            catch (err) {
                // The old file is finished and the new one does not exist: appends
                // are refused with this (its cause says why: ENOSPC, EIO, ...).
                this.rotationFailure = new LogFailedError(`starting log file ${old.header.fileNumber + 1} failed: ${errorMessage(err)}`, { cause: err });
                throw this.rotationFailure;
            }
            this.watch(this.writer);
            this.options.onFileStarted?.(this.writer);
            this.options.onFileFinished?.(finished);
            return finished;
        }
        finally {
            this.rotating = undefined;
            release();
        }
    }
    /** Finishes the current file (durable) and stops. */
    async close() {
        while (this.rotating)
            await this.rotating;
        const finished = await this.finishWriter(this.writer);
        this.options.onFileFinished?.(finished);
        return finished;
    }
    /** Closes the current file without writing or syncing it (LogWriter.abandon). */
    async abandon() {
        // A rotation started by a batch that completes while we wait would finish
        // (truncate, sync) the file we are closing: none starts from now on.
        this.abandoned = true;
        while (this.rotating)
            await this.rotating;
        await this.writer.abandon();
    }
    async finishWriter(writer) {
        const { lengthBytes, recordsDigest } = await writer.finish();
        const name = { fileNumber: writer.header.fileNumber, host: writer.header.host };
        const versionEntry = makeVersionEntry(writer.header.prevVersion, formatLogName(name), lengthBytes, recordsDigest);
        return {
            name,
            lengthBytes,
            streamStartBytes: writer.header.streamStartBytes,
            versionEntry,
        };
    }
    watch(writer) {
        writer.on("failed", (err) => this.options.onFailed?.(err));
    }
}
//# sourceMappingURL=log-stream.js.map
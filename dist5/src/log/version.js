/**
 * Log file versions: the links of the version chain.
 *
 * Every finished log file gets a version: a hash over the previous file's
 * version, the file's name, its length and a digest of its records (the
 * digest chains the CRC32C of every record, the file header included, so it
 * changes with any byte of the file). Each new file's header records the
 * version it continues (prevVersion). How the chain is used to prove a
 * shared history, and to detect a split brain, is in
 * src/replication/version.ts.
 */
import { createHash } from "node:crypto";
import { LogCorruptError } from "../util/errors.js";
import { formatLogName } from "./log-name.js";
import { scanLogFile } from "./scanner.js";
/** The version every resource's first log file continues from. */
export function genesisVersion(resource, createdStampUs) {
    return createHash("sha256").update(`genesis\n${resource}\n${createdStampUs}`).digest("hex");
}
export function computeVersion(prevVersion, file, lengthBytes, recordsDigest) {
    return createHash("sha256")
        .update(`${prevVersion}\n${file}\n${lengthBytes}\n${recordsDigest}`)
        .digest("hex");
}
export function makeVersionEntry(prevVersion, file, lengthBytes, recordsDigest) {
    return {
        file,
        lengthBytes,
        recordsDigest,
        prevVersion,
        version: computeVersion(prevVersion, file, lengthBytes, recordsDigest),
    };
}
/** Incremental digest over record CRCs, as the writer and the scanner see them. */
export class RecordsDigest {
    hash = createHash("sha256");
    word = Buffer.alloc(4);
    add(crc) {
        this.word.writeUInt32LE(crc >>> 0, 0);
        this.hash.update(this.word);
    }
    digest() {
        return this.hash.copy().digest("hex");
    }
}
/**
 * The version of a log file's first `lengthBytes`, computed by reading it:
 * every record up to that length must be valid.
 */
export async function computeFileVersion(file, header, lengthBytes) {
    const digest = new RecordsDigest();
    const outcome = await scanLogFile(file, { toOffsetBytes: lengthBytes, digest });
    const name = formatLogName(header);
    if (outcome.status !== "complete") {
        const why = outcome.status === "corrupt" ? outcome.reason : `invalid record at ${outcome.endOffsetBytes}`;
        throw new LogCorruptError(`${name}: ${why} below length ${lengthBytes}`);
    }
    return makeVersionEntry(header.prevVersion, name, lengthBytes, digest.digest());
}
//# sourceMappingURL=version.js.map
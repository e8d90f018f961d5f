/**
 * Version entries: the chain that proves two nodes share one history.
 *
 * Every finished log file gets a version: a hash over the previous file's
 * version, the file's name, its length and a digest of its records (the
 * digest chains the CRC32C of every record, so it changes with any byte of
 * the file). A node publishes, for every file it wrote or replayed to the
 * end, the version it computed; each new file's header records the version
 * it continues (prevVersion).
 *
 * Two histories that diverged (a forced failover while the old primary kept
 * writing) necessarily produce either two different files with the same
 * number, or two different versions of the same file. Comparing the
 * version entries of all members therefore detects every split brain
 * (MARS's versionlinks, rebuilt), and a replayer refuses to step into a
 * file whose prevVersion is not the version it has itself.
 */
import { parseLogName } from "../log/log-name.js";
import { computeVersion } from "../log/version.js";
export function isVersionEntry(value) {
    const v = value;
    return (typeof v === "object" &&
        v !== null &&
        typeof v.file === "string" &&
        parseLogName(v.file) !== undefined &&
        Number.isSafeInteger(v.lengthBytes) &&
        typeof v.recordsDigest === "string" &&
        typeof v.prevVersion === "string" &&
        typeof v.version === "string" &&
        v.version === computeVersion(v.prevVersion, v.file, v.lengthBytes, v.recordsDigest));
}
/**
 * Compares the version entries of all members (host -> file number ->
 * entry) and returns the first point where two hosts disagree, if any.
 */
export function detectSplitBrain(byHost) {
    const numbers = new Set();
    for (const versions of byHost.values())
        for (const n of versions.keys())
            numbers.add(n);
    for (const n of [...numbers].sort((a, b) => a - b)) {
        const at = {};
        const distinct = new Set();
        for (const [host, versions] of byHost) {
            const v = versions.get(n);
            if (!v)
                continue;
            at[host] = { file: v.file, lengthBytes: v.lengthBytes, version: v.version };
            distinct.add(v.version);
        }
        if (distinct.size > 1)
            return { fileNumber: n, versions: at };
    }
    return undefined;
}
export function versionKeyPart(fileNumber) {
    return String(fileNumber).padStart(9, "0");
}
//# sourceMappingURL=version.js.map
/**
 * Log file names, as in MARS: `log-<9-digit number>-<writing host>`. The
 * number orders the files of a resource; the host is the primary that wrote
 * the file (two hosts writing the same number is how a split brain shows).
 */
const LOG_NAME = /^log-(\d{9})-([a-z][a-z0-9-]{0,62})$/;
export function formatLogName(name) {
    return `log-${String(name.fileNumber).padStart(9, "0")}-${name.host}`;
}
export function parseLogName(fileName) {
    const m = LOG_NAME.exec(fileName);
    if (!m)
        return undefined;
    return { fileNumber: Number(m[1]), host: m[2] };
}
export function compareLogNames(a, b) {
    return a.fileNumber - b.fileNumber || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);
}
//# sourceMappingURL=log-name.js.map
/** Finding the log files of a resource in its directory. */
import path from "node:path";
import { compareLogNames, parseLogName } from "./log-name.js";
/** All log files in `dir`, ordered by number (then host). Other files are ignored. */
export async function listLogFiles(storage, dir) {
    const names = await storage.list(dir);
    const entries = [];
    for (const fileName of names) {
        const parsed = parseLogName(fileName);
        if (parsed)
            entries.push({ ...parsed, fileName, path: path.join(dir, fileName) });
    }
    return entries.sort(compareLogNames);
}
//# sourceMappingURL=log-directory.js.map
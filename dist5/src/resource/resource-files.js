/**
 * Small per-resource state files next to the log (each replaced
 * atomically): the progress of a full sync, of fetching, and which
 * activities the operator paused. They make a restarted node resume
 * exactly where it was, without any command. A crash while one is being
 * replaced leaves its previous content: a full sync then copies again from
 * the last saved doneBytes (never from 0), a fetch resumes at the last
 * saved verified length (the local copy is re-scanned from there).
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
export const NOT_PAUSED = { sync: false, fetch: false, replay: false };
export class ResourceFiles {
    dir;
    storage;
    constructor(dir, storage) {
        this.dir = dir;
        this.storage = storage;
    }
    async read(name) {
        return (await readJsonFile(path.join(this.dir, name), this.storage));
    }
    write(name, value) {
        return writeFileAtomic(path.join(this.dir, name), JSON.stringify(value) + "\n", this.storage);
    }
    readSync() {
        return this.read("sync.json");
    }
    writeSync(value) {
        return this.write("sync.json", value);
    }
    readFetch() {
        return this.read("fetch.json");
    }
    writeFetch(value) {
        return this.write("fetch.json", value);
    }
    async readPause() {
        return { ...NOT_PAUSED, ...(await this.read("pause.json")) };
    }
    writePause(value) {
        return this.write("pause.json", value);
    }
    readEmergency() {
        return this.read("emergency.json");
    }
    /** Durable when it resolves (the first direct write may follow). */
    writeEmergency(value) {
        return this.write("emergency.json", value);
    }
    async removeEmergency() {
        await this.storage.remove(path.join(this.dir, "emergency.json"));
        await this.storage.syncDirectory(this.dir);
    }
}
/** a is at or after b in the log (same history assumed). */
export function positionAtOrAfter(a, b) {
    return a.fileNumber > b.fileNumber || (a.fileNumber === b.fileNumber && a.offsetBytes >= b.offsetBytes);
}
/** A resource directory's state files hold the content of the initial disk (the creator's). */
export const SYNC_DONE = (sizeBytes) => ({
    state: "done",
    doneBytes: sizeBytes,
    totalBytes: sizeBytes,
    consistent: true,
});
//# sourceMappingURL=resource-files.js.map
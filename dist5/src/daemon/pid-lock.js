import { MarsError, isErrno } from "../util/errors.js";
/** Another live marsd holds the data dir (or its pid lock could not be taken). */
export class DataDirInUseError extends MarsError {
    constructor(message) {
        super("DATA_DIR_IN_USE", message);
    }
}
function processAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (err) {
        return isErrno(err, "EPERM");
    }
}
async function readPid(storage, file) {
    const text = await storage.readFile(file).then((bytes) => Buffer.from(bytes).toString("utf8"), () => "");
    return Number(text.trim());
}
export async function acquirePidLock(storage, file) {
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            // "create" is O_CREAT|O_EXCL: of two daemons starting at once, one gets EEXIST.
            const handle = await storage.open(file, "create");
            try {
                await handle.writev([Buffer.from(`${process.pid}\n`)], 0);
                await handle.datasync();
            }
            finally {
                await handle.close();
            }
            return async () => {
                await storage.remove(file).catch(() => undefined);
            };
        }
        catch (err) {
            if (!isErrno(err, "EEXIST"))
                throw err;
            const pid = await readPid(storage, file);
            if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
                throw new DataDirInUseError(`data dir is in use by marsd pid ${pid} (${file})`);
            }
            await storage.remove(file).catch(() => undefined);
        }
    }
    throw new DataDirInUseError(`cannot take the pid lock ${file}`);
}
//# sourceMappingURL=pid-lock.js.map
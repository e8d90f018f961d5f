/**
 * What a restarted daemon needs to find its ublk device again: the device
 * id and the owner tag we gave the kernel at ADD_DEV. Kept in the
 * resource's directory, written atomically before the device is started,
 * so that even a crash between ADD_DEV and START_DEV leaves a trace.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../../platform/storage/atomic-file.js";
import { MalformedFileError } from "../../util/errors.js";
export const UBLK_STATE_FILE = "ublk.json";
export async function readUblkState(storage, stateDir) {
    const file = path.join(stateDir, UBLK_STATE_FILE);
    let raw;
    try {
        raw = await readJsonFile(file, storage);
    }
    catch (err) {
        // Unparseable: treated as absent (a new device is created); the caller logs it.
        throw new MalformedFileError(`${file} is unreadable`, { cause: err });
    }
    if (raw === undefined)
        return undefined;
    const s = raw;
    if (typeof s !== "object" ||
        s === null ||
        !Number.isSafeInteger(s.deviceId) ||
        s.deviceId < 0 ||
        !Number.isSafeInteger(s.ownerTag)) {
        throw new MalformedFileError(`${file} does not hold a device id and owner tag`);
    }
    return { deviceId: s.deviceId, ownerTag: s.ownerTag };
}
export async function writeUblkState(storage, stateDir, state) {
    await writeFileAtomic(path.join(stateDir, UBLK_STATE_FILE), JSON.stringify(state) + "\n", storage);
}
//# sourceMappingURL=device-state.js.map
/**
 * Kernel device interfaces that are not files of the node's data: the
 * ublk control device and sysfs attributes. They sit here so nothing
 * outside src/platform touches node:fs; the simulator never reaches them
 * (it serves volumes without a kernel frontend).
 */
import { closeSync, openSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
/**
 * Whether `devicePath` is a character device we can open read-write
 * (opened and closed at once). Throws the open's or stat's errno error
 * (ENOENT, EACCES, ...) so the caller can say why not.
 */
export function canOpenCharacterDevice(devicePath) {
    if (!statSync(devicePath).isCharacterDevice())
        return false;
    closeSync(openSync(devicePath, "r+"));
    return true;
}
/** Writes one sysfs attribute (e.g. /sys/block/X/queue/scheduler). */
export async function writeSysfsAttribute(attributePath, value) {
    await writeFile(attributePath, value);
}
//# sourceMappingURL=devices.js.map
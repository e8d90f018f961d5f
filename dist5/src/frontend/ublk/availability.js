/**
 * Whether this node can offer the ublk frontend: the addon loaded and
 * /dev/ublk-control is there and can be opened. We only look, we never
 * load the kernel module (modprobe ublk_drv is the operator's or the
 * distribution's decision; docs/ublk.md says how).
 */
import { canOpenCharacterDevice } from "../../platform/devices.js";
import { errorMessage, isErrno } from "../../util/errors.js";
import { loadUblkAddon } from "./native.js";
export const UBLK_CONTROL_PATH = "/dev/ublk-control";
export function detectUblk(options = {}) {
    const controlPath = options.controlPath ?? UBLK_CONTROL_PATH;
    const loaded = (options.load ?? loadUblkAddon)();
    if (!loaded.ok)
        return { available: false, reason: loaded.reason };
    try {
        if (!canOpenCharacterDevice(controlPath)) {
            return { available: false, reason: `${controlPath} is not a character device` };
        }
    }
    catch (err) {
        if (isErrno(err, "ENOENT")) {
            return {
                available: false,
                reason: `the kernel has no ublk: ${controlPath} is missing (modprobe ublk_drv; Linux >= 6.4 with CONFIG_BLK_DEV_UBLK)`,
            };
        }
        if (isErrno(err, "EACCES") || isErrno(err, "EPERM")) {
            return { available: false, reason: `no permission to open ${controlPath} (marsd needs root for ublk)` };
        }
        return { available: false, reason: `cannot open ${controlPath}: ${errorMessage(err)}` };
    }
    return { available: true, addon: loaded.addon };
}
//# sourceMappingURL=availability.js.map
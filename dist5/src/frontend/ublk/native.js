/**
 * Loads the native addon (native/, built by node-gyp at install time) and
 * describes its interface. The addon does kernel plumbing only: control
 * commands, queue threads, buffers. Failing to load it is not an error of
 * the daemon: the ublk frontend is then unavailable and NBD serves.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { getSystemErrorName } from "node:util";
import { MarsError } from "../../util/errors.js";
/** Event kinds reported by a queue thread. */
export const QueueEventKind = { IO: 0, READY: 1, ERROR: 2, EXIT: 3 };
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL("../../../../native/build/Release/marsd_ublk.node", import.meta.url));
export function loadUblkAddon(file = DEFAULT_ADDON_PATH) {
    try {
        const require = createRequire(import.meta.url);
        return { ok: true, addon: require(file) };
    }
    catch (err) {
        const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
        return {
            ok: false,
            reason: `the ublk addon could not be loaded (${message}); build it with native/build.sh (needs liburing-dev)`,
        };
    }
}
/** The kernel's ublk driver refused, or a device cannot be created, started or taken over. */
export class UblkError extends MarsError {
    constructor(message) {
        super("UBLK_FAILED", message);
    }
}
/** The errno name of an addon error ("ENODEV"), or undefined for other errors. */
export function errnoName(err) {
    const errno = err?.errno;
    return typeof errno === "number" && errno > 0 ? getSystemErrorName(-errno) : undefined;
}
//# sourceMappingURL=native.js.map
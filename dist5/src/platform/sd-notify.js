/**
 * sd_notify(3) for marsd under systemd's Type=notify: READY=1 once the
 * daemon serves, STOPPING=1 when a clean stop begins, and WATCHDOG=1 from
 * the event loop at half of WATCHDOG_USEC, so that a hung loop misses its
 * pings and systemd restarts the service (WatchdogSec= in the unit).
 *
 * Contract:
 * - No NOTIFY_SOCKET in the environment: every call is a no-op (a daemon
 *   started by hand, by a test, or by a manager that does not listen).
 * - Messages are `KEY=VALUE` lines (formatNotifyMessage); values never hold
 *   a newline.
 * - Pings run only if WATCHDOG_USEC is set and WATCHDOG_PID is absent or
 *   ours (a manager watching another process of the tree is not ours to
 *   feed). They run on the injected Clock, so they stop when the loop stops.
 * - A failed send is reported to `onError` (logged by the caller) and never
 *   thrown: readiness signalling must not stop a daemon that serves; systemd
 *   then times the start out (TimeoutStartSec) and says so.
 *
 * How the datagram leaves (Node has no AF_UNIX datagram sockets):
 * 1. Our native addon's sdNotify (native/src/notify.cc): one sendto from
 *    this very process, so systemd attributes it to the main PID (the
 *    default NotifyAccess=main accepts it), with no helper process and no
 *    privilege. It is the preferred path.
 * 2. The addon is optional (it is built only where liburing is, see
 *    native/build.sh), so without it we run `systemd-notify KEY=VALUE...`,
 *    which ships with systemd itself. systemd-notify(1) warns that its
 *    message may not be attributed to the service once the short-lived tool
 *    has exited. Two things close that race here (both checked with
 *    systemd 252 in test/integration/sd-notify.test.ts): as root (marsd
 *    keeps CAP_SYS_ADMIN for ublk) it sends its parent's PID, ours, as the
 *    SCM_CREDENTIALS, so systemd sees the main PID (NotifyAccess=main
 *    suffices); and it then waits on a BARRIER=1 until the manager has read
 *    the message. It costs a process per message (one per 15 s ping).
 * An npm package would have been another native build (unix-dgram) or a
 * libsystemd binding (sd-notify) for one sendto; both need the compiler and
 * headers the addon needs, and neither is better kept than the fallback.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
/** `KEY=VALUE` lines, as sd_notify(3) expects; a newline inside a value would start a new field. */
export function formatNotifyMessage(fields) {
    return Object.entries(fields)
        .map(([key, value]) => {
        const text = String(value);
        if (!/^[A-Z][A-Z0-9_]*$/.test(key))
            throw new RangeError(`bad sd_notify field name: ${key}`);
        if (text.includes("\n"))
            throw new RangeError(`sd_notify field ${key} holds a newline`);
        return `${key}=${text}`;
    })
        .join("\n");
}
/**
 * Half of WATCHDOG_USEC in ms (systemd's advice, sd_watchdog_enabled(3)),
 * or undefined if there is no watchdog or it watches another process.
 */
export function watchdogIntervalMs(env, pid) {
    const usecText = env.WATCHDOG_USEC;
    if (usecText === undefined || !/^\d+$/.test(usecText))
        return undefined;
    const usec = Number(usecText);
    if (usec <= 0)
        return undefined;
    const pidText = env.WATCHDOG_PID;
    if (pidText !== undefined && pidText !== "" && Number(pidText) !== pid)
        return undefined;
    return Math.max(1, Math.floor(usec / 2000));
}
const ADDON_PATH = fileURLToPath(new URL("../../../native/build/Release/marsd_ublk.node", import.meta.url));
/** The addon's sender if the addon is built and has sdNotify; else undefined. */
export function addonSender(file = ADDON_PATH) {
    let addon;
    try {
        addon = createRequire(import.meta.url)(file);
    }
    catch {
        return undefined;
    }
    const sdNotify = addon.sdNotify;
    if (typeof sdNotify !== "function")
        return undefined;
    return {
        kind: "addon",
        send: (socketPath, message) => {
            try {
                sdNotify(socketPath, message);
                return Promise.resolve();
            }
            catch (err) {
                return Promise.reject(err instanceof Error ? err : new Error(String(err)));
            }
        },
    };
}
/** systemd's own tool: one process per message, arguments `KEY=VALUE`. */
export function systemdNotifySender(command = "systemd-notify") {
    return {
        kind: "systemd-notify",
        send: (socketPath, message) => new Promise((resolve, reject) => {
            const child = spawn(command, message.split("\n"), {
                stdio: ["ignore", "ignore", "pipe"],
                env: { ...process.env, NOTIFY_SOCKET: socketPath },
            });
            let stderr = "";
            child.stderr.on("data", (d) => {
                if (stderr.length < 4096)
                    stderr += d.toString();
            });
            child.once("error", reject);
            child.once("close", (code, signal) => {
                if (code === 0)
                    resolve();
                else
                    reject(new Error(`${command} exited with ${code ?? signal}: ${stderr.trim()}`));
            });
        }),
    };
}
/** The addon if it has sdNotify, else systemd-notify. */
export function defaultNotifySender() {
    return addonSender() ?? systemdNotifySender();
}
export function createServiceNotifier(options) {
    const socketPath = options.env.NOTIFY_SOCKET;
    const enabled = socketPath !== undefined && socketPath !== "";
    const intervalMs = enabled ? watchdogIntervalMs(options.env, options.pid) : undefined;
    let pings;
    let closed = false;
    const send = async (fields, what) => {
        if (!enabled)
            return;
        try {
            await options.sender.send(socketPath, formatNotifyMessage(fields));
        }
        catch (err) {
            options.onError(`sd_notify ${what} failed`, err);
        }
    };
    const close = () => {
        closed = true;
        pings?.cancel();
        pings = undefined;
    };
    return {
        enabled,
        via: enabled ? options.sender.kind : "none",
        watchdogIntervalMs: intervalMs,
        ready: (status) => send({ READY: 1, ...(status ? { STATUS: status } : {}) }, "READY"),
        stopping: (status) => send({ STOPPING: 1, ...(status ? { STATUS: status } : {}) }, "STOPPING"),
        startWatchdog: () => {
            if (intervalMs === undefined || pings || closed)
                return;
            // unref: pings never keep a stopping process alive.
            pings = options.time.setRepeating(intervalMs, () => void send({ WATCHDOG: 1 }, "WATCHDOG")).unref();
        },
        close,
    };
}
//# sourceMappingURL=sd-notify.js.map
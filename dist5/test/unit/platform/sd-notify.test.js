/**
 * sd_notify's message format, the watchdog rules (half of WATCHDOG_USEC,
 * only for our PID) and the notifier's life cycle on virtual time. The
 * senders themselves (addon, systemd-notify) are driven against a real
 * datagram socket in test/integration/sd-notify.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createServiceNotifier, formatNotifyMessage, watchdogIntervalMs, } from "../../../src/platform/sd-notify.js";
import { SimClock } from "../../sim/sim-clock.js";
function recordingSender(fail = false) {
    const sent = [];
    return {
        kind: "addon",
        sent,
        send: (socket, message) => {
            sent.push({ socket, message });
            return fail ? Promise.reject(new Error("ECONNREFUSED")) : Promise.resolve();
        },
    };
}
describe("sd_notify", () => {
    it("formats KEY=VALUE lines and refuses what would break the protocol", () => {
        assert.equal(formatNotifyMessage({ READY: 1, STATUS: "serving as a" }), "READY=1\nSTATUS=serving as a");
        assert.equal(formatNotifyMessage({ WATCHDOG: 1 }), "WATCHDOG=1");
        assert.throws(() => formatNotifyMessage({ STATUS: "two\nlines" }), /newline/);
        assert.throws(() => formatNotifyMessage({ "ready=": 1 }), /field name/);
    });
    it("pings at half of WATCHDOG_USEC, only for our PID or when no PID is named", () => {
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 42), 15_000);
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42), 15_000);
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 42), undefined);
        assert.equal(watchdogIntervalMs({}, 42), undefined);
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "0" }, 42), undefined);
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "soon" }, 42), undefined);
        assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "1000" }, 42), 1, "never a 0 ms interval");
    });
    it("does nothing without NOTIFY_SOCKET, not even with a watchdog", async () => {
        const time = new SimClock();
        const sender = recordingSender();
        const n = createServiceNotifier({
            time,
            env: { WATCHDOG_USEC: "1000000" },
            pid: 42,
            sender,
            onError: () => assert.fail("no error expected"),
        });
        assert.equal(n.enabled, false);
        assert.equal(n.via, "none");
        await n.ready();
        n.startWatchdog();
        await time.advance(5_000);
        await n.stopping();
        assert.deepEqual(sender.sent, []);
        assert.equal(time.pendingTimers, 0);
    });
    it("READY, pings every WATCHDOG_USEC/2 on the clock, through STOPPING until close()", async () => {
        const time = new SimClock();
        const sender = recordingSender();
        const n = createServiceNotifier({
            time,
            env: { NOTIFY_SOCKET: "@marsd-test", WATCHDOG_USEC: "2000000", WATCHDOG_PID: "42" },
            pid: 42,
            sender,
            onError: () => assert.fail("no error expected"),
        });
        assert.equal(n.via, "addon");
        assert.equal(n.watchdogIntervalMs, 1_000);
        await n.ready("serving");
        n.startWatchdog();
        n.startWatchdog(); // idempotent: still one ping per interval
        await time.advance(2_500);
        await n.stopping("stopping on SIGTERM");
        await time.advance(1_000); // a drain: the loop still turns, the pings go on
        n.close();
        n.startWatchdog(); // closed for good
        await time.advance(5_000);
        assert.deepEqual(sender.sent.map((s) => s.message), [
            "READY=1\nSTATUS=serving",
            "WATCHDOG=1",
            "WATCHDOG=1",
            "STOPPING=1\nSTATUS=stopping on SIGTERM",
            "WATCHDOG=1",
        ]);
        assert.ok(sender.sent.every((s) => s.socket === "@marsd-test"));
        assert.equal(time.pendingTimers, 0);
    });
    it("reports a failed send and goes on", async () => {
        const time = new SimClock();
        const errors = [];
        const n = createServiceNotifier({
            time,
            env: { NOTIFY_SOCKET: "/run/systemd/notify" },
            pid: 42,
            sender: recordingSender(true),
            onError: (message, err) => errors.push(`${message}: ${err.message}`),
        });
        await n.ready();
        assert.deepEqual(errors, ["sd_notify READY failed: ECONNREFUSED"]);
        assert.equal(n.watchdogIntervalMs, undefined);
    });
});
//# sourceMappingURL=sd-notify.test.js.map
/**
 * The time seam. Every reading of the time and every timer outside
 * src/platform goes through a Clock, so the simulator can run a whole
 * cluster on virtual time (test/sim) and a failing run replays from its
 * seed. Production wires `systemClock`.
 *
 * Contract:
 * - `nowMs`/`nowUs` are wall time (may jump, e.g. NTP steps); use them for
 *   stamps and for values exchanged with other nodes, never for durations.
 * - `monotonicMs` never goes back; use it for durations, deadlines, rates.
 * - Callbacks run on the event loop, never synchronously inside the call
 *   that scheduled them; a cancelled timer never calls back.
 * - A pending timer keeps the process alive, as Node's do, unless
 *   `unref()` says it need not (a background retry that must not delay an
 *   exit); virtual clocks ignore `unref()`.
 */
/** Node's timers and clocks. */
export const systemClock = {
    nowMs: () => Date.now(),
    nowUs: () => Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000),
    monotonicMs: () => performance.now(),
    setTimer(delayMs, callback) {
        return nodeTimer(setTimeout(callback, delayMs));
    },
    setRepeating(intervalMs, callback) {
        return nodeTimer(setInterval(callback, intervalMs));
    },
    nextTurn(callback) {
        setImmediate(callback);
    },
    sleep(delayMs, signal) {
        return new Promise((resolve, reject) => {
            if (signal?.aborted) {
                reject(abortReason(signal));
                return;
            }
            const onAbort = () => {
                clearTimeout(t);
                reject(abortReason(signal));
            };
            const t = setTimeout(() => {
                signal?.removeEventListener("abort", onAbort);
                resolve();
            }, delayMs);
            signal?.addEventListener("abort", onAbort, { once: true });
        });
    },
    timeoutSignal: (delayMs) => AbortSignal.timeout(delayMs),
};
function nodeTimer(t) {
    const handle = {
        cancel: () => clearTimeout(t),
        unref: () => {
            t.unref();
            return handle;
        },
    };
    return handle;
}
/** The reason an AbortSignal carries, as an Error (a plain abort() gives a DOMException, which is one). */
export function abortReason(signal) {
    const reason = signal?.reason;
    if (reason instanceof Error)
        return reason;
    return new Error(typeof reason === "string" ? reason : "aborted");
}
//# sourceMappingURL=clock.js.map
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

export interface TimerHandle {
  /** Idempotent; after it the callback never runs (again). */
  cancel(): void;
  /** The timer no longer keeps the process alive. Returns the handle. */
  unref(): TimerHandle;
}

export interface Clock {
  /** Wall time, milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Wall time, integer microseconds since the Unix epoch (the Lamport clock's source). */
  nowUs(): number;
  /** Monotonic milliseconds from an arbitrary origin (fractional). */
  monotonicMs(): number;
  /** Calls `callback` once, `delayMs` from now. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Calls `callback` every `intervalMs` until cancelled. */
  setRepeating(intervalMs: number, callback: () => void): TimerHandle;
  /**
   * Calls `callback` at the end of this event-loop turn, after IO callbacks
   * already due (setImmediate): how work issued during one turn is batched.
   */
  nextTurn(callback: () => void): void;
  /** Resolves `delayMs` from now; rejects with the signal's reason once `signal` aborts. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
  /** An AbortSignal that aborts (with a TimeoutError DOMException) `delayMs` from now. */
  timeoutSignal(delayMs: number): AbortSignal;
}

/** Node's timers and clocks. */
export const systemClock: Clock = {
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
    return new Promise<void>((resolve, reject) => {
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

function nodeTimer(t: NodeJS.Timeout): TimerHandle {
  const handle: TimerHandle = {
    cancel: () => clearTimeout(t),
    unref: () => {
      t.unref();
      return handle;
    },
  };
  return handle;
}

/** The reason an AbortSignal carries, as an Error (a plain abort() gives a DOMException, which is one). */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new Error(typeof reason === "string" ? reason : "aborted");
}

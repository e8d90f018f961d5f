/**
 * Waiting for a resource's condition, driven by its "changed" events.
 *
 * Contract:
 * - Resolves at once if `done()` already holds, else on the first
 *   "changed" event after which it holds.
 * - Rejects with OperatorError WAIT_TIMEOUT after timeoutMs (on the
 *   injected clock); the listener and the timer never outlive the wait.
 */
import type { EventEmitter } from "node:events";
import type { Clock } from "../platform/clock.js";
import { OperatorError } from "../util/errors.js";

/** Resolves when `done()` holds, checked whenever `emitter` emits "changed". */
export function waitForChange(
  emitter: EventEmitter<{ changed: [] }>,
  time: Clock,
  done: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (done()) return resolve();
    const timer = time.setTimer(timeoutMs, () => {
      emitter.off("changed", check);
      reject(new OperatorError("WAIT_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${what}`));
    });
    const check = (): void => {
      if (done()) {
        timer.cancel();
        emitter.off("changed", check);
        resolve();
      }
    };
    emitter.on("changed", check);
  });
}

/**
 * One simulated node's view of the cluster's SimClock. The node's code
 * schedules through it; `halt()` is the node's process dying: every timer
 * it set is cancelled, and whatever the dead code schedules afterwards
 * (from promise chains still settling) never runs. Time keeps flowing for
 * the other nodes.
 */
import { abortReason, type Clock, type TimerHandle } from "../../src/platform/clock.js";
import type { SimClock } from "./sim-clock.js";

const DEAD_HANDLE: TimerHandle = {
  cancel() {},
  unref() {
    return DEAD_HANDLE;
  },
};

export class NodeClock implements Clock {
  private readonly timers = new Set<TimerHandle>();
  private halted = false;

  constructor(private readonly sim: SimClock) {}

  nowMs(): number {
    return this.sim.nowMs();
  }

  nowUs(): number {
    return this.sim.nowUs();
  }

  monotonicMs(): number {
    return this.sim.monotonicMs();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (this.halted) return DEAD_HANDLE;
    const handle: TimerHandle = this.track(
      this.sim.setTimer(delayMs, () => {
        this.timers.delete(handle);
        callback();
      }),
    );
    return handle;
  }

  setRepeating(intervalMs: number, callback: () => void): TimerHandle {
    if (this.halted) return DEAD_HANDLE;
    return this.track(this.sim.setRepeating(intervalMs, callback));
  }

  nextTurn(callback: () => void): void {
    if (this.halted) return;
    this.sim.nextTurn(() => {
      if (!this.halted) callback();
    });
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = () => {
        timer.cancel();
        reject(abortReason(signal));
      };
      const timer = this.setTimer(delayMs, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  timeoutSignal(delayMs: number): AbortSignal {
    const controller = new AbortController();
    this.setTimer(delayMs, () =>
      controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    );
    return controller.signal;
  }

  /** The process died: nothing it scheduled runs any more. */
  halt(): void {
    this.halted = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  private track(handle: TimerHandle): TimerHandle {
    const wrapped: TimerHandle = {
      cancel: () => {
        this.timers.delete(wrapped);
        handle.cancel();
      },
      unref: () => {
        handle.unref();
        return wrapped;
      },
    };
    this.timers.add(wrapped);
    return wrapped;
  }
}

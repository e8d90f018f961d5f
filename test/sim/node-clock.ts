/**
 * One simulated node's view of the cluster's SimClock. The node's code
 * schedules through it; `halt()` is the node's process dying: every timer
 * it set is cancelled, and whatever the dead code schedules afterwards
 * (from promise chains still settling) never runs. Time keeps flowing for
 * the other nodes.
 */
import type { Clock, TimerHandle } from "../../src/platform/clock.js";
import { sleepOn, timeoutSignalOn, type SimClock } from "./sim-clock.js";

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
    return sleepOn(this, delayMs, signal);
  }

  timeoutSignal(delayMs: number): AbortSignal {
    return timeoutSignalOn(this, delayMs);
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

/**
 * What the ublk frontend tells whoever watches it (the daemon's metrics,
 * src/metrics/ublk-metrics.ts): each device's tag count when its queues
 * start, each request when the kernel hands it over and when its result is
 * handed back, and the device's size (every request started finishes: the handler never rejects). The frontend never imports the metrics; the daemon passes
 * one observer per resource. Calls are synchronous and must not throw.
 */

export interface UblkObserver {
  /** A device's queues started: `queues` × `depth` tags, the most requests in flight at once. */
  queuesStarted(queues: number, depth: number): void;
  /** The kernel handed a request over (one tag in use). */
  requestStarted(): void;
  /**
   * Its result went back: `op` is the ublk opcode (abi.ts UblkOp), `result`
   * the bytes transferred or -errno, `durationSeconds` from hand-over to result.
   */
  requestFinished(op: number, result: number, durationSeconds: number): void;
  /** The device's size as the kernel knows it: at start, take-over and after UPDATE_SIZE. */
  deviceSize(bytes: number): void;
}

/** For a frontend nobody watches (tools, tests of other parts). */
export const UNOBSERVED: UblkObserver = {
  queuesStarted: () => undefined,
  requestStarted: () => undefined,
  requestFinished: () => undefined,
  deviceSize: () => undefined,
};

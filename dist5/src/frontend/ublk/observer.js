/**
 * What the ublk frontend tells whoever watches it (the daemon's metrics,
 * src/metrics/ublk-metrics.ts): each device's tag count when its queues
 * start, each request when the kernel hands it over and when its result is
 * handed back (every request started finishes: the handler never rejects). The frontend never imports the metrics; the daemon passes
 * one observer per resource. Calls are synchronous and must not throw.
 */
/** For a frontend nobody watches (tools, tests of other parts). */
export const UNOBSERVED = {
    queuesStarted: () => undefined,
    requestStarted: () => undefined,
    requestFinished: () => undefined,
};
//# sourceMappingURL=observer.js.map
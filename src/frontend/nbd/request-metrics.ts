/**
 * Counts the requests of one NBD connection: requests, bytes and duration
 * per command, and errors per command and errno. The labelled series are
 * looked up once per command and connection, not per request.
 */
import type { Counter, Histogram } from "prom-client";
import type { Metrics } from "../../metrics/metrics.js";
import type { Clock } from "../../platform/clock.js";
import { CMD_NAMES, Cmd, ERRNO_NAMES, Errno } from "./protocol.js";
import type { Request } from "./request.js";

interface CommandMetrics {
  requests: Counter.Internal;
  bytes: Counter.Internal;
  duration: Histogram.Internal<string>;
}

export class RequestMetrics {
  private readonly commandMetrics = new Map<number, CommandMetrics>();

  constructor(
    private readonly metrics: Metrics,
    private readonly exportName: string,
    private readonly time: Clock,
  ) {}

  /** Accounts a request answered with `errno`. */
  account(request: Request, errno: number): void {
    let m = this.commandMetrics.get(request.type);
    if (!m) {
      const command = CMD_NAMES[request.type] ?? "unknown";
      m = {
        requests: this.metrics.nbdRequests.labels(this.exportName, command),
        bytes: this.metrics.nbdRequestBytes.labels(this.exportName, command),
        duration: this.metrics.nbdRequestDuration.labels(command),
      };
      this.commandMetrics.set(request.type, m);
    }
    m.requests.inc();
    m.duration.observe((this.time.monotonicMs() - request.startedMs) / 1000);
    if (errno === Errno.OK) {
      if (request.type === Cmd.READ || request.type === Cmd.WRITE) m.bytes.inc(request.length);
    } else {
      this.metrics.nbdRequestErrors
        .labels(this.exportName, CMD_NAMES[request.type] ?? "unknown", ERRNO_NAMES[errno] ?? String(errno))
        .inc();
    }
  }
}

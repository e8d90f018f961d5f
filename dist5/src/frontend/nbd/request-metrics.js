import { CMD_NAMES, Cmd, ERRNO_NAMES, Errno } from "./protocol.js";
export class RequestMetrics {
    metrics;
    exportName;
    time;
    commandMetrics = new Map();
    constructor(metrics, exportName, time) {
        this.metrics = metrics;
        this.exportName = exportName;
        this.time = time;
    }
    /** Accounts a request answered with `errno`. */
    account(request, errno) {
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
            if (request.type === Cmd.READ || request.type === Cmd.WRITE)
                m.bytes.inc(request.length);
        }
        else {
            this.metrics.nbdRequestErrors
                .labels(this.exportName, CMD_NAMES[request.type] ?? "unknown", ERRNO_NAMES[errno] ?? String(errno))
                .inc();
        }
    }
}
//# sourceMappingURL=request-metrics.js.map
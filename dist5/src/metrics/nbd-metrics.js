/**
 * Metrics of the NBD frontend: requests, bytes, errors and latency per
 * command, connections and handshakes, and every bound of the server
 * (in-flight requests, buffered bytes, negotiating connections) next to
 * what it bounds.
 */
import { LATENCY_BUCKETS_SECONDS } from "./metric-factory.js";
/** The NBD frontend metrics, registered in the factory's registry. */
export function nbdMetrics(f) {
    return {
        nbdRequests: f.counter("marsd_nbd_requests_total", "NBD requests completed, by command.", [
            "resource",
            "command",
        ]),
        nbdRequestBytes: f.counter("marsd_nbd_request_bytes_total", "Bytes read or written by NBD requests, by command.", ["resource", "command"]),
        nbdRequestErrors: f.counter("marsd_nbd_request_errors_total", "NBD requests answered with an error, by command and errno name.", ["resource", "command", "error"]),
        nbdRequestDuration: f.histogram("marsd_nbd_request_duration_seconds", "NBD request latency from receipt to reply, by command.", ["command"], LATENCY_BUCKETS_SECONDS),
        nbdConnections: f.gauge("marsd_nbd_connections", "Open NBD connections in the transmission phase.", [
            "resource",
        ]),
        nbdInflightRequests: f.gauge("marsd_nbd_inflight_requests", "NBD requests received and not yet answered.", []),
        nbdInflightLimitRequests: f.gauge("marsd_nbd_inflight_limit_requests", "Bound on in-flight requests per NBD connection; reading pauses beyond it.", []),
        nbdBufferedBytes: f.gauge("marsd_nbd_buffered_bytes", "Memory held for NBD connections: received and unparsed request bytes plus reply bytes not yet flushed to the socket.", []),
        nbdBufferedLimitBytes: f.gauge("marsd_nbd_buffered_limit_bytes", "Bounds on NBD buffered bytes, per connection and for the whole server; reading pauses beyond them.", ["scope"]),
        nbdBackpressurePauses: f.counter("marsd_nbd_backpressure_pauses_total", "Times an NBD connection stopped reading or dispatching requests, by the bound that stopped it.", ["reason"]),
        nbdStalledSessionsClosed: f.counter("marsd_nbd_stalled_connections_closed_total", "NBD connections closed because their replies were not read for nbd.replyStallTimeoutMs while others waited for memory.", []),
        nbdHandshakes: f.gauge("marsd_nbd_handshakes", "NBD connections still negotiating (before NBD_OPT_GO / EXPORT_NAME).", []),
        nbdHandshakeLimit: f.gauge("marsd_nbd_handshake_limit", "Bound on NBD connections negotiating at once; the oldest is closed beyond it.", []),
        nbdHandshakesDropped: f.counter("marsd_nbd_handshakes_dropped_total", "NBD connections closed during negotiation, by reason (timeout, evicted, protocol).", ["reason"]),
        nbdConnectionsRefused: f.counter("marsd_nbd_connections_refused_total", "NBD connections closed on arrival because nbd.maxConnections sessions were open.", []),
    };
}
//# sourceMappingURL=nbd-metrics.js.map
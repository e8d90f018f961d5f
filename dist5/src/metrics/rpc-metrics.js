/** The JSON-RPC call metrics, registered in the factory's registry. */
export function rpcMetrics(f) {
    return {
        rpcRequests: f.counter("marsd_rpc_requests_total", "JSON-RPC calls, by method and result code (0 = success).", ["method", "code"]),
        rpcDuration: f.histogram("marsd_rpc_request_duration_seconds", "JSON-RPC call latency, by method.", ["method"], [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]),
    };
}
/** The admin listener metrics, registered in the factory's registry. */
export function adminMetrics(f) {
    return {
        adminConnections: f.gauge("marsd_admin_connections", "Open connections to the admin listener.", []),
        adminLimit: f.gauge("marsd_admin_limit", "Bounds of the admin listener (admin.maxConnections, admin.maxBodyBytes).", ["bound"]),
        adminRejectedRequests: f.counter("marsd_admin_rejected_requests_total", "Admin requests refused before JSON-RPC (bad token, bad or oversized body...), by reason.", ["reason"]),
    };
}
//# sourceMappingURL=rpc-metrics.js.map
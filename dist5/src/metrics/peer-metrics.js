/** The peer listener and traffic metrics, registered in the factory's registry. */
export function peerListenerMetrics(f) {
    return {
        peerSentBytes: f.counter("marsd_peer_sent_bytes_total", "Bytes sent to a peer (request and response bodies).", ["peer"]),
        peerReceivedBytes: f.counter("marsd_peer_received_bytes_total", "Bytes received from a peer (request and response bodies).", ["peer"]),
        peerRejectedRequests: f.counter("marsd_peer_rejected_requests_total", "Peer requests refused by authentication, by reason.", ["reason"]),
        peerConnections: f.gauge("marsd_peer_connections", "Open connections to the peer listener (bounded by peer.maxConnections).", []),
        peerUnauthenticatedRequests: f.gauge("marsd_peer_unauthenticated_requests", "Peer requests whose body is being read before their signature can be checked.", []),
        peerUnauthenticatedBytes: f.gauge("marsd_peer_unauthenticated_bytes", "Body bytes reserved (by Content-Length) for peer requests not yet authenticated.", []),
        peerUnauthenticatedLimit: f.gauge("marsd_peer_unauthenticated_limit", "Bounds of the peer listener (peer.maxConnections, peer.maxUnauthenticatedRequests, peer.maxUnauthenticatedBytes).", ["bound"]),
        peerReplayFloorWrites: f.counter("marsd_peer_replay_floor_writes_total", "Durable writes of the per-sender replay floors (see docs/architecture.md).", []),
    };
}
/** The per-peer link metrics, registered in the factory's registry. */
export function peerLinkMetrics(f) {
    return {
        peerLastContact: f.gauge("marsd_peer_last_contact_timestamp_seconds", "When we last heard from a peer (Unix time).", ["peer"]),
        peerClockSkew: f.gauge("marsd_peer_clock_skew_seconds", "Estimated offset of a peer's wall clock from ours.", ["peer"]),
        peerSyncFailures: f.counter("marsd_peer_sync_failures_total", "Failed state exchanges with a peer, by kind.", ["peer", "kind"]),
    };
}
//# sourceMappingURL=peer-metrics.js.map
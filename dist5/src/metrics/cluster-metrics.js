/** The cluster state metrics, registered in the factory's registry. */
export function clusterMetrics(f) {
    return {
        clusterStateChanges: f.counter("marsd_cluster_state_changes_total", "Cluster state entries changed, by source (local write or merged from a peer).", ["source"]),
        clusterMembers: f.scraped("marsd_cluster_members", "Members of the cluster, this node included.", (s) => s.members),
        clusterStateEntries: f.scraped("marsd_cluster_state_entries", "Entries in the cluster state, tombstones included.", (s) => s.entries),
        clusterStateTombstones: f.scraped("marsd_cluster_state_tombstones", "Tombstones (deleted entries) not yet collected.", (s) => s.tombstones),
        lamportAheadOfWall: f.scraped("marsd_lamport_ahead_of_wall_seconds", "How far the Lamport clock runs ahead of the wall clock.", (s) => s.lamportAheadUs / 1e6),
    };
}
//# sourceMappingURL=cluster-metrics.js.map
export function emergencyMetrics(f) {
    return {
        resourceEmergency: f.perResource("marsd_resource_emergency", "1 while the resource's log area is full and writes go straight to the disk (emergency mode).", (s) => (s.emergency() ? 1 : 0)),
        resourceEmergencyEntries: f.counter("marsd_resource_emergency_entries_total", "Times the resource entered emergency mode.", ["resource"]),
        resourceDirectWrites: f.counter("marsd_resource_direct_writes_total", "Writes acknowledged in emergency mode (straight to the disk, region marked dirty).", ["resource"]),
        resourceDirtyBytes: f.perResource("marsd_resource_dirty_bytes", "Bytes of the disk in regions of the dirty map: what members that missed a gap in the log copy.", (s) => s.dirtyBytes()),
        resourceDirtyMapBytes: f.perResource("marsd_resource_dirty_map_bytes", "Size of the persisted dirty-region map (bounded by disk size / granularity).", (s) => s.dirtyMapBytes()),
        resourceMembersCutLoose: f.perResource("marsd_resource_members_cut_loose", "Members cut loose for lagging too far: they no longer pin log files and will resync the regions they missed.", (s) => s.membersCutLoose()),
        resourceMembersCutLooseTotal: f.counter("marsd_resource_members_cut_loose_total", "Times this node cut a lagging member loose.", ["resource"]),
        resourceMembersNeedingResync: f.perResource("marsd_resource_members_needing_resync", "Members that have not replayed past the last gap in the log yet (they need a region resync).", (s) => s.membersNeedingResync()),
    };
}
//# sourceMappingURL=emergency-metrics.js.map
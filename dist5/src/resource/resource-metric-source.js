import { detectForks } from "../replication/history.js";
import { membersBehindGap } from "./emergency.js";
import { memberHistories } from "./status-model.js";
export function forksOf(core) {
    return detectForks(memberHistories(core));
}
export function metricSource(core) {
    return {
        applyBacklogBytes: () => core.applier.inFlightBytes,
        applyDirectIo: () => core.backing.directWrites === true,
        role: () => core.role,
        paused: () => core.pauseFile,
        logFiles: () => core.logs.list().length,
        splitBrain: () => forksOf(core).length > 0,
        dirtyBytes: () => core.dirtyMap?.dirtyBytes ?? 0,
        dirtyMapBytes: () => core.dirtyMap?.mapBytes ?? 0,
        membersNeedingResync: () => membersBehindGap(core).length,
        membersCutLoose: () => core.view.looseEntries().length,
        emergency: () => core.primary?.volume.writingDirect === true,
        memberLags: () => memberLags(core),
        lagLimits: () => core.deps.settings.lagLimits(core.name),
    };
}
/**
 * Each other member's lag as the primary sees it, by the same arithmetic
 * as the lagging review (cut-loose.ts reviewLagging): bytes from the
 * published applied position, seconds from the stamp of the newest write
 * it applied, counted only while it is behind.
 */
export function memberLags(core) {
    const parts = core.primary;
    if (!parts || core.role !== "primary")
        return [];
    const durable = parts.log.durablePosition().streamBytes;
    const nowUs = core.deps.time.nowMs() * 1000;
    const lags = [];
    for (const member of core.view.members()) {
        if (member === core.host)
            continue;
        const status = core.view.publishedStatusOf(member);
        const applied = status?.applied;
        if (!applied)
            continue;
        const lagBytes = Math.max(0, durable - applied.streamBytes);
        const stampUs = status.stampUs;
        const lagSeconds = lagBytes > 0 && stampUs ? Math.max(0, (nowUs - stampUs) / 1e6) : 0;
        lags.push({ member, lagBytes, lagSeconds });
    }
    return lags;
}
//# sourceMappingURL=resource-metric-source.js.map
/**
 * What the metrics read from a resource at every scrape
 * (metrics/metric-factory.ts ResourceMetricSource), and the forks among
 * its members' histories (the split-brain gauge and resource.status).
 */
import type { ResourceMetricSource } from "../metrics/metric-factory.js";
import { detectForks, type Fork } from "../replication/history.js";
import { membersBehindGap } from "./emergency.js";
import type { ResourceCore } from "./resource-core.js";
import { memberHistories } from "./status-model.js";

export function forksOf(core: ResourceCore): Fork[] {
  return detectForks(memberHistories(core));
}

export function metricSource(core: ResourceCore): ResourceMetricSource {
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
  };
}

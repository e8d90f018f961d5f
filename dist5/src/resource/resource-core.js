import { LocalLogs } from "../replication/local-logs.js";
import { ApplyQueue } from "./apply-queue.js";
import { Checkpointer } from "./checkpoint.js";
import { ClusterView } from "./cluster-view.js";
import { ResourceFiles } from "./resource-files.js";
/**
 * Assembles a resource's parts from what its directory holds, in the
 * state of a resource not started yet (secondary, running, no role parts).
 */
export function assembleCore(loaded, deps, on) {
    const { config, dir, backing, checkpoint } = loaded;
    const name = config.name;
    const appliedGauge = deps.metrics.resourceAppliedPosition.labels(name);
    const applier = new ApplyQueue(deps.time, backing, checkpoint, (p) => {
        appliedGauge.set(p.streamBytes);
        on.applied(p);
    });
    const checkpointer = new Checkpointer(deps.time, deps.storage, dir, backing, () => applier.appliedPosition, deps.settings.checkpointIntervalMs, (p) => deps.metrics.resourceCheckpointPosition.labels(name).set(p.streamBytes), (err) => on.fatal(err), checkpoint);
    return {
        name,
        host: deps.host,
        config,
        dir,
        deps,
        backing,
        diskSizeBytes: loaded.diskSizeBytes,
        logs: new LocalLogs(dir, deps.storage),
        files: new ResourceFiles(dir, deps.storage),
        applier,
        checkpointer,
        view: new ClusterView(deps.cluster.state, name, deps.host),
        state: "running",
        failure: undefined,
        role: "secondary",
        primary: undefined,
        secondary: undefined,
        becomingPrimary: false,
        takeOverBlockedBy: undefined,
        syncFile: loaded.syncFile,
        pauseFile: loaded.pauseFile,
        recovery: { replayedBytes: 0, tornBytes: 0 },
        emergencyFile: loaded.emergencyFile,
        dirtyMap: undefined,
        memberMaps: new Map(),
    };
}
//# sourceMappingURL=resource-core.js.map
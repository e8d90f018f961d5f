import { errorMessage } from "../util/errors.js";
import { LOG_SPACE_LEVELS, levelValue, nextLevel, thresholdBytes, } from "./log-space-levels.js";
export class LogSpaceMonitor {
    options;
    listeners = new Set();
    /** Device of each watched directory (read once). */
    devices = new Map();
    /** The latest sample per filesystem device. */
    samples = new Map();
    resourceLevels = new Map();
    timer;
    running;
    /** Timer periods so far; a resource's logs are deleted at most once per period. */
    period = 0;
    deletedInPeriod = new Map();
    constructor(options) {
        this.options = options;
    }
    /** Samples now and then every sampleIntervalMs. */
    start() {
        if (this.timer)
            return;
        this.timer = this.options.time.setRepeating(this.options.settings.sampleIntervalMs, () => {
            this.period += 1;
            if (!this.running)
                void this.sample();
        });
        this.timer.unref();
        void this.sample();
    }
    /** Stops the timer and waits for a sample in progress. */
    async stop() {
        this.timer?.cancel();
        this.timer = undefined;
        await this.running;
    }
    /** Samples every filesystem now (after a sample in progress), with what that entails. */
    async sampleNow() {
        await this.settled();
        await this.sample();
    }
    /** Resolves once no sample is in progress (one the timer started included). */
    async settled() {
        while (this.running)
            await this.running;
    }
    /** Calls `listener` at every level change; returns a function that unsubscribes it. */
    onLevel(listener) {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }
    /** The level of the filesystem holding the resource's logs (undefined before its first sample). */
    levelOf(resource) {
        return this.resourceLevels.get(resource);
    }
    /** The sample of the filesystem holding the resource's logs (undefined before its first sample). */
    sampleOf(resource) {
        return [...this.samples.values()].find((s) => s.resources.includes(resource));
    }
    /** The latest sample of every filesystem, in label order. */
    lastSamples() {
        return [...this.samples.values()].sort((a, b) => a.filesystem.localeCompare(b.filesystem));
    }
    sample() {
        const run = this.sampleOnce()
            .catch((err) => {
            // Anything unexpected (the resource list, a metric) fails this sample only, never the process.
            this.options.metrics.logSpaceSampleErrors.inc();
            this.options.logger.error({ err: errorMessage(err) }, "log space: sample failed");
        })
            .finally(() => {
            if (this.running === run)
                this.running = undefined;
        });
        this.running = run;
        return run;
    }
    async sampleOnce() {
        const groups = await this.filesystems();
        const changes = [];
        const toDelete = [];
        for (const [device, group] of groups) {
            const previous = this.samples.get(device);
            const sample = await this.measure(group, previous);
            if (!sample)
                continue;
            if (previous && previous.filesystem !== sample.filesystem)
                this.dropFilesystemSeries(previous.filesystem);
            this.samples.set(device, sample);
            this.export(sample);
            const before = previous?.level ?? "ok";
            if (sample.level !== before)
                changes.push({ ...pick(sample), previous: before });
            if (sample.level !== "ok")
                toDelete.push(...sample.resources);
        }
        this.forgetGone(groups);
        for (const change of changes)
            this.announce(change);
        for (const resource of toDelete)
            await this.deleteLogs(resource);
    }
    /** Watched directories grouped by filesystem device: label, the directory to statfs, resources. */
    async filesystems() {
        const resources = [...this.options.resources()].sort((a, b) => a.dir.localeCompare(b.dir));
        const dirs = [...this.options.roots, ...resources.map((r) => r.dir)];
        for (const known of [...this.devices.keys()])
            if (!dirs.includes(known))
                this.devices.delete(known);
        const groups = new Map();
        const place = async (dir, resource) => {
            const device = await this.deviceOf(dir);
            if (device === undefined)
                return;
            let group = groups.get(device);
            if (!group) {
                group = { filesystem: dir, dir, resources: [] };
                groups.set(device, group);
            }
            if (resource !== undefined)
                group.resources.push(resource);
        };
        for (const root of this.options.roots)
            await place(root);
        for (const r of resources)
            await place(r.dir, r.name);
        for (const group of groups.values())
            group.resources.sort();
        return groups;
    }
    async deviceOf(dir) {
        const known = this.devices.get(dir);
        if (known !== undefined)
            return known;
        try {
            const { device } = await this.options.storage.stat(dir);
            this.devices.set(dir, device);
            return device;
        }
        catch (err) {
            this.sampleFailed(dir, "stat", err);
            return undefined;
        }
    }
    async measure(group, previous) {
        let space;
        try {
            space = await this.options.storage.statfs(group.dir);
        }
        catch (err) {
            this.sampleFailed(group.dir, "statfs", err);
            // The previous numbers and level hold, for the resources there now.
            return previous && { ...previous, filesystem: group.filesystem, resources: group.resources };
        }
        const { sizeBytes, availableBytes: freeBytes } = space;
        return {
            filesystem: group.filesystem,
            resources: group.resources,
            level: nextLevel(this.options.settings, previous?.level ?? "ok", freeBytes, sizeBytes),
            sizeBytes,
            freeBytes,
            freeRatio: sizeBytes > 0 ? freeBytes / sizeBytes : 0,
            sampledAtMs: this.options.time.nowMs(),
        };
    }
    sampleFailed(dir, what, err) {
        this.options.metrics.logSpaceSampleErrors.inc();
        this.options.logger.warn({ dir, err: errorMessage(err) }, `log space: ${what} failed; the level holds`);
    }
    export(sample) {
        const { metrics, settings } = this.options;
        const fs = sample.filesystem;
        metrics.logFsSizeBytes.labels(fs).set(sample.sizeBytes);
        metrics.logFsFreeBytes.labels(fs).set(sample.freeBytes);
        metrics.logFsFreeRatio.labels(fs).set(sample.freeRatio);
        metrics.logSpaceLevel.labels(fs).set(levelValue(sample.level));
        for (const level of LOG_SPACE_LEVELS) {
            if (level === "ok")
                continue;
            metrics.logSpaceThresholdBytes.labels(fs, level).set(thresholdBytes(settings[level], sample.sizeBytes));
        }
        for (const resource of sample.resources) {
            this.resourceLevels.set(resource, sample.level);
            metrics.resourceLogSpaceLevel.labels(resource).set(levelValue(sample.level));
        }
    }
    /** Drops the state and series of filesystems and resources no longer watched. */
    forgetGone(groups) {
        for (const [device, sample] of this.samples) {
            if (groups.has(device))
                continue;
            this.samples.delete(device);
            this.dropFilesystemSeries(sample.filesystem);
        }
        const present = new Set([...groups.values()].flatMap((g) => g.resources));
        for (const resource of [...this.resourceLevels.keys()]) {
            if (present.has(resource))
                continue;
            this.resourceLevels.delete(resource);
            this.deletedInPeriod.delete(resource);
            this.options.metrics.resourceLogSpaceLevel.remove(resource);
        }
    }
    dropFilesystemSeries(fs) {
        const { metrics } = this.options;
        for (const gauge of [metrics.logFsSizeBytes, metrics.logFsFreeBytes, metrics.logFsFreeRatio]) {
            gauge.remove(fs);
        }
        metrics.logSpaceLevel.remove(fs);
        for (const level of LOG_SPACE_LEVELS)
            if (level !== "ok")
                metrics.logSpaceThresholdBytes.remove(fs, level);
    }
    announce(change) {
        const worse = levelValue(change.level) > levelValue(change.previous);
        this.options.logger[worse ? "warn" : "info"]({ ...change }, `log space on ${change.filesystem}: ${change.previous} -> ${change.level}`);
        for (const listener of this.listeners) {
            try {
                listener(change);
            }
            catch (err) {
                this.options.logger.error({ err: errorMessage(err) }, "log space listener failed");
            }
        }
    }
    async deleteLogs(resource) {
        if (this.deletedInPeriod.get(resource) === this.period)
            return;
        this.deletedInPeriod.set(resource, this.period);
        try {
            const { deleted } = await this.options.deleteReplayedLogs(resource);
            if (deleted.length === 0)
                return;
            this.options.metrics.logSpaceDeletedFiles.labels(resource).inc(deleted.length);
            this.options.logger.info({ resource, deleted, level: this.resourceLevels.get(resource) }, "log space low: deleted replayed log files");
        }
        catch (err) {
            this.options.logger.warn({ resource, err: errorMessage(err) }, "log space low: deleting replayed log files failed");
        }
    }
}
function pick(sample) {
    const { filesystem, resources, level, freeBytes, sizeBytes } = sample;
    return { filesystem, resources, level, freeBytes, sizeBytes };
}
//# sourceMappingURL=log-space.js.map
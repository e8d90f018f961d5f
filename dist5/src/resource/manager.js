/**
 * The resources of this node and their membership in the cluster:
 * creation (this node becomes primary), joining (secondary with full sync),
 * leaving, deletion, loading at start, and routing cluster-state changes to
 * the resource they concern.
 *
 * Mutating operations are idempotent (an identical second call reports
 * changed=false) and serialised, so concurrent RPCs cannot race each other
 * into a half-created resource.
 *
 * Creation and joining are all or nothing: the disk is checked (identity,
 * not inside a data dir, not used by another resource) and opened once
 * before anything is written; the rest, and the undo, is creation.ts. A
 * resource whose disk cannot be opened at start-up comes up "failed"
 * without stopping the others.
 */
import path from "node:path";
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import { Keys } from "../cluster/keys.js";
import { OperatorError } from "../util/errors.js";
import { membersOf, readSharedConfig, withdrawMember, withdrawResource, } from "./cluster-view.js";
import { createResource, dropUnfinishedCreation, joinResource } from "./creation.js";
import { FailureRecovery } from "./failure-recovery.js";
import { checkDiskUnused, probeDisk, resolveDisk, volumeSizeBytes } from "./disk-admission.js";
import { findJoinStart } from "./join-start.js";
import { isUnfinishedCreation } from "./resource-layout.js";
import { isValidResourceName, readResourceConfig, resourceDir, } from "./resource-config.js";
import { Resource } from "./resource.js";
export class ResourceManager {
    resources = new Map();
    lock = Promise.resolve();
    closed = false;
    deps;
    recovery;
    /** What creation.ts needs of us. */
    creation;
    constructor(managerDeps) {
        const { onResourceFailed, ...deps } = managerDeps;
        this.deps = {
            ...deps,
            onFailed: (resource, err) => {
                if (this.resources.get(resource.name) !== resource)
                    return;
                onResourceFailed?.(resource.name, err);
                this.recovery.failed(resource.name, err);
            },
        };
        this.recovery = new FailureRecovery({
            time: deps.time,
            metrics: deps.metrics,
            logger: deps.logger,
            backoff: deps.settings.recoveryBackoff,
            attempt: (name) => this.serialised(() => this.recover(name)),
        });
        this.creation = {
            deps: this.deps,
            resources: this.resources,
            recovery: this.recovery,
            register: (resource) => this.register(resource),
        };
        deps.cluster.state.on("change", (entry) => this.onStateChange(entry));
        deps.cluster.onStateExchanged(() => {
            for (const resource of this.resources.values())
                resource.onStateExchanged();
        });
    }
    get host() {
        return this.deps.host;
    }
    /** Opens (and recovers) every resource found in the data dir. */
    async loadAll() {
        const root = path.join(this.deps.dataDir, "resources");
        await makeDirectoryDurable(root, this.deps.storage, { mode: 0o700 });
        for (const name of (await this.deps.storage.list(root)).sort()) {
            if (!isValidResourceName(name))
                continue;
            const dir = resourceDir(this.deps.dataDir, name);
            if ((await readResourceConfig(dir, this.deps.storage)) === undefined &&
                (await isUnfinishedCreation(this.deps.storage, dir))) {
                await dropUnfinishedCreation(this.deps, name, dir);
                continue;
            }
            const resource = await Resource.open(dir, this.deps);
            this.register(resource);
            await resource.start();
            // A resource that cannot recover at start-up is retried like one that failed later.
            if (resource.state === "failed")
                this.recovery.failed(name, resource.detail().error);
        }
    }
    /**
     * One recovery attempt of a failed resource, as a restart would do it:
     * its files closed (never written), then opened and started anew from
     * what is on disk, through the same path as loadAll.
     */
    async recover(name) {
        const failed = this.resources.get(name);
        if (this.closed || !failed || failed.state !== "failed")
            return "gone";
        await failed.close();
        const resource = await Resource.open(failed.dir, this.deps);
        this.register(resource);
        await resource.start();
        if (resource.state === "running")
            return "running";
        await resource.close();
        return "failed";
    }
    get(name) {
        return this.resources.get(name);
    }
    require(name) {
        const resource = this.resources.get(name);
        if (!resource)
            throw new OperatorError("RESOURCE_NOT_FOUND", `resource ${name} does not exist on this node`);
        return resource;
    }
    list() {
        return [...this.resources.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    }
    sharedConfig(name) {
        return readSharedConfig(this.deps.cluster.state, name);
    }
    create(params) {
        return this.serialised(async () => {
            this.throwIfClosed();
            const disk = await resolveDisk(params.disk, this.deps.dataDir, this.deps.storage);
            const existing = this.resources.get(params.name);
            if (existing) {
                const same = existing.config.disk === disk.path &&
                    (params.sizeBytes === undefined || params.sizeBytes === existing.config.sizeBytes) &&
                    (params.frontend === undefined || params.frontend === existing.config.frontend);
                if (!same) {
                    throw new OperatorError("RESOURCE_CONFLICT", `resource ${params.name} already exists with disk ${existing.config.disk}, ${existing.config.sizeBytes} bytes, frontend ${existing.config.frontend}`, {
                        disk: existing.config.disk,
                        sizeBytes: existing.config.sizeBytes,
                        frontend: existing.config.frontend,
                    });
                }
                return { changed: false, resource: existing };
            }
            if (this.sharedConfig(params.name)) {
                throw new OperatorError("RESOURCE_CONFLICT", `resource ${params.name} already exists in the cluster: use resource.join to add this node`);
            }
            await checkDiskUnused(disk, this.resources.values(), this.deps.storage);
            const sizeBytes = volumeSizeBytes(params.sizeBytes, disk);
            await probeDisk(disk.path, this.deps.storage);
            const config = {
                format: 1,
                name: params.name,
                disk: disk.path,
                diskIdentity: disk.identity,
                sizeBytes,
                frontend: params.frontend ?? "auto",
                createdStampUs: this.deps.clock.now(),
            };
            return { changed: true, resource: await createResource(this.creation, config) };
        });
    }
    join(params) {
        return this.serialised(async () => {
            this.throwIfClosed();
            const disk = await resolveDisk(params.disk, this.deps.dataDir, this.deps.storage);
            const existing = this.resources.get(params.name);
            if (existing) {
                if (existing.config.disk !== disk.path) {
                    throw new OperatorError("RESOURCE_CONFLICT", `resource ${params.name} is already here on disk ${existing.config.disk}`, {
                        disk: existing.config.disk,
                    });
                }
                return { changed: false, resource: existing };
            }
            // A resource created a moment ago on another node may not have reached us yet: ask the members.
            if (!this.sharedConfig(params.name))
                await this.deps.cluster.catchUp();
            const shared = this.sharedConfig(params.name);
            if (!shared)
                throw new OperatorError("RESOURCE_NOT_FOUND", `the cluster has no resource ${params.name}`);
            await checkDiskUnused(disk, this.resources.values(), this.deps.storage);
            if (disk.sizeBytes < shared.sizeBytes) {
                throw new OperatorError("DISK_INVALID", `disk ${disk.path} has ${disk.sizeBytes} bytes, the resource needs ${shared.sizeBytes}`);
            }
            const { primary, start } = await findJoinStart(this.deps.cluster, params.name);
            await probeDisk(disk.path, this.deps.storage);
            const config = {
                format: 1,
                name: params.name,
                disk: disk.path,
                diskIdentity: disk.identity,
                sizeBytes: shared.sizeBytes,
                frontend: shared.frontend ?? "auto",
                createdStampUs: shared.createdStampUs,
            };
            const resource = await joinResource(this.creation, config, start.name);
            this.deps.logger.info({ resource: config.name, primary, from: start.name }, "joined resource; full sync started");
            return { changed: true, resource };
        });
    }
    /**
     * This node leaves the resource (must not be its primary), or, with host
     * and force, a survivor evicts a dead member so it no longer pins logs.
     */
    leave(params) {
        return this.serialised(async () => {
            this.throwIfClosed();
            const state = this.deps.cluster.state;
            const target = params.host ?? this.host;
            if (target !== this.host) {
                if (!params.force)
                    throw new OperatorError("RESOURCE_CONFLICT", `removing another member (${target}) needs force: true`);
                const isMember = state.get(Keys.resourceHost(params.name, target, "member")) !== undefined;
                if (!isMember || state.value(Keys.resourceEvicted(params.name, target)) === true)
                    return { changed: false };
                state.set(Keys.resourceEvicted(params.name, target), true);
                await state.flush();
                this.deps.logger.warn({ resource: params.name, host: target }, "evicted a member");
                return { changed: true };
            }
            const resource = this.resources.get(params.name);
            if (!resource)
                return { changed: false };
            if (resource.role === "primary" && !params.force) {
                throw new OperatorError("RESOURCE_CONFLICT", `this node is the primary of ${params.name}: hand over first (resource.primary on another member), or delete the resource`);
            }
            await this.remove(resource);
            return { changed: true };
        });
    }
    /**
     * Deletes the resource from the cluster. Refused while other members are
     * still joined (they must leave first), unless force.
     */
    delete(params) {
        return this.serialised(async () => {
            this.throwIfClosed();
            const state = this.deps.cluster.state;
            const resource = this.resources.get(params.name);
            const shared = this.sharedConfig(params.name);
            if (!resource && !shared)
                return { changed: false };
            const others = this.membersOf(params.name).filter((h) => h !== this.host);
            if (others.length > 0 && !params.force) {
                throw new OperatorError("RESOURCE_CONFLICT", `resource ${params.name} still has members ${others.join(", ")}: they must leave first (or use force)`, { members: others });
            }
            withdrawResource(state, params.name);
            await state.flush();
            if (resource)
                await this.remove(resource);
            return { changed: true };
        });
    }
    /** Hosts with a live member entry for the resource, not evicted. */
    membersOf(name) {
        return membersOf(this.deps.cluster.state, name);
    }
    /** Closes every resource (log finished, checkpoint written). */
    async closeAll() {
        this.recovery.stop();
        await this.serialised(async () => {
            this.closed = true;
            await Promise.all([...this.resources.values()].map((r) => r.close()));
        });
    }
    /** Whether this node may leave the cluster: not while it holds resources. */
    leaveBlocker() {
        const names = [...this.resources.keys()];
        return names.length > 0 ? `it is still a member of ${names.join(", ")}` : undefined;
    }
    async remove(resource) {
        const state = this.deps.cluster.state;
        this.resources.delete(resource.name);
        this.recovery.cancel(resource.name);
        await resource.destroy();
        withdrawMember(state, resource.name, this.host);
        await state.flush();
        this.deps.logger.info({ resource: resource.name }, "resource removed from this node");
    }
    /**
     * Registered before it starts, so that cluster-state changes during its
     * recovery (the designated primary moved) reach it.
     */
    register(resource) {
        this.resources.set(resource.name, resource);
        this.recovery.watch(resource.name);
        this.publishMembership(resource);
    }
    publishMembership(resource) {
        this.deps.cluster.state.set(Keys.resourceHost(resource.name, this.host, "member"), {
            disk: resource.config.disk,
            sizeBytes: resource.config.sizeBytes,
        });
    }
    onStateChange(entry) {
        const m = /^resource\/([^/]+)\//.exec(entry.key);
        if (!m)
            return;
        const resource = this.resources.get(m[1]);
        if (!resource)
            return;
        if (entry.key === Keys.resourceConfig(resource.name) && entry.deleted && !this.closed) {
            // The resource was deleted from the cluster: drop our copy (the disk stays).
            this.serialised(async () => {
                if (this.resources.get(resource.name) === resource)
                    await this.remove(resource);
            }).catch((err) => this.deps.logger.error({ resource: resource.name, err }, "dropping a deleted resource failed"));
            return;
        }
        resource.onStateChange(entry);
    }
    throwIfClosed() {
        if (this.closed)
            throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
    }
    serialised(work) {
        const run = this.lock.then(work, work);
        this.lock = run.catch(() => undefined);
        return run;
    }
}
//# sourceMappingURL=manager.js.map
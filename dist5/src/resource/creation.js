/**
 * Creation and joining are all or nothing: what the manager runs around a
 * create or join, and the clean-up of a creation cut short by a crash.
 *
 * Contract:
 * - createResource(): the cluster learns of the new resource (its config,
 *   this node as designated primary, flushed) before anything can be
 *   written to it; then its files are created and it starts.
 * - joinResource(): the files of a joining secondary, then it starts.
 * - Both are all or nothing (allOrNothing()): `work` writes the resource's files and hands the
 *   opened resource to `created`, which registers and starts it. If
 *   anything fails, or the resource cannot start (RESOURCE_FAILED),
 *   everything is undone: the resource is dropped from the manager's map,
 *   its recovery cancelled, its directory removed durably, its member
 *   entry withdrawn, and (withdrawShared) the resource's cluster config
 *   and designated primary. The original error is rethrown (as a disk
 *   OperatorError where it is one); a failing undo is only logged.
 * - dropUnfinishedCreation(): a directory without resource.json found at
 *   start-up is removed, with our member entry, and the resource's cluster
 *   entries too if we created it, are its designated primary and nobody
 *   else has joined.
 * The caller serialises these with its other mutating operations.
 */
import { Keys } from "../cluster/keys.js";
import { OperatorError } from "../util/errors.js";
import { membersOf, readSharedConfig, withdrawMember, withdrawResource, } from "./cluster-view.js";
import { diskOperatorError } from "./disk.js";
import { removeLayout } from "./resource-layout.js";
import { RESOURCE_CONFIG_FILE, resourceDir } from "./resource-config.js";
import { Resource } from "./resource.js";
/** A new resource with this node as its primary, published to the cluster first. */
export function createResource(ctx, config) {
    const { deps } = ctx;
    const state = deps.cluster.state;
    return allOrNothing(ctx, config, { withdrawShared: true }, async (created) => {
        // The cluster learns of the resource before anything can be written to it.
        state.set(Keys.resourceConfig(config.name), {
            sizeBytes: config.sizeBytes,
            createdBy: deps.host,
            createdStampUs: config.createdStampUs,
            frontend: config.frontend,
        });
        state.set(Keys.resourcePrimary(config.name), deps.host);
        await state.flush();
        return created(await Resource.create(config, deps));
    });
}
/** Joins an existing resource as a secondary, replaying from `startFile`. */
export function joinResource(ctx, config, startFile) {
    return allOrNothing(ctx, config, { withdrawShared: false }, async (created) => created(await Resource.join(config, startFile, ctx.deps)));
}
/**
 * Runs a creation (create or join): `work` writes the resource's files
 * and hands the opened resource to `created`, which registers and starts
 * it. If anything fails, or the resource cannot start, everything is
 * undone: the resource is dropped, its directory removed durably, its
 * member entries withdrawn, and (withdrawShared) the resource's cluster
 * config and designated primary.
 */
async function allOrNothing(ctx, config, options, work) {
    let opened;
    try {
        return await work(async (resource) => {
            opened = resource;
            ctx.register(resource);
            await resource.start();
            if (resource.state === "failed") {
                throw new OperatorError("RESOURCE_FAILED", `resource ${config.name} could not start on disk ${config.disk}: ${resource.detail().error ?? "unknown"}`);
            }
            return resource;
        });
    }
    catch (err) {
        await undoCreation(ctx, config.name, opened, options.withdrawShared).catch((undoErr) => ctx.deps.logger.error({ resource: config.name, err: undoErr }, "undoing a refused resource creation failed"));
        throw diskOperatorError(config.disk, err) ?? err;
    }
}
async function undoCreation(ctx, name, resource, withdrawShared) {
    const { deps } = ctx;
    const state = deps.cluster.state;
    // Out of the map first: the withdrawn config must not trigger a second removal.
    if (resource && ctx.resources.get(name) === resource)
        ctx.resources.delete(name);
    ctx.recovery.cancel(name);
    if (resource)
        await resource.destroy();
    await removeLayout(deps.storage, resourceDir(deps.dataDir, name));
    withdrawMember(state, name, deps.host);
    if (withdrawShared)
        withdrawResource(state, name);
    await state.flush();
    deps.logger.info({ resource: name }, "refused resource creation undone");
}
/** Removes a creation cut short by a crash, and what it published if nobody else has joined. */
export async function dropUnfinishedCreation(deps, name, dir) {
    deps.logger.warn({ resource: name, dir }, `removing an unfinished resource directory (no ${RESOURCE_CONFIG_FILE}, no log files)`);
    await removeLayout(deps.storage, dir);
    const state = deps.cluster.state;
    const host = deps.host;
    withdrawMember(state, name, host);
    const ours = readSharedConfig(state, name)?.createdBy === host &&
        state.value(Keys.resourcePrimary(name)) === host &&
        membersOf(state, name).every((h) => h === host);
    if (ours)
        withdrawResource(state, name);
    await state.flush();
}
//# sourceMappingURL=creation.js.map
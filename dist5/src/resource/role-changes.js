import { MarsError, OperatorError, errorMessage, isIoFailure } from "../util/errors.js";
import { stepDown, takeOver } from "./primary-role.js";
import { decideRoleChange, decideStartRole, makePrimaryRefusal } from "./role-decision.js";
import { appliedNewestFile, isLocallyFinished, startSecondary, stopSecondary } from "./secondary-role.js";
import { resyncPending } from "./cut-loose.js";
import { memberHistories } from "./status-model.js";
export class RoleChanges {
    core;
    hooks;
    cluster;
    logger;
    detach;
    /** start() has taken up the role: role changes may run. */
    started = false;
    transitions = Promise.resolve();
    constructor(core, hooks, cluster, logger, 
    /** The frontend lets go of the volume (step-down). */
    detach) {
        this.core = core;
        this.hooks = hooks;
        this.cluster = cluster;
        this.logger = logger;
        this.detach = detach;
    }
    markStarted() {
        this.started = true;
    }
    /**
     * Runs role changes one at a time. A system call failing on the way (a
     * log file's sync while taking over, say) fails the resource, which then
     * recovers from disk, instead of leaving it half-way between two roles;
     * the caller gets RESOURCE_FAILED.
     */
    enqueue(work) {
        const guarded = async () => {
            try {
                return await work();
            }
            catch (err) {
                throw this.asResourceFailure(err);
            }
        };
        const run = this.transitions.then(guarded, guarded);
        this.transitions = run.catch(() => undefined);
        return run;
    }
    asResourceFailure(err) {
        if (!isIoFailure(err))
            return err;
        this.hooks.fatal(err);
        return new OperatorError("RESOURCE_FAILED", `${this.core.name} failed: ${errorMessage(err)}`);
    }
    /** Brings the role in line with the cluster state, after whatever runs now. */
    reconsider() {
        this.enqueue(() => this.reconcile()).catch((err) => this.logger.error({ resource: this.core.name, err }, "role change failed"));
    }
    /** Takes up the role the cluster state gives us at start (after recovery). Runs inside enqueue(). */
    async startRole() {
        const { core } = this;
        const newest = core.logs.newest();
        const designated = core.view.designatedPrimary();
        const otherMembers = core.view.members().filter((h) => h !== core.host);
        const decision = decideStartRole({
            host: core.host,
            designatedPrimary: designated,
            otherMembers,
            handoverPending: designated === core.host &&
                newest !== undefined &&
                newest.host !== core.host &&
                !(await isLocallyFinished(core, newest.name)),
        });
        if (decision.kind === "become-primary") {
            await takeOver(core, this.hooks, { cut: false });
            return;
        }
        await startSecondary(core, this.hooks);
        if (decision.kind === "become-secondary" && decision.confirmTakeOver) {
            // Designated here when we stopped. The designation may have moved while
            // we were down (a forced failover elsewhere): export nothing until we
            // have heard every other member, then take over only by the planned
            // rule (reconcile), exactly as in a handover.
            core.becomingPrimary = true;
            this.logger.info({ resource: core.name, members: otherMembers }, "designated primary at start: confirming with the other members before exporting");
        }
    }
    /** Brings the role in line with the designated primary. Runs inside enqueue(). */
    async reconcile() {
        const { core } = this;
        const decision = decideRoleChange({
            host: core.host,
            active: core.state === "running" && this.started,
            role: core.role,
            designatedPrimary: core.view.designatedPrimary(),
            takeOver: () => {
                const histories = memberHistories(core);
                const own = histories.find((h) => h.host === core.host);
                const cuts = core.view.cutStamps();
                return {
                    runningAsSecondary: core.secondary !== undefined && this.started,
                    unheardMembers: core.view
                        .members()
                        .filter((h) => h !== core.host && !this.cluster.exchangedSinceStart(h)),
                    consistent: core.syncFile.consistent && core.syncFile.state !== "syncing",
                    ownVersions: own.versions,
                    appliedNewestFile: appliedNewestFile(core),
                    others: histories.filter((h) => h.host !== core.host),
                    cutStampOf: (version) => cuts.get(version),
                };
            },
        });
        switch (decision.kind) {
            case "step-down": {
                const parts = core.primary;
                if (!parts)
                    return;
                await stepDown(core, this.hooks, parts, this.detach);
                await startSecondary(core, this.hooks);
                return;
            }
            case "become-primary":
            case "block": {
                core.becomingPrimary = true;
                const blocker = decision.kind === "block" ? decision.reason : undefined;
                if (blocker !== core.takeOverBlockedBy) {
                    core.takeOverBlockedBy = blocker;
                    if (blocker)
                        this.logger.info({ resource: core.name, reason: blocker }, "take-over waits");
                }
                if (decision.kind === "become-primary") {
                    await stopSecondary(core);
                    try {
                        await takeOver(core, this.hooks, { cut: false });
                    }
                    catch (err) {
                        // Refused on the way (not an IO failure, which fails the resource):
                        // back to the secondary role, so fetching goes on and the rule is
                        // asked again, instead of waiting with no role at all.
                        if (err instanceof MarsError && !core.primary && core.state === "running") {
                            core.takeOverBlockedBy = errorMessage(err);
                            this.logger.info({ resource: core.name, reason: core.takeOverBlockedBy }, "take-over waits");
                            await startSecondary(core, this.hooks);
                        }
                        throw err;
                    }
                }
                else {
                    this.hooks.publishStatus(true);
                }
                return;
            }
            case "stay":
                if (decision.abandonTakeOver) {
                    core.becomingPrimary = false;
                    core.takeOverBlockedBy = undefined;
                }
                return;
            case "become-secondary":
                return;
        }
    }
    /**
     * resource.primary: refused unless the policy allows it; a planned
     * handover designates us and lets reconcile take over (the caller waits
     * for it), a forced failover takes over now with the log present here.
     * Returns false when this node is primary already.
     */
    async makePrimary(options) {
        const { core } = this;
        if (core.state !== "running")
            throw new OperatorError("RESOURCE_FAILED", `${core.name} is ${core.state}`);
        if (core.role === "primary" && core.view.designatedPrimary() === core.host)
            return false;
        // Decide on fresh state: just after a restart this node may not know yet
        // that it was cut loose (a handover it cannot complete would leave the
        // resource without a primary).
        if (!options.force)
            await this.cluster.catchUp();
        const current = core.view.designatedPrimary();
        const refusal = makePrimaryRefusal(core.name, {
            force: options.force,
            host: core.host,
            designatedPrimary: current,
            consistent: core.syncFile.consistent && core.syncFile.state !== "syncing",
            splitBrain: !options.force &&
                (options.splitBrain() ||
                    core.secondary?.fetcher.stateValue === "split-brain" ||
                    core.secondary?.replayer.state === "blocked"),
            paused: core.pauseFile,
            resyncPending: resyncPending(core),
            currentPrimaryAlive: current !== undefined && current !== core.host && this.cluster.isAlive(current),
        });
        if (refusal)
            throw new OperatorError(refusal.code, refusal.message, refusal.data);
        if (!options.force) {
            await core.view.designate(core.host);
            await this.enqueue(() => this.reconcile());
            return true;
        }
        await this.enqueue(async () => {
            await core.view.designate(core.host);
            if (core.role === "primary")
                return;
            this.logger.warn({ resource: core.name, previous: current ?? null }, "forced failover: taking over with the log present here");
            await stopSecondary(core);
            await takeOver(core, this.hooks, { cut: true });
        });
        return true;
    }
    /** resource.secondary: no primary designated any more; this node stops writing. */
    async makeSecondary() {
        if (this.core.view.designatedPrimary() !== this.core.host)
            return false;
        await this.core.view.designate(null);
        await this.enqueue(() => this.reconcile());
        return true;
    }
}
//# sourceMappingURL=role-changes.js.map
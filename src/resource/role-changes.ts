/**
 * Carries out a resource's role changes, one at a time: gathers the facts,
 * asks role-decision.ts what to do, and does it with primary-role.ts and
 * secondary-role.ts.
 *
 * Contract:
 * - Every role change runs inside `enqueue`, after the one before it has
 *   finished (whether it succeeded or not); so do close() and start().
 * - Nothing changes role before `markStarted()` (start() took up the role):
 *   a designation that arrives during recovery is acted on right after.
 * - makePrimary checks every precondition (operator policy) before the
 *   current primary is asked to step down (the designation moves).
 */
import type { Logger } from "pino";
import { parseLogName } from "../log/log-name.js";
import type { MemberHistory } from "../replication/history.js";
import { MarsError, OperatorError, errorMessage, isIoFailure } from "../util/errors.js";
import { stepDown, takeOver } from "./primary-role.js";
import type { ResourceCore, ResourceDeps, RoleHooks } from "./resource-core.js";
import { decideRoleChange, decideStartRole, makePrimaryRefusal } from "./role-decision.js";
import { appliedNewestFile, isLocallyFinished, startSecondary, stopSecondary } from "./secondary-role.js";
import { resyncPending } from "./cut-loose.js";
import { memberHistories } from "./status-model.js";

export class RoleChanges {
  /** start() has taken up the role: role changes may run. */
  private started = false;
  private transitions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly core: ResourceCore,
    private readonly hooks: RoleHooks,
    private readonly cluster: ResourceDeps["cluster"],
    private readonly logger: Logger,
    /** The frontend lets go of the volume (step-down). */
    private readonly detach: () => Promise<void>,
  ) {}

  markStarted(): void {
    this.started = true;
  }

  /**
   * Runs role changes one at a time. A system call failing on the way (a
   * log file's sync while taking over, say) fails the resource, which then
   * recovers from disk, instead of leaving it half-way between two roles;
   * the caller gets RESOURCE_FAILED.
   */
  enqueue<T>(work: () => Promise<T>): Promise<T> {
    const guarded = async (): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        throw this.asResourceFailure(err);
      }
    };
    const run = this.transitions.then(guarded, guarded);
    this.transitions = run.catch(() => undefined);
    return run;
  }

  private asResourceFailure(err: unknown): unknown {
    if (!isIoFailure(err)) return err;
    this.hooks.fatal(err);
    return new OperatorError("RESOURCE_FAILED", `${this.core.name} failed: ${errorMessage(err)}`);
  }

  /** Brings the role in line with the cluster state, after whatever runs now. */
  reconsider(): void {
    this.enqueue(() => this.reconcile()).catch((err: unknown) =>
      this.logger.error({ resource: this.core.name, err }, "role change failed"),
    );
  }

  /** Takes up the role the cluster state gives us at start (after recovery). Runs inside enqueue(). */
  async startRole(): Promise<void> {
    const { core } = this;
    const newest = core.logs.newest();
    const designated = core.view.designatedPrimary();
    const otherMembers = core.view.members().filter((h) => h !== core.host);
    const forced = await core.files.readForced();
    const decision = decideStartRole({
      host: core.host,
      designatedPrimary: designated,
      otherMembers,
      handoverPending:
        designated === core.host &&
        newest !== undefined &&
        newest.host !== core.host &&
        !(await isLocallyFinished(core, newest.name)),
      forcedTakeOverPending:
        forced !== undefined &&
        designated === core.host &&
        forced.designationStampUs === core.view.designationStampUs(),
    });
    let refused = false;
    if (decision.kind === "become-primary") {
      if (decision.cut) {
        this.logger.warn(
          { resource: core.name },
          "forced failover: completing the take-over that failed before (with the log present here)",
        );
      }
      try {
        await takeOver(core, this.hooks, { cut: decision.cut === true });
        if (forced) await core.files.removeForced();
        return;
      } catch (err) {
        // Refused here (a gap this disk lacks, say; an IO failure fails the
        // resource and comes back here): asking again at every recovery
        // would not change that. Wait by the planned rule instead.
        if (!decision.cut || !(err instanceof MarsError)) throw err;
        this.logger.warn({ resource: core.name, err }, "forced failover: the take-over is refused here");
        refused = true;
      }
    }
    // Done, refused, designated elsewhere since, or a later designation here: the force is over.
    if (forced) await core.files.removeForced();
    await startSecondary(core, this.hooks);
    if (refused || (decision.kind === "become-secondary" && decision.confirmTakeOver)) {
      // Designated here when we stopped. The designation may have moved while
      // we were down (a forced failover elsewhere): export nothing until we
      // have heard every other member, then take over only by the planned
      // rule (reconcile), exactly as in a handover.
      core.becomingPrimary = true;
      this.logger.info(
        { resource: core.name, members: otherMembers },
        "designated primary at start: confirming with the other members before exporting",
      );
    }
  }

  /** Brings the role in line with the designated primary. Runs inside enqueue(). */
  async reconcile(): Promise<void> {
    const { core } = this;
    const decision = decideRoleChange({
      host: core.host,
      active: core.state === "running" && this.started,
      role: core.role,
      designatedPrimary: core.view.designatedPrimary(),
      takeOver: () => {
        const histories = memberHistories(core);
        const own = histories.find((h) => h.host === core.host) as MemberHistory;
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
          appliedFileNumber: core.applier.appliedPosition?.fileNumber ?? 0,
          unloggedWrites: core.view.members().flatMap((host) => {
            const after = host === core.host ? undefined : core.view.publishedStatusOf(host)?.unloggedAfter;
            const afterFileNumber = after ? parseLogName(after)?.fileNumber : undefined;
            return afterFileNumber === undefined ? [] : [{ host, afterFileNumber }];
          }),
        };
      },
    });
    switch (decision.kind) {
      case "step-down": {
        const parts = core.primary;
        if (!parts) return;
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
          if (blocker) this.logger.info({ resource: core.name, reason: blocker }, "take-over waits");
        }
        if (decision.kind === "become-primary") {
          await stopSecondary(core);
          try {
            await takeOver(core, this.hooks, { cut: false });
          } catch (err) {
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
        } else {
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
  async makePrimary(options: { force: boolean; splitBrain: () => boolean }): Promise<boolean> {
    const { core } = this;
    if (core.state !== "running") throw new OperatorError("RESOURCE_FAILED", `${core.name} is ${core.state}`);
    if (core.role === "primary" && core.view.designatedPrimary() === core.host) return false;
    // Decide on fresh state: just after a restart this node may not know yet
    // that it was cut loose (a handover it cannot complete would leave the
    // resource without a primary).
    if (!options.force) await this.cluster.catchUp();
    const current = core.view.designatedPrimary();
    const refusal = makePrimaryRefusal(core.name, {
      force: options.force,
      host: core.host,
      designatedPrimary: current,
      consistent: core.syncFile.consistent && core.syncFile.state !== "syncing",
      splitBrain:
        !options.force &&
        (options.splitBrain() ||
          core.secondary?.fetcher.stateValue === "split-brain" ||
          core.secondary?.replayer.state === "blocked"),
      paused: core.pauseFile,
      resyncPending: resyncPending(core),
      currentPrimaryAlive: current !== undefined && current !== core.host && this.cluster.isAlive(current),
    });
    if (refusal) throw new OperatorError(refusal.code, refusal.message, refusal.data);
    if (!options.force) {
      await core.view.designate(core.host);
      await this.enqueue(() => this.reconcile());
      return true;
    }
    let designated = false;
    try {
      await this.enqueue(async () => {
        await core.view.designate(core.host);
        designated = true;
        if (core.role === "primary") return;
        this.logger.warn(
          { resource: core.name, previous: current ?? null },
          "forced failover: taking over with the log present here",
        );
        // A failure from here on is followed by this same take-over (startRole).
        await core.files.writeForced({ designationStampUs: core.view.designationStampUs() ?? 0 });
        await stopSecondary(core);
        await takeOver(core, this.hooks, { cut: true });
        await core.files.removeForced();
      });
    } catch (err) {
      // Designated here (and maybe the cut published): the failover has
      // taken effect, and the recovery that follows the failure completes
      // the forced take-over (forced.json, startRole). Answering a refusal
      // would tell the operator that nothing changed (simulator seed
      // 860216: the old primary's later writes were dropped by a failover
      // the operator had been told was refused).
      if (!designated || core.state === "running") throw err;
      this.logger.warn(
        { resource: core.name, err },
        "forced failover: designated here; the take-over failed and follows the resource's recovery",
      );
    }
    return true;
  }

  /** resource.secondary: no primary designated any more; this node stops writing. */
  async makeSecondary(): Promise<boolean> {
    if (this.core.view.designatedPrimary() !== this.core.host) return false;
    await this.core.view.designate(null);
    await this.enqueue(() => this.reconcile());
    return true;
  }
}

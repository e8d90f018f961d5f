import { plannedTakeOverBlocker } from "../replication/history.js";
/** The role to take up at start, after recovery. */
export function decideStartRole(f) {
    if (f.designatedPrimary !== f.host)
        return { kind: "become-secondary", confirmTakeOver: false };
    if (f.otherMembers.length === 0 && !f.handoverPending)
        return { kind: "become-primary" };
    return { kind: "become-secondary", confirmTakeOver: true };
}
/** The role change to make now that something changed (designation, histories, progress). */
export function decideRoleChange(f) {
    if (!f.active)
        return { kind: "stay", abandonTakeOver: false };
    const designatedHere = f.designatedPrimary === f.host;
    if (f.role === "primary" && !designatedHere)
        return { kind: "step-down" };
    if (f.role === "secondary" && designatedHere) {
        const reason = takeOverBlocker(f.host, f.takeOver());
        return reason === undefined ? { kind: "become-primary" } : { kind: "block", reason };
    }
    return { kind: "stay", abandonTakeOver: !designatedHere };
}
/**
 * Why a planned take-over cannot complete yet (undefined: it can). It is
 * decided on histories (src/replication/history.ts): we must have heard
 * every other member since we started, nobody else may still be primary,
 * and everything any member wrote or applied must be applied here.
 */
export function takeOverBlocker(host, f) {
    if (!f.runningAsSecondary)
        return "not running as a secondary";
    if (f.unheardMembers.length > 0) {
        return `waiting to hear from ${f.unheardMembers.join(", ")} since this node started (the designated primary may have moved meanwhile); force takes over without them`;
    }
    return plannedTakeOverBlocker({ host, consistent: f.consistent, versions: f.ownVersions, appliedNewestFile: f.appliedNewestFile }, f.others, f.cutStampOf);
}
/**
 * Why resource.primary is refused (undefined: go ahead). Every
 * precondition is checked before the current primary is asked to step down.
 */
export function makePrimaryRefusal(resource, f) {
    // A half-synced replica holds a mix of old and new blocks: it never
    // becomes primary, not even by force (as in MARS).
    if (!f.consistent) {
        return {
            code: "NOT_CONSISTENT",
            message: `${resource} is not consistent here (its sync or the replay after it is not finished); it cannot become primary, not even with force`,
        };
    }
    if (f.force)
        return undefined;
    if (f.splitBrain) {
        return { code: "SPLIT_BRAIN", message: `${resource} is in a split brain here; resolve it first` };
    }
    const paused = ["fetch", "replay", "sync"].filter((what) => f.paused[what]);
    if (paused.length > 0) {
        return {
            code: "REPLICATION_PAUSED",
            message: `${paused.join(" and ")} paused on this node: resume it first (a handover waits for this node to fetch and replay everything)`,
            data: { paused },
        };
    }
    // The resync needs the current primary serving: asking it to step down
    // first would leave nobody to copy from.
    if (f.resyncPending) {
        return {
            code: "NOT_CONSISTENT",
            message: `${resource}: ${f.resyncPending}; it resyncs from the primary by itself, then a handover can follow (force takes over with what is here)`,
        };
    }
    const current = f.designatedPrimary;
    if (current && current !== f.host && !f.currentPrimaryAlive) {
        return {
            code: "PRIMARY_UNREACHABLE",
            message: `the current primary ${current} is unreachable: use force for a failover`,
        };
    }
    return undefined;
}
//# sourceMappingURL=role-decision.js.map
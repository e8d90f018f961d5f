/**
 * The role state machine of one resource, as pure functions from facts to
 * decisions. The façade (resource.ts) gathers the facts, asks, and carries
 * the decision out, one role change at a time; nothing here reads state or
 * does I/O, so every case is unit-tested on its own
 * (test/unit/resource/role-decision.test.ts).
 *
 * Role changes follow the designated primary in the cluster state:
 *
 * - at start: designated elsewhere (or nowhere) -> secondary. Designated
 *   here by a forced failover whose take-over did not complete -> the
 *   forced take-over (cut), at once. Designated here otherwise -> primary
 *   at once only for a sole member with no hand-over pending (the newest
 *   local file is our own, or finished here);
 *   otherwise the designation may have moved while we were down (a forced
 *   failover elsewhere): start as a secondary, export nothing, and confirm
 *   with every other member first, then take over by the planned rule.
 * - while running: primary but designated elsewhere -> step down.
 *   Secondary and designated here -> take over once the planned rule of
 *   src/replication/history.ts allows it (no acknowledged write is lost),
 *   else wait, saying why (block). Designated elsewhere -> give up a pending
 *   take-over.
 * - makePrimary (operator policy): a replica that is not consistent never
 *   becomes primary, not even by force; a planned handover is refused in a
 *   split brain, while replication is paused here, or while the current
 *   primary is unreachable (force is then the operator's call).
 */
import type { VersionEntry } from "../log/version.js";
import { plannedTakeOverBlocker, type MemberHistory } from "../replication/history.js";
import type { Role } from "./status-model.js";

/** What the take-over rule needs to know about this node and the others. */
export interface TakeOverFacts {
  /** The fetcher/replayer run (started, and secondary parts present). */
  runningAsSecondary: boolean;
  /** Other members we have not exchanged state with since this process started. */
  unheardMembers: string[];
  /** Consistent and not syncing. */
  consistent: boolean;
  /** Our own published version entries. */
  ownVersions: Map<number, VersionEntry>;
  /** The newest local file is finished and replayed to its end (or there is none). */
  appliedNewestFile: boolean;
  /** Every other member's history. */
  others: MemberHistory[];
  /** The stamp of the forced failover that cut the history at a version, if one did. */
  cutStampOf: (version: string) => number | undefined;
  /** The file number our applied position is in (0: none yet). */
  appliedFileNumber: number;
  /** Members whose disks hold emergency-mode writes after a file, in no log yet (PublishedStatus.unloggedAfter). */
  unloggedWrites: { host: string; afterFileNumber: number }[];
}

export interface StartFacts {
  host: string;
  designatedPrimary: string | undefined;
  /** Members other than this node. */
  otherMembers: string[];
  /** The newest local file is another host's and not complete here (a hand-over to finish). */
  handoverPending: boolean;
  /** A forced failover designated us, this very designation, and its take-over did not complete (ForcedFile). */
  forcedTakeOverPending: boolean;
}

export interface ChangeFacts {
  host: string;
  /** The resource is running (not failed or closed) and start() has taken up a role. */
  active: boolean;
  role: Role;
  designatedPrimary: string | undefined;
  /** Asked only when designated here as a secondary. */
  takeOver: () => TakeOverFacts;
}

/** A secondary whose disk holds emergency-mode writes it made as primary, in no log yet (emergency.ts owesGapFile). */
export interface GapFacts {
  host: string;
  designatedPrimary: string | undefined;
  /** The last file before the gap. */
  afterFileNumber: number;
  /** We exchanged state with the designated primary since this process started: its status is current. */
  designatedHeard: boolean;
  designatedRole: Role | undefined;
  /** Every other member's history. */
  others: MemberHistory[];
  /** A forced failover started a history after the last file before the gap (a cut's first file is later). */
  cutBeyond: boolean;
}

export type RoleDecision =
  /** Take up the primary role now (after stopping the secondary parts, if any); `cut`: as a forced failover. */
  | { kind: "become-primary"; cut?: true }
  /** Take up the secondary role; `confirmTakeOver`: then take over once confirmed (see start). */
  | { kind: "become-secondary"; confirmTakeOver: boolean }
  | { kind: "step-down" }
  /** Designated here, but the take-over must wait: `reason` says why. */
  | { kind: "block"; reason: string }
  /** Nothing to do; `abandonTakeOver`: a pending take-over is no longer wanted. */
  | { kind: "stay"; abandonTakeOver: boolean };

/** The role to take up at start, after recovery. */
export function decideStartRole(f: StartFacts): RoleDecision {
  if (f.designatedPrimary !== f.host) return { kind: "become-secondary", confirmTakeOver: false };
  if (f.forcedTakeOverPending) return { kind: "become-primary", cut: true };
  if (f.otherMembers.length === 0 && !f.handoverPending) return { kind: "become-primary" };
  return { kind: "become-secondary", confirmTakeOver: true };
}

/** The role change to make now that something changed (designation, histories, progress). */
export function decideRoleChange(f: ChangeFacts): RoleDecision {
  if (!f.active) return { kind: "stay", abandonTakeOver: false };
  const designatedHere = f.designatedPrimary === f.host;
  if (f.role === "primary" && !designatedHere) return { kind: "step-down" };
  if (f.role === "secondary" && designatedHere) {
    const reason = takeOverBlocker(f.host, f.takeOver());
    return reason === undefined ? { kind: "become-primary" } : { kind: "block", reason };
  }
  return { kind: "stay", abandonTakeOver: !designatedHere };
}

/**
 * Whether a secondary may write the gap file its step-down in emergency
 * mode did not (the gap file failed, or a crash, while the designation
 * moved): the designated primary waits for those writes (takeOverBlocker)
 * and would wait for ever (simulator seed 980143). Only while nobody has
 * gone on from the last file before the gap: the designated primary is
 * heard and not primary, no member's history has a later file, no forced
 * failover cut there. Otherwise the writes were dropped by force, and this
 * disk is copied whole from the new primary (secondary-sync.ts).
 */
export function mayCloseGap(f: GapFacts): boolean {
  if (f.designatedPrimary === undefined || f.designatedPrimary === f.host) return false;
  if (!f.designatedHeard || f.designatedRole !== "secondary" || f.cutBeyond) return false;
  return f.others.every(
    (h) =>
      [...h.versions.keys()].every((n) => n <= f.afterFileNumber) &&
      h.positions.every((p) => p.fileNumber <= f.afterFileNumber),
  );
}

/**
 * Why a planned take-over cannot complete yet (undefined: it can). It is
 * decided on histories (src/replication/history.ts): we must have heard
 * every other member since we started, nobody else may still be primary,
 * and everything any member wrote or applied must be applied here.
 */
export function takeOverBlocker(host: string, f: TakeOverFacts): string | undefined {
  if (!f.runningAsSecondary) return "not running as a secondary";
  if (f.unheardMembers.length > 0) {
    return `waiting to hear from ${f.unheardMembers.join(", ")} since this node started (the designated primary may have moved meanwhile); force takes over without them`;
  }
  // Acknowledged writes that follow our history's end but are in no log:
  // taking over here would drop them (simulator seed 880031). Their node
  // logs them (a gap file) once it runs as primary again or steps down. A
  // history that goes on past that file has them behind a gap or was cut
  // by force, and does not wait.
  const unlogged = f.unloggedWrites.filter((u) => u.afterFileNumber >= f.appliedFileNumber);
  if (unlogged.length > 0) {
    return `${unlogged.map((u) => u.host).join(", ")} holds writes made in emergency mode that no log has yet; they are logged once it runs as primary again (force takes over without them)`;
  }
  return plannedTakeOverBlocker(
    { host, consistent: f.consistent, versions: f.ownVersions, appliedNewestFile: f.appliedNewestFile },
    f.others,
    f.cutStampOf,
  );
}

export interface MakePrimaryFacts {
  force: boolean;
  host: string;
  designatedPrimary: string | undefined;
  /** Consistent and not syncing. */
  consistent: boolean;
  /** A fork is visible, the fetcher found one, or the replayer is blocked. */
  splitBrain: boolean;
  paused: { fetch: boolean; replay: boolean; sync: boolean };
  /** The current designated primary (if another host) is alive. */
  currentPrimaryAlive: boolean;
  /**
   * Why this disk must resync from the current primary before it can take
   * over by the planned rule (cut loose while behind, or replay waiting at
   * a gap in the log); undefined when it need not.
   */
  resyncPending?: string | undefined;
}

export interface Refusal {
  code: "NOT_CONSISTENT" | "SPLIT_BRAIN" | "REPLICATION_PAUSED" | "PRIMARY_UNREACHABLE";
  message: string;
  data?: Record<string, unknown>;
}

/**
 * Why resource.primary is refused (undefined: go ahead). Every
 * precondition is checked before the current primary is asked to step down.
 */
export function makePrimaryRefusal(resource: string, f: MakePrimaryFacts): Refusal | undefined {
  // A half-synced replica holds a mix of old and new blocks: it never
  // becomes primary, not even by force (as in MARS).
  if (!f.consistent) {
    return {
      code: "NOT_CONSISTENT",
      message: `${resource} is not consistent here (its sync or the replay after it is not finished); it cannot become primary, not even with force`,
    };
  }
  if (f.force) return undefined;
  if (f.splitBrain) {
    return { code: "SPLIT_BRAIN", message: `${resource} is in a split brain here; resolve it first` };
  }
  const paused = (["fetch", "replay", "sync"] as const).filter((what) => f.paused[what]);
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

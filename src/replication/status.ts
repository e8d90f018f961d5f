/**
 * The replication states of a resource member, in the spirit of `marsadm
 * view`: what its disk holds (diskState) and what it is doing about it
 * (replState). Every member publishes its own view in the cluster state
 * (`resource/<res>/host/<host>/status`), rate-limited, so any node can show
 * all members.
 */
import type { PositionStatus } from "../resource/resource-types.js";

export type DiskState = "UpToDate" | "Outdated" | "Inconsistent" | "Detached";

export type ReplState =
  | "Replicating"
  | "NotYetPrimary"
  | "Syncing"
  | "PausedSync"
  | "Fetching"
  | "PausedFetch"
  | "Replaying"
  | "PausedReplay"
  | "PrimaryUnreachable"
  | "NoPrimaryDesignated"
  | "SplitBrain"
  | "Failed";

export type Role = "primary" | "secondary";

/** What a member publishes about itself. */
export interface PublishedStatus {
  role: Role;
  diskState: DiskState;
  replState: ReplState;
  consistent: boolean;
  /** Applied to the disk (and synced: the checkpoint). */
  applied?: PositionStatus;
  /** Secondary: fetched, verified and synced locally. */
  fetched?: PositionStatus;
  /** Primary: durable in the log. */
  durable?: PositionStatus;
  /** Lamport stamp of the newest record written (primary) or applied (secondary). */
  stampUs?: number;
  sync?: { doneBytes: number; totalBytes: number };
  error?: string;
}

export function isPublishedStatus(value: unknown): value is PublishedStatus {
  const v = value as Partial<PublishedStatus> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    (v.role === "primary" || v.role === "secondary") &&
    typeof v.diskState === "string"
  );
}

export interface SecondaryFacts {
  failed: boolean;
  syncing: boolean;
  syncPaused: boolean;
  consistent: boolean;
  fetchPaused: boolean;
  replayPaused: boolean;
  splitBrain: boolean;
  designatedPrimary: string | undefined;
  primaryAlive: boolean;
  fetchLagBytes: number;
  replayLagBytes: number;
  /** Our applied position has reached what the primary last published as durable. */
  caughtUpWithPrimary: boolean;
}

export function secondaryStates(f: SecondaryFacts): { diskState: DiskState; replState: ReplState } {
  const diskState: DiskState = f.failed
    ? "Detached"
    : !f.consistent
      ? "Inconsistent"
      : f.caughtUpWithPrimary &&
          f.fetchLagBytes === 0 &&
          f.replayLagBytes === 0 &&
          f.primaryAlive &&
          !f.splitBrain
        ? "UpToDate"
        : "Outdated";
  let replState: ReplState;
  if (f.failed) replState = "Failed";
  else if (f.splitBrain) replState = "SplitBrain";
  else if (f.syncing) replState = f.syncPaused ? "PausedSync" : "Syncing";
  else if (f.fetchPaused) replState = "PausedFetch";
  else if (f.replayPaused) replState = "PausedReplay";
  else if (!f.designatedPrimary) replState = "NoPrimaryDesignated";
  else if (!f.primaryAlive) replState = "PrimaryUnreachable";
  else if (f.fetchLagBytes > 0) replState = "Fetching";
  else if (f.replayLagBytes > 0) replState = "Replaying";
  else replState = "Replicating";
  return { diskState, replState };
}

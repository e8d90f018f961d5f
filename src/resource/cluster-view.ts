/**
 * One resource's view of the cluster state: reads and writes of the keys
 * under `resource/<res>/` (src/cluster/keys.ts), and nothing else.
 *
 * Contract:
 * - Reads are of what this node knows now (the state store's replica); a
 *   malformed value reads as absent, never as an error.
 * - An evicted member (removed by force while dead) is not a member: it
 *   neither pins log files nor counts for a take-over, and its version
 *   entries are ignored.
 * - Writes go only to keys this node owns (its own `host/<host>/...`
 *   entries) or to the shared designation; `designate` waits until the
 *   store made the change durable.
 */
import { Keys } from "../cluster/keys.js";
import type { FrontendChoice } from "./resource-config.js";
import type { StateStore } from "../cluster/state-store.js";
import { formatLogName, parseLogName } from "../log/log-name.js";
import type { LogPosition } from "../log/log-stream.js";
import type { VersionEntry } from "../log/version.js";
import type { FilePosition, MemberHistory } from "../replication/history.js";
import { isVersionEntry, versionKeyPart } from "../replication/version.js";
import { isPublishedStatus, type PublishedStatus, type Role } from "./status-model.js";

const MEMBER_KEY = /^resource\/[^/]+\/host\/([^/]+)\/member$/;
const VERSION_KEY = /^resource\/[^/]+\/host\/([^/]+)\/version\/(\d+)$/;
const CUT_KEY = /^resource\/[^/]+\/host\/([^/]+)\/cut\/(\d+)$/;
const LOOSE_KEY = /^resource\/[^/]+\/host\/([^/]+)\/loose\/([^/]+)$/;

/**
 * A member a primary cut loose (resource/cut-loose.ts): it no longer pins
 * log files. `resumeFile`: the first file not folded into its dirty map
 * (files before it may be gone); absent while nothing was folded.
 */
export interface LooseEntry {
  member: string;
  /** The node that cut it loose and keeps its dirty map. */
  by: string;
  sinceMs: number;
  reason: string;
  lagBytes: number;
  resumeFile?: string;
  /** Stream position where resumeFile starts (the member's applied position when it resumes there). */
  resumeStreamBytes?: number;
  /** No map covers what it missed: it copies the whole disk (digests skip what is equal). */
  wholeDisk?: boolean;
}

function isLooseValue(v: unknown): v is Omit<LooseEntry, "member" | "by"> {
  const e = v as Partial<LooseEntry> | null;
  return (
    typeof e === "object" &&
    e !== null &&
    Number.isSafeInteger(e.sinceMs) &&
    typeof e.reason === "string" &&
    Number.isSafeInteger(e.lagBytes) &&
    (e.resumeFile === undefined || typeof e.resumeFile === "string")
  );
}

/** What the cluster knows of a resource (shared key resource/<res>/config). */
export interface SharedResourceConfig {
  sizeBytes: number;
  createdBy: string;
  createdStampUs: number;
  frontend: FrontendChoice;
}

function isSharedConfig(value: unknown): value is SharedResourceConfig {
  const v = value as Partial<SharedResourceConfig> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    Number.isSafeInteger(v.sizeBytes) &&
    typeof v.createdBy === "string" &&
    Number.isSafeInteger(v.createdStampUs)
  );
}

/** The cluster's configuration of resource `name`, if it exists. */
export function readSharedConfig(state: StateStore, name: string): SharedResourceConfig | undefined {
  const v = state.value(Keys.resourceConfig(name));
  return isSharedConfig(v) ? v : undefined;
}

/** Hosts with a live member entry for resource `name`, not evicted (in the store's order). */
export function membersOf(state: StateStore, name: string): string[] {
  const hosts: string[] = [];
  for (const e of state.list(`resource/${name}/host/`)) {
    const m = MEMBER_KEY.exec(e.key);
    if (m && state.value(Keys.resourceEvicted(name, m[1] as string)) !== true) hosts.push(m[1] as string);
  }
  return hosts;
}

/** Withdraws everything `host` published about resource `name` (membership, status, versions). */
export function withdrawMember(state: StateStore, name: string, host: string): void {
  for (const e of state.list(`resource/${name}/host/${host}/`)) state.delete(e.key);
}

/** Withdraws resource `name` from the cluster: its configuration and its designated primary. */
export function withdrawResource(state: StateStore, name: string): void {
  state.delete(Keys.resourceConfig(name));
  state.delete(Keys.resourcePrimary(name));
}

/** What this node holds of its own history right now (not yet in the state store). */
export interface OwnHistory {
  /** Unfinished-file positions: the applied one, and the durable one on a primary. */
  positions: LogPosition[];
  role: Role;
}

export class ClusterView {
  constructor(
    private readonly state: StateStore,
    readonly resource: string,
    readonly host: string,
  ) {}

  designatedPrimary(): string | undefined {
    const value = this.state.value<string | null>(Keys.resourcePrimary(this.resource));
    return typeof value === "string" ? value : undefined;
  }

  /** The Lamport stamp of the designation entry: tells one designation from a later one of the same host. */
  designationStampUs(): number | undefined {
    return this.state.get(Keys.resourcePrimary(this.resource))?.stampUs;
  }

  /**
   * What a changed key under `resource/<res>/` is about: the designated
   * primary, a member's history (its versions, status or membership), or
   * neither.
   */
  changeKind(key: string): "designation" | "history" | "loose" | undefined {
    if (key === Keys.resourcePrimary(this.resource)) return "designation";
    if (LOOSE_KEY.test(key)) return "loose";
    if (key.includes("/version/") || key.endsWith("/status") || key.endsWith("/member")) return "history";
    return undefined;
  }

  /**
   * Sets (or clears, with null) the designated primary and waits until the
   * change is durable. Writing the value our view holds already is no
   * change: the view may be stale (a forced failover elsewhere we have not
   * heard of), and a new stamp would let a decision made blind override it
   * (the simulator, seed 226, lost the forced primary's writes that way).
   */
  async designate(host: string | null): Promise<void> {
    this.state.set(Keys.resourcePrimary(this.resource), host);
    await this.state.flush();
  }

  /** Hosts holding a replica (member entry present, not evicted). */
  members(): string[] {
    const hosts: string[] = [];
    for (const e of this.state.list(`resource/${this.resource}/host/`)) {
      const m = MEMBER_KEY.exec(e.key);
      if (m && !this.isEvicted(m[1] as string)) hosts.push(m[1] as string);
    }
    return hosts.sort();
  }

  isEvicted(host: string): boolean {
    return this.state.value<boolean>(Keys.resourceEvicted(this.resource, host)) === true;
  }

  publishedStatusOf(host: string): PublishedStatus | undefined {
    const v = this.state.value(Keys.resourceHost(this.resource, host, "status"));
    return isPublishedStatus(v) ? v : undefined;
  }

  /**
   * Publishes our status. Returns false (nothing written) when it equals
   * what is there and `always` is not set.
   */
  publishStatus(status: PublishedStatus, always: boolean): boolean {
    const key = Keys.resourceHost(this.resource, this.host, "status");
    const previous = this.state.value<PublishedStatus>(key);
    const discrete =
      !previous ||
      previous.role !== status.role ||
      previous.diskState !== status.diskState ||
      previous.replState !== status.replState;
    if (!always && !discrete && JSON.stringify(previous) === JSON.stringify(status)) return false;
    this.state.set(key, status);
    return true;
  }

  /** Version entries of every member: host -> file number -> entry. */
  versionEntries(): Map<string, Map<number, VersionEntry>> {
    const out = new Map<string, Map<number, VersionEntry>>();
    for (const e of this.state.list(`resource/${this.resource}/host/`)) {
      const m = VERSION_KEY.exec(e.key);
      if (!m || !isVersionEntry(e.value) || this.isEvicted(m[1] as string)) continue;
      const host = m[1] as string;
      let byNumber = out.get(host);
      if (!byNumber) out.set(host, (byNumber = new Map<number, VersionEntry>()));
      byNumber.set(Number(m[2]), e.value);
    }
    return out;
  }

  /** Publishes the version of one of our files (the chain the take-over and fork rules read). */
  publishVersion(entry: VersionEntry): void {
    const n = parseLogName(entry.file)?.fileNumber;
    if (n === undefined) return;
    this.state.set(Keys.resourceHost(this.resource, this.host, `version/${versionKeyPart(n)}`), entry);
  }

  /**
   * Records that a forced failover here cut the history: at `entry` (the
   * version it finished the last file with) and with `firstFile`, the file
   * it started. From now on the history goes through these; a planned
   * take-over on a branch the cut left behind waits (plannedTakeOverBlocker).
   * Kept for good: one small entry per forced failover.
   */
  publishCut(entry: VersionEntry, firstFile: string): void {
    const n = parseLogName(entry.file)?.fileNumber;
    if (n === undefined) return;
    this.state.set(Keys.resourceHost(this.resource, this.host, `cut/${versionKeyPart(n)}`), {
      version: entry.version,
      firstFile,
    });
  }

  /** Every member cut loose, by whichever node cut it (a later handover keeps the earlier entries). */
  looseEntries(): LooseEntry[] {
    const out: LooseEntry[] = [];
    for (const e of this.state.list(`resource/${this.resource}/host/`)) {
      const m = LOOSE_KEY.exec(e.key);
      if (!m || !isLooseValue(e.value) || this.isEvicted(m[2] as string)) continue;
      out.push({ ...e.value, by: m[1] as string, member: m[2] as string });
    }
    return out;
  }

  /** Records (or updates) that we cut `entry.member` loose; resolves once durable. */
  async publishLoose(entry: Omit<LooseEntry, "by">): Promise<void> {
    const { member, ...value } = entry;
    this.state.set(Keys.resourceHost(this.resource, this.host, `loose/${member}`), value);
    await this.state.flush();
  }

  /** The member caught up again (or left): it pins log files again. */
  withdrawLoose(member: string): void {
    this.state.delete(Keys.resourceHost(this.resource, this.host, `loose/${member}`));
  }

  /** The versions and first files of forced failovers' cuts, each with the stamp of its cut. */
  cutStamps(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.state.list(`resource/${this.resource}/host/`)) {
      if (!CUT_KEY.test(e.key)) continue;
      const value = e.value as { version?: unknown; firstFile?: unknown } | null;
      for (const key of [value?.version, value?.firstFile]) {
        if (typeof key === "string") out.set(key, Math.max(out.get(key) ?? 0, e.stampUs));
      }
    }
    return out;
  }

  /** Withdraws our version entries from `fileNumber` on (a split brain's loser rolling back). */
  withdrawVersionsFrom(fileNumber: number): void {
    const prefix = `resource/${this.resource}/host/${this.host}/version/`;
    for (const e of this.state.list(prefix)) {
      const n = Number(e.key.slice(prefix.length));
      if (Number.isSafeInteger(n) && n >= fileNumber) this.state.delete(e.key);
    }
  }

  /**
   * Drops our version entries of files every member is past, keeping the
   * one right before the floor: the chain must still link to what we hold.
   * Without this the cluster state would grow by a few entries per file
   * forever.
   */
  pruneVersions(floorFileNumber: number): void {
    const prefix = `resource/${this.resource}/host/${this.host}/version/`;
    for (const e of this.state.list(prefix)) {
      const n = Number(e.key.slice(prefix.length));
      if (Number.isSafeInteger(n) && n < floorFileNumber - 1) this.state.delete(e.key);
    }
  }

  /**
   * Every member's history as this node knows it (src/replication/history.ts):
   * our own from what we hold now (`own`), the others' from their version
   * entries and the positions in their published status.
   */
  memberHistories(own: OwnHistory): MemberHistory[] {
    const versions = this.versionEntries();
    const hosts = new Set(this.members());
    hosts.add(this.host);
    return [...hosts].sort().map((host) => {
      if (host === this.host) {
        return {
          host,
          versions: versions.get(host) ?? new Map<number, VersionEntry>(),
          positions: own.positions.map((p) => ({
            fileNumber: p.fileNumber,
            file: formatLogName(p),
            offsetBytes: p.offsetBytes,
          })),
          role: own.role,
        };
      }
      const status = this.publishedStatusOf(host);
      const positions: FilePosition[] = [];
      for (const p of [status?.durable, status?.applied]) {
        const fileNumber = p ? parseLogName(p.file)?.fileNumber : undefined;
        if (p && fileNumber !== undefined)
          positions.push({ fileNumber, file: p.file, offsetBytes: p.offsetBytes });
      }
      return {
        host,
        versions: versions.get(host) ?? new Map<number, VersionEntry>(),
        positions,
        ...(status ? { role: status.role } : {}),
      };
    });
  }
}

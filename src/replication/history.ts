/**
 * One history: the rules that decide role changes and forks from the
 * version chain, never from byte counts or local file names.
 *
 * A member's history is the chain of version entries it published (one per
 * log file it wrote or replayed to its end; src/log/version.ts). Its *tip*
 * is the newest of them. Positions inside an unfinished file (the primary's
 * durable position, a secondary's applied position) extend the tip.
 *
 * Rules (pure functions, unit-tested, described in docs/architecture.md):
 *
 * - **Forks** (`detectForks`): two members diverged when they hold different
 *   versions for one file number, or when one holds a position in file n
 *   beyond (or in another file than) the finished version another member
 *   has of n: the second cut the history there (forced failover) while the
 *   first went on. Every fork is reported once, at the first file number
 *   where a lineage splits; members that agree up to a fork keep being
 *   compared among themselves, so a second fork is reported too.
 * - **Planned take-over** (`plannedTakeOverBlocker`): a node may start the
 *   next log file only when no other member of its history still claims to
 *   be primary, every such member's tip is part of its own history (it has
 *   applied everything anybody acknowledged or replayed), and it has applied
 *   its own newest file to its end. Members on another fork (a split brain,
 *   reported by `detectForks`) are not waited for. This makes a planned
 *   handover lossless:
 *   the old primary publishes its last file's version as it steps down, and
 *   the new one waits until it has applied exactly that file.
 * - **Confirmation at start-up**: a node that finds itself designated primary
 *   after a restart has not seen the cluster since; it exports nothing until
 *   it has exchanged state with every other member (the designation may have
 *   moved while it was down), and then applies the planned rule.
 */
import type { VersionEntry } from "../log/version.js";
/** A member's published role. */
export type MemberRole = "primary" | "secondary";

/** A position inside a log file, as published in a member's status. */
export interface FilePosition {
  fileNumber: number;
  file: string;
  offsetBytes: number;
}

/** What one member published about its history. */
export interface MemberHistory {
  host: string;
  /** Its version entries by file number (older ones may be pruned). */
  versions: Map<number, VersionEntry>;
  /** Positions in files it has not finished (durable on a primary, applied on a secondary). */
  positions: FilePosition[];
  /** Its published role, if any. */
  role?: MemberRole;
}

export interface Fork {
  /** First file number at which the histories differ. */
  fileNumber: number;
  /** What each host of the split lineage has at that number. */
  versions: Record<string, { file: string; lengthBytes: number; version?: string }>;
}

/** The newest version entry of a history. */
export function tipOf(versions: Map<number, VersionEntry>): VersionEntry | undefined {
  let best: number | undefined;
  for (const n of versions.keys()) if (best === undefined || n > best) best = n;
  return best === undefined ? undefined : versions.get(best);
}

/** What a member has at file number n: a finished version, or a position inside an open file. */
function claimAt(
  m: MemberHistory,
  n: number,
): { file: string; lengthBytes: number; version?: string } | undefined {
  const v = m.versions.get(n);
  if (v) return { file: v.file, lengthBytes: v.lengthBytes, version: v.version };
  let open: FilePosition | undefined;
  for (const p of m.positions)
    if (p.fileNumber === n && (!open || p.offsetBytes > open.offsetBytes)) open = p;
  return open ? { file: open.file, lengthBytes: open.offsetBytes } : undefined;
}

/** Whether two claims about one file number can belong to one history. */
function compatible(
  a: { file: string; lengthBytes: number; version?: string },
  b: { file: string; lengthBytes: number; version?: string },
): boolean {
  if (a.version !== undefined && b.version !== undefined) return a.version === b.version;
  if (a.file !== b.file) return false;
  // One of them is still open: it may not be longer than the other's finished version.
  if (a.version !== undefined) return b.lengthBytes <= a.lengthBytes;
  if (b.version !== undefined) return a.lengthBytes <= b.lengthBytes;
  return true;
}

/**
 * Every fork among the members' histories, in file-number order. Members
 * with nothing at a file number (behind, or pruned) do not contradict
 * anyone there and stay in every lineage that splits off.
 */
export function detectForks(members: MemberHistory[]): Fork[] {
  const numbers = new Set<number>();
  for (const m of members) {
    for (const n of m.versions.keys()) numbers.add(n);
    for (const p of m.positions) numbers.add(p.fileNumber);
  }
  const forks: Fork[] = [];
  const seen = new Set<string>();
  let lineages: MemberHistory[][] = [members];
  for (const n of [...numbers].sort((a, b) => a - b)) {
    const next: MemberHistory[][] = [];
    for (const lineage of lineages) {
      const groups: Array<{ claim: NonNullable<ReturnType<typeof claimAt>>; hosts: MemberHistory[] }> = [];
      const unknown: MemberHistory[] = [];
      for (const m of lineage) {
        const claim = claimAt(m, n);
        if (!claim) {
          unknown.push(m);
          continue;
        }
        // Finished versions first define the groups; open positions join a compatible one.
        const group = groups.find((g) => compatible(g.claim, claim));
        if (group) {
          group.hosts.push(m);
          if (claim.version !== undefined && group.claim.version === undefined) group.claim = claim;
          else if (claim.version === undefined && group.claim.version === undefined)
            group.claim = claim.lengthBytes > group.claim.lengthBytes ? claim : group.claim;
        } else {
          groups.push({ claim, hosts: [m] });
        }
      }
      if (groups.length <= 1) {
        next.push(lineage);
        continue;
      }
      const versions: Fork["versions"] = {};
      for (const g of groups)
        for (const m of g.hosts) versions[m.host] = { ...(claimAt(m, n) as Fork["versions"][string]) };
      const key = `${n}:${Object.keys(versions).sort().join(",")}`;
      if (!seen.has(key)) {
        seen.add(key);
        forks.push({ fileNumber: n, versions });
      }
      for (const g of groups) next.push([...g.hosts, ...unknown]);
    }
    lineages = next;
  }
  return forks;
}

/** Whether `theirs` (another member's tip) is part of the history `ours`. */
export function containsVersion(
  ours: Map<number, VersionEntry>,
  theirs: VersionEntry,
  fileNumber: number,
): boolean {
  const mine = ours.get(fileNumber);
  if (mine) return mine.version === theirs.version;
  // Older than everything we still publish: pruned after every member passed it.
  let oldest: number | undefined;
  for (const n of ours.keys()) if (oldest === undefined || n < oldest) oldest = n;
  return oldest !== undefined && fileNumber < oldest;
}

export interface TakeOverCandidate {
  host: string;
  consistent: boolean;
  /** The candidate's own history (what it applied to its end). */
  versions: Map<number, VersionEntry>;
  /** The candidate applied its newest local file to its end, and that file is finished. */
  appliedNewestFile: boolean;
}

/**
 * Why `candidate` may not start the next log file yet in a planned
 * take-over (undefined: it may). `others` are the other members.
 */
export function plannedTakeOverBlocker(
  candidate: TakeOverCandidate,
  others: MemberHistory[],
  /** When a forced failover cut the history at this version: the stamp of that cut. */
  cutStampOf: (version: string) => number | undefined = () => undefined,
): string | undefined {
  if (!candidate.consistent) return "not consistent here";
  const own: MemberHistory = { host: candidate.host, versions: candidate.versions, positions: [] };
  for (const m of others) {
    const fork = detectForks([own, m])[0];
    if (fork) {
      // A forced failover decided that m's branch is the history: ours is
      // what it cut off (or an older cut). Going ahead would drop every
      // write acknowledged since that decision; the operator must choose.
      // A cut shows as the version it finished the old file with (when it
      // cut that file short) or as the first file it started (when it had
      // all of the old one, and the branches part at the next file).
      const cutOf = (claim: { file: string; version?: string } | undefined): number | undefined => {
        if (!claim) return undefined;
        const stamps = [claim.version, claim.file].map((k) => (k === undefined ? undefined : cutStampOf(k)));
        const found = stamps.filter((x): x is number => x !== undefined);
        return found.length > 0 ? Math.max(...found) : undefined;
      };
      const theirCut = cutOf(fork.versions[m.host]);
      const ourCut = cutOf(fork.versions[candidate.host]);
      if (theirCut !== undefined && (ourCut === undefined || theirCut > ourCut)) {
        return (
          `split brain with ${m.host}: its history is the one a forced failover chose at file ` +
          `${fork.fileNumber}, ours is not (taking over would drop what was acknowledged since): ` +
          `resolve it, or take over with force`
        );
      }
      // Otherwise m is on a branch the history left behind: its split brain
      // is reported, and resolved by the operator; it does not hold us back.
      continue;
    }
    if (m.role === "primary") return `${m.host} is still primary`;
    for (const p of m.positions) {
      // At the very start of a file it holds none of its records (a member
      // resyncing towards it, simulator seed 1010129): nothing to lose there;
      // the files before it count through its versions.
      if (p.offsetBytes === 0) continue;
      const mine = candidate.versions.get(p.fileNumber);
      if (!mine || mine.file !== p.file || mine.lengthBytes < p.offsetBytes)
        return `${m.host} holds ${p.file} up to ${p.offsetBytes}, not applied here`;
    }
    const tip = tipOf(m.versions);
    if (!tip) continue;
    const n = [...m.versions.entries()].find(([, v]) => v === tip)?.[0] as number;
    if (!containsVersion(candidate.versions, tip, n)) return `${m.host}'s ${tip.file} is not applied here`;
  }
  if (!candidate.appliedNewestFile) return "the newest log file here is not applied to its end";
  return undefined;
}

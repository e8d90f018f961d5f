/**
 * Where a secondary's fetcher fetches from, and which file comes next.
 *
 * Contract:
 * - sourceFor(): another designated primary is the only history a
 *   secondary may follow: after a forced failover the file's origin may
 *   have gone on writing past the point where the new primary cut it, so
 *   we never fetch from the origin while another host is designated. Only
 *   with no other primary (we are taking over, or nobody is designated)
 *   does the origin serve its own file. Never this node, never a host
 *   without a known address.
 * - currentSources(): sourceFor(), and while we take over (or nobody is
 *   designated) then whoever published that they held that file: the
 *   origin may have deleted it (it had cut us loose while it was primary).
 * - nextSources(): the same source as for the current file; while we take
 *   over, first whoever published that they held the next file.
 * - listNext(): asks the source for the files after the current one
 *   (waiting up to `waitMs` there, listWaitMs by default) and accepts the
 *   next number only if its header continues our version of the current
 *   file (the version chain); a next file that does not is reported as a
 *   broken chain (a split brain), never fetched. listNextAt() asks several
 *   sources in turn.
 */
import { parseLogName } from "../log/log-name.js";
import type { PeerCredentials } from "../peer/client.js";
import type { FetcherDeps } from "./fetcher.js";
import type { LogListEntry } from "./log-server.js";

export type SourceDeps = Pick<FetcherDeps, "host" | "addressOf" | "designatedPrimary" | "holdersOf">;

/** The other members that published they held file `fileNumber`, reachable ones only, not in `sources` yet. */
function holders(deps: SourceDeps, fileNumber: number, sources: string[]): string[] {
  return deps
    .holdersOf(fileNumber)
    .filter((h) => h !== deps.host && deps.addressOf(h) && !sources.includes(h));
}

/** The host to fetch `file` from (see the contract). */
export function sourceFor(deps: SourceDeps, file: string): string | undefined {
  const origin = parseLogName(file)?.host;
  const primary = deps.designatedPrimary();
  if (primary && primary !== deps.host) return deps.addressOf(primary) ? primary : undefined;
  if (origin && origin !== deps.host && deps.addressOf(origin)) return origin;
  return undefined;
}

/**
 * The hosts to fetch `file` from, in order. Following a primary: only it.
 * Taking over: the origin first (it wrote the file), then the members that
 * published that they held it. Simulator seed 920155: bravo, primary, cut
 * charlie loose and deleted files 17-19; alpha, forced, kept them; charlie,
 * designated by a handover, asked only bravo for 17 and waited for ever.
 */
export function currentSources(deps: SourceDeps, file: string): string[] {
  const first = sourceFor(deps, file);
  const sources = first ? [first] : [];
  const primary = deps.designatedPrimary();
  if (primary && primary !== deps.host) return sources;
  const fileNumber = parseLogName(file)?.fileNumber;
  return fileNumber === undefined ? sources : [...sources, ...holders(deps, fileNumber, sources)];
}

/**
 * The hosts to ask for the file after `current`, in order. Following a
 * primary: the same source as for the current file. While we take over
 * (we are designated, not primary yet), the take-over waits for the writes
 * the old primaries acknowledged, and the next file's writer need not be
 * the current file's (a handover at a file boundary: bravo wrote 11 and
 * handed over to charlie, which wrote 12; bravo lists no 12 with data,
 * seed 83): first whoever published that they held the next file (each:
 * the first may have deleted it since, seed 1070040), then the current
 * file's source.
 */
export function nextSources(deps: SourceDeps, current: string): string[] {
  const number = parseLogName(current)?.fileNumber ?? 0;
  const sources = deps.designatedPrimary() === deps.host ? holders(deps, number + 1, []) : [];
  const same = sourceFor(deps, current);
  if (same && !sources.includes(same)) sources.push(same);
  return sources;
}

/** The next file, none listed yet (undefined), or why the listed ones break the chain. */
export type NextFile = { next: LogListEntry } | { brokenChain: string } | undefined;

/** Lists the files after `current` on `source` and picks the one that continues our version. */
export async function listNext(
  deps: Pick<FetcherDeps, "client" | "addressOf" | "resource" | "listWaitMs" | "logs">,
  credentials: PeerCredentials,
  source: string,
  current: string,
  waitMs = deps.listWaitMs,
): Promise<NextFile> {
  const number = parseLogName(current)?.fileNumber ?? 0;
  const result = await deps.client.call<{ files: LogListEntry[] }>(
    credentials,
    deps.addressOf(source) as string,
    "POST",
    "/peer/v1/log/list",
    { resource: deps.resource, afterFileNumber: number, waitMs },
    source,
  );
  const candidates = result.body.files.filter((f) => parseLogName(f.name)?.fileNumber === number + 1);
  if (candidates.length === 0) return undefined;
  const ours = await deps.logs.version(current);
  const next = candidates.find((c) => c.prevVersion === ours.version);
  if (!next) {
    return {
      brokenChain: `${candidates.map((c) => c.name).join(", ")} on ${source} do not continue our ${current} (version ${ours.version.slice(0, 12)})`,
    };
  }
  return { next };
}

/**
 * Asks `sources` in order (see nextSources) for the file after `current`:
 * the first that continues our version wins. All but the last are asked
 * without waiting (they published that they hold it, and a member that
 * does not answer must not hold up the others); the last long-polls. A
 * broken chain is reported only when no source continues our version.
 */
export async function listNextAt(
  deps: Pick<FetcherDeps, "client" | "addressOf" | "resource" | "listWaitMs" | "logs">,
  credentials: PeerCredentials,
  sources: string[],
  current: string,
): Promise<NextFile> {
  let broken: NextFile;
  for (const [i, source] of sources.entries()) {
    const last = i === sources.length - 1;
    let found: NextFile;
    try {
      found = await listNext(deps, credentials, source, current, last ? deps.listWaitMs : 0);
    } catch (err) {
      // Unreachable or refusing: the next source may still answer.
      if (last) throw err;
      continue;
    }
    if (found && "next" in found) return found;
    broken ??= found;
  }
  return broken;
}

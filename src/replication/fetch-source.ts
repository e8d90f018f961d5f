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
 * - nextSource(): the same source as for the current file; while we take
 *   over, whoever published that they hold the next file.
 * - listNext(): asks the source for the files after the current one
 *   (waiting up to listWaitMs there) and accepts the next number only if
 *   its header continues our version of the current file (the version
 *   chain); a next file that does not is reported as a broken chain (a
 *   split brain), never fetched.
 */
import { parseLogName } from "../log/log-name.js";
import type { PeerCredentials } from "../peer/client.js";
import type { FetcherDeps } from "./fetcher.js";
import type { LogListEntry } from "./log-server.js";

export type SourceDeps = Pick<FetcherDeps, "host" | "addressOf" | "designatedPrimary" | "holderOf">;

/** `host` if it is another node with a known address. */
function reachable(deps: SourceDeps, host: string | undefined): string | undefined {
  return host !== undefined && host !== deps.host && deps.addressOf(host) ? host : undefined;
}

/** The host to fetch `file` from (see the contract). */
export function sourceFor(deps: SourceDeps, file: string): string | undefined {
  const origin = parseLogName(file)?.host;
  const primary = deps.designatedPrimary();
  if (primary && primary !== deps.host) return deps.addressOf(primary) ? primary : undefined;
  if (origin && origin !== deps.host && deps.addressOf(origin)) return origin;
  return undefined;
}

/** The host to ask for the file after `current`. */
export function nextSource(deps: SourceDeps, current: string): string | undefined {
  const number = parseLogName(current)?.fileNumber ?? 0;
  // The same source as for the current file. While we take over (we are
  // designated, not primary yet), the old primary's next file may still
  // hold writes it acknowledged, and the take-over waits for them: if the
  // current file is our own, whoever published that they hold the next.
  const designated = deps.designatedPrimary();
  return (
    sourceFor(deps, current) ??
    (designated === deps.host ? reachable(deps, deps.holderOf(number + 1)) : undefined)
  );
}

/** The next file, none listed yet (undefined), or why the listed ones break the chain. */
export type NextFile = { next: LogListEntry } | { brokenChain: string } | undefined;

/** Lists the files after `current` on `source` and picks the one that continues our version. */
export async function listNext(
  deps: Pick<FetcherDeps, "client" | "addressOf" | "resource" | "listWaitMs" | "logs">,
  credentials: PeerCredentials,
  source: string,
  current: string,
): Promise<NextFile> {
  const number = parseLogName(current)?.fileNumber ?? 0;
  const result = await deps.client.call<{ files: LogListEntry[] }>(
    credentials,
    deps.addressOf(source) as string,
    "POST",
    "/peer/v1/log/list",
    { resource: deps.resource, afterFileNumber: number, waitMs: deps.listWaitMs },
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

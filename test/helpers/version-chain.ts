/** Version chains for the history and role-decision tests. */
import { makeVersionEntry, type VersionEntry } from "../../src/log/version.js";

/** A chain of files: [name, length] each, continuing from "genesis"; keyed by file number (1-based). */
export function chain(...files: Array<[string, number]>): Map<number, VersionEntry> {
  const out = new Map<number, VersionEntry>();
  let prev = "genesis";
  files.forEach(([name, length], i) => {
    const entry = makeVersionEntry(prev, name, length, `digest-${name}-${length}`);
    out.set(i + 1, entry);
    prev = entry.version;
  });
  return out;
}

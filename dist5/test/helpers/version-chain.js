/** Version chains for the history and role-decision tests. */
import { makeVersionEntry } from "../../src/log/version.js";
/** A chain of files: [name, length] each, continuing from "genesis"; keyed by file number (1-based). */
export function chain(...files) {
    const out = new Map();
    let prev = "genesis";
    files.forEach(([name, length], i) => {
        const entry = makeVersionEntry(prev, name, length, `digest-${name}-${length}`);
        out.set(i + 1, entry);
        prev = entry.version;
    });
    return out;
}
//# sourceMappingURL=version-chain.js.map
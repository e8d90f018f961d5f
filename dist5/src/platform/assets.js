/**
 * Files shipped with the program (package.json, api/openrpc.json), read
 * synchronously once at start-up. They belong to the build, not to the
 * node's data, so they are not read through the Storage seam: a simulated
 * node reads the same contract as a real one.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
const here = path.dirname(fileURLToPath(import.meta.url));
/** The project root (dist/src/platform -> ../../..). */
export const PROJECT_ROOT = path.resolve(here, "../../..");
/** Parses a JSON file of the build; `file` is absolute or relative to PROJECT_ROOT. */
export function readJsonAsset(file) {
    return JSON.parse(readFileSync(path.resolve(PROJECT_ROOT, file), "utf8"));
}
//# sourceMappingURL=assets.js.map
/** Version of this build, reported by node.info and marsd_build_info. */
import { execFileSync } from "node:child_process";
import { PROJECT_ROOT, readJsonAsset } from "./assets.js";
export { PROJECT_ROOT };
function readVersion() {
    return readJsonAsset("package.json").version;
}
function readCommit() {
    try {
        return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
            cwd: PROJECT_ROOT,
            stdio: ["ignore", "pipe", "ignore"],
        })
            .toString()
            .trim();
    }
    catch {
        return "unknown";
    }
}
export const BUILD = { version: readVersion(), commit: readCommit() };
//# sourceMappingURL=build-info.js.map
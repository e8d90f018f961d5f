/** Temporary directories for tests, removed when the test (or suite) ends. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
export async function makeTempDir(prefix = "marsd-unit-") {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    return {
        path: dir,
        join: (...parts) => path.join(dir, ...parts),
        remove: () => rm(dir, { recursive: true, force: true }),
    };
}
//# sourceMappingURL=temp-dir.js.map
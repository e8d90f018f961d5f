/**
 * The daemon's GC flags are given to node when the process starts, by every
 * launcher, and never set at run time (src/daemon/gc-tuning.ts says why).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { DAEMON_NODE_FLAGS, missingGcFlags } from "../../../src/daemon/gc-tuning.js";
import { PROJECT_ROOT } from "../../../src/platform/assets.js";
const read = (file) => readFile(path.join(PROJECT_ROOT, file), "utf8");
describe("the daemon's GC flags", () => {
    it("names the flags the process lacks", () => {
        assert.deepEqual(missingGcFlags([]), [...DAEMON_NODE_FLAGS]);
        assert.deepEqual(missingGcFlags(["--inspect", ...DAEMON_NODE_FLAGS]), []);
    });
    it("are given by every launcher: the marsd shebang, the systemd unit, the demo", async () => {
        const flags = DAEMON_NODE_FLAGS.join(" ");
        const shebang = (await read("dist/src/daemon/main.js")).split("\n")[0];
        assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
        const unit = await read("systemd/marsd.service");
        assert.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${flags} /opt/marsd/dist/src/daemon/main\\.js`, "m"));
        const demo = await read("scripts/demo.sh");
        assert.ok(demo.includes(`node ${flags} dist/src/daemon/main.js`), "scripts/demo.sh starts node with the flags");
    });
    it("are never set at run time (v8.setFlagsFromString is unsafe once V8 runs)", async () => {
        for (const file of ["src/daemon/main.ts", "src/daemon/gc-tuning.ts", "src/daemon/daemon.ts"]) {
            const code = (await read(file)).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
            assert.ok(!code.includes("setFlagsFromString"), `${file} sets V8 flags at run time`);
        }
    });
});
//# sourceMappingURL=gc-tuning.test.js.map
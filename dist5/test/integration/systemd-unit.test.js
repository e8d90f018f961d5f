/**
 * systemd/marsd.service through systemd's own tools:
 * - `systemd-analyze verify` loads the unit as systemd would and must print
 *   nothing (it exits 0 even after "Unknown key" or "Invalid device rights"
 *   warnings, so the test fails on any output). A copy with a misspelt key
 *   shows that the check sees such a warning.
 * - `systemd-analyze security --offline=true` rates the sandbox; the
 *   exposure score must stay at or below the one documented in
 *   docs/operations.md, and the hardening settings the issue names must be
 *   in effect.
 * - The settings other code relies on (Type=notify with a watchdog, exit 2
 *   is final, the drain's stop timeout) are read from the parsed unit.
 * verify checks that ExecStart's program exists and is executable; the
 * unit names /usr/bin/node and /opt/marsd, which a test machine need not
 * have, so it checks a copy whose ExecStart names this node and this
 * build's daemon (an argument verify does not look at, but then the copy
 * is a unit that would run). Nothing else is changed in the copy.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultConfig } from "../../src/daemon/config.js";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
import { MARSD_MAIN } from "../helpers/daemon-process.js";
import { requireTool, run, RunError } from "../helpers/tools.js";
/** The score docs/operations.md gives (systemd 252, Debian 12); lower is better. */
const MAX_EXPOSURE = 2.3;
const UNIT = path.join(PROJECT_ROOT, "systemd", "marsd.service");
const ENV = { ...process.env, SYSTEMD_COLORS: "0", SYSTEMD_PAGER: "", LC_ALL: "C.UTF-8" };
/** The unit's [Service] settings, key -> values in order (a key may repeat). */
function serviceSettings(text) {
    const settings = new Map();
    let section = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";"))
            continue;
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            section = header[1];
            continue;
        }
        const eq = line.indexOf("=");
        if (section !== "Service" || eq < 0)
            continue;
        const key = line.slice(0, eq);
        settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
    }
    return settings;
}
describe("systemd/marsd.service", { timeout: 60_000 }, () => {
    let dir;
    let copy;
    let analyze;
    before(async () => {
        analyze = requireTool("systemd-analyze");
        dir = await mkdtemp(path.join(os.tmpdir(), "marsd-unit-"));
        const text = await readFile(UNIT, "utf8");
        const execStart = /^ExecStart=\/usr\/bin\/node (.*) \/opt\/marsd\/dist\/src\/daemon\/main\.js /m;
        assert.match(text, execStart, "ExecStart runs /usr/bin/node ... /opt/marsd/dist/src/daemon/main.js");
        copy = path.join(dir, "marsd.service");
        await writeFile(copy, text.replace(execStart, `ExecStart=${process.execPath} $1 ${MARSD_MAIN} `));
    });
    after(async () => rm(dir, { recursive: true, force: true }));
    /** verify's output (stdout and stderr): empty when systemd has nothing to say. */
    async function verify(file) {
        try {
            const { stdout, stderr } = await run(analyze, ["verify", file], { env: ENV, cwd: dir });
            return (stdout + stderr).trim();
        }
        catch (err) {
            if (err instanceof RunError)
                return `exit ${String(err.result.code)}: ${err.result.stdout}${err.result.stderr}`;
            throw err;
        }
    }
    it("systemd-analyze verify has nothing to say", async () => {
        assert.equal(await verify(copy), "");
    });
    it("verify's warnings are seen (a misspelt key, bad device rights)", async () => {
        const badDir = path.join(dir, "bad");
        await mkdir(badDir);
        const bad = path.join(badDir, "marsd.service");
        const text = await readFile(copy, "utf8");
        await writeFile(bad, text
            .replace("ProtectSystem=strict", "ProtectSytem=strict")
            .replace("/dev/ublk-control rw", "/dev/ublk-control rwx"));
        const out = await verify(bad);
        assert.match(out, /Unknown key 'ProtectSytem'/);
        assert.match(out, /Invalid device rights 'rwx'/);
    });
    it(`systemd-analyze security: exposure at most ${MAX_EXPOSURE}, the named hardening in effect`, async () => {
        const { stdout } = await run(analyze, ["security", "--offline=true", copy], { env: ENV, cwd: dir });
        const score = /Overall exposure level for marsd\.service: (\d+\.\d+)/.exec(stdout);
        assert.ok(score, stdout);
        const exposure = Number(score[1]);
        console.log(`systemd-analyze security --offline=true: exposure ${exposure} (${stdout.trim().split("\n").at(-1)})`);
        assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${stdout}`);
        const passed = new Set(stdout
            .split("\n")
            .filter((l) => l.startsWith("✓"))
            .map((l) => l.slice(1).trim().split(/\s+/)[0]));
        for (const setting of [
            "ProtectSystem=",
            "NoNewPrivileges=",
            "PrivateTmp=",
            "ProtectHome=",
            "ProtectKernelTunables=",
            "ProtectKernelModules=",
            "ProtectControlGroups=",
            "LockPersonality=",
            "RestrictRealtime=",
            "SystemCallArchitectures=",
            "RestrictAddressFamilies=~AF_PACKET",
            "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)",
            "CapabilityBoundingSet=~CAP_SYS_MODULE",
            "CapabilityBoundingSet=~CAP_NET_ADMIN",
        ])
            assert.ok(passed.has(setting), `${setting} is not in effect:\n${stdout}`);
    });
    it("keeps what the daemon relies on: notify with a watchdog, exit 2 is final, time to drain", async () => {
        const s = serviceSettings(await readFile(UNIT, "utf8"));
        const one = (key) => {
            const v = s.get(key);
            assert.equal(v?.length, 1, `${key} set once`);
            return v[0];
        };
        assert.equal(one("Type"), "notify");
        assert.equal(one("NotifyAccess"), "main");
        assert.match(one("WatchdogSec"), /^\d+s$/);
        assert.equal(one("Restart"), "on-failure");
        assert.equal(one("RestartPreventExitStatus"), "2", "src/daemon/main.ts exits 2 on a bad configuration");
        assert.equal(one("KillSignal"), "SIGTERM");
        // shutdownGraceMs (10 s) drains NBD, then the logs finish: more than that.
        assert.ok(Number(one("TimeoutStopSec")) >= 30);
        assert.match(one("ExecStart"), / --config \/etc\/marsd\/marsd\.json$/);
        assert.match(one("Environment"), /^UV_THREADPOOL_SIZE=\d+$/);
        assert.equal(one("CapabilityBoundingSet"), "CAP_SYS_ADMIN");
        const defaults = defaultConfig();
        assert.equal(`/var/lib/${one("StateDirectory")}`, defaults.dataDir, "StateDirectory is the default dataDir");
        assert.equal(`/run/${one("RuntimeDirectory")}`, defaults.runDir, "RuntimeDirectory is the default runDir");
    });
});
//# sourceMappingURL=systemd-unit.test.js.map
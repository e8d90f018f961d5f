/**
 * The README's main command, `scripts/demo.sh`, run as a user would (minus
 * the set-up, which the test command has done): three real daemons form a
 * cluster, a replicated resource is written through NBD, and every disk
 * must end up holding exactly what was written. Ctrl-C must stop every
 * node. Run twice, because a second run must not trip over the first.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
import { GiveUp, waitFor } from "../helpers/daemon-process.js";
import { makeTempDir } from "../helpers/temp-dir.js";
const MIB = 1024 * 1024;
const NODES = ["alpha", "bravo", "charlie"];
/** demo.sh uses BASE+1..3 (admin) and BASE+11..13 (peer). */
const PORT_OFFSETS = [1, 2, 3, 11, 12, 13];
function portFree(port) {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}
/** A base port whose whole demo range is free right now. */
async function freePortBase() {
    for (let attempt = 0; attempt < 50; attempt++) {
        const base = 20000 + Math.floor(Math.random() * 20000);
        const free = await Promise.all(PORT_OFFSETS.map((o) => portFree(base + o)));
        if (free.every(Boolean))
            return base;
    }
    throw new Error("no free port range for the demo");
}
async function sha256OfPrefix(file, lengthBytes) {
    const handle = await open(file, "r");
    try {
        const buffer = Buffer.alloc(lengthBytes);
        const { bytesRead } = await handle.read(buffer, 0, lengthBytes, 0);
        return createHash("sha256").update(buffer.subarray(0, bytesRead)).digest("hex");
    }
    finally {
        await handle.close();
    }
}
async function healthy(port) {
    try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    }
    catch {
        return false;
    }
}
/** Runs the demo until it is up, checks the disks, stops it with Ctrl-C. */
async function runDemo(demoDir) {
    const base = await freePortBase();
    const child = spawn("bash", [path.join(PROJECT_ROOT, "scripts", "demo.sh")], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, MARSD_DEMO_SETUP: "0", MARSD_DEMO_DIR: demoDir, MARSD_DEMO_PORT: String(base) },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d.toString()));
    child.stderr.on("data", (d) => (output += d.toString()));
    const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    try {
        await waitFor("the demo to be up", () => {
            if (child.exitCode !== null)
                throw new GiveUp(`the demo exited with ${child.exitCode}:\n${output}`);
            return output.includes("Press Ctrl-C") || undefined;
        }, 240_000, 200);
        const written = await sha256OfPrefix(path.join(demoDir, "data.bin"), 32 * MIB);
        for (const node of NODES) {
            assert.equal(await sha256OfPrefix(path.join(demoDir, node, "disk.img"), 32 * MIB), written, `${node}'s disk does not hold what was written`);
        }
        for (const node of NODES)
            assert.match(output, new RegExp(`${node}\\s+disk sha256: [0-9a-f]{16}`));
        const adminPorts = [1, 2, 3].map((o) => base + o);
        assert.deepEqual(await Promise.all(adminPorts.map(healthy)), [true, true, true]);
        child.kill("SIGINT");
        await exited;
        assert.deepEqual(await Promise.all(adminPorts.map(healthy)), [false, false, false], "a node outlived Ctrl-C");
        for (const node of NODES) {
            const log = await readFile(path.join(demoDir, node, "marsd.log"), "utf8");
            assert.doesNotMatch(log, /"level":(50|60)/, `${node} logged an error:\n${log}`);
        }
        return output;
    }
    finally {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGINT");
            await exited;
        }
    }
}
describe("the main command: scripts/demo.sh", { timeout: 600_000 }, () => {
    let tmp;
    before(async () => {
        tmp = await makeTempDir("marsd-demo-");
    });
    after(async () => tmp?.remove());
    it("builds a 3-node cluster whose replicas hold what was written, stops on Ctrl-C, and runs again", async () => {
        const demoDir = tmp.join("demo");
        const first = await runDemo(demoDir);
        assert.match(first, /== a cluster of three nodes/);
        assert.match(first, /nbd\+unix:\/\//);
        await runDemo(demoDir);
    });
});
//# sourceMappingURL=demo.test.js.map
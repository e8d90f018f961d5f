/**
 * `marsadm view all --watch` in a real terminal (tmux, fixed size): what a
 * person sees while a secondary joins and fully syncs over a link slowed
 * to a few MiB/s: the resource line, the sync progress bar with its rate
 * and remaining time advancing from frame to frame in place (the pane and
 * its scrollback never hold two frames), lines cut to the width after a
 * resize, the result once synced, and Ctrl-C ending with exit code 0 and
 * the cursor shown again.
 */
import assert from "node:assert/strict";
import { chmod, open, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MARSADM_MAIN, waitFor } from "../helpers/daemon-process.js";
import { prng } from "../helpers/prng.js";
import { makeDisk } from "../helpers/replication.js";
import { TestCluster, explainOnFailure } from "../helpers/test-cluster.js";
import { requireTool, run } from "../helpers/tools.js";
const MIB = 1024 * 1024;
/** A sync reports progress per window of 16 chunks of 1 MiB (src/replication/full-sync.ts): four here. */
const DISK_BYTES = 64 * MIB;
/** Seeded bytes in these first three windows (the last is equal on both sides and goes fast). */
const SEEDED_BYTES = 48 * MIB;
/** The sync takes SEEDED_BYTES / this: about 6 s, two seconds per window, long enough to watch. */
const LINK_BYTES_PER_SEC = 8 * MIB;
const COLS = 120;
const ROWS = 30;
const HEADER = /^Every 0\.3s: marsadm view all {2}\d\d:\d\d:\d\d {2}\(Ctrl-C ends\)$/;
const SYNC_BAR = /^ {6}sync: +\[=*>?\.*\] +(\d+\.\d)% [\d.]+ [KMG]?i?B\/64\.0 MiB rate (?:\?|[\d.]+ [KMG]?i?B\/s) remaining (?:\d\d:\d\d:\d\d|--:--:--)$/;
describe("marsadm view --watch in a terminal", { timeout: 120_000 }, () => {
    let cluster;
    let tmux;
    const socket = `marsd-watch-${process.pid}`;
    let bravoDisk = "";
    /** Runs tmux on this test's own server. */
    const tm = async (...args) => (await run(tmux, ["-L", socket, ...args])).stdout;
    /** The pane as a person sees it, with everything scrolled off above it (or just the screen). */
    const screen = async (scrollback = true) => (await tm("capture-pane", "-p", "-t", "watch", ...(scrollback ? ["-S", "-"] : []))).split("\n");
    /** Exactly one frame on screen and in the scrollback: one header, one r0 line. */
    const assertOneFrame = (lines) => {
        const text = lines.join("\n");
        assert.equal(lines.filter((l) => HEADER.test(l)).length, 1, text);
        assert.ok(lines.filter((l) => l.startsWith("r0 [")).length <= 1, text);
    };
    before(async () => {
        tmux = requireTool("tmux");
        cluster = await TestCluster.start({
            hosts: ["alpha", "bravo"],
            config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 } },
        });
        await cluster.form();
        const alphaDisk = await makeDisk(cluster, "alpha", "r0", DISK_BYTES);
        bravoDisk = await makeDisk(cluster, "bravo", "r0", DISK_BYTES);
        // Seeded bytes on alpha's disk: the sync has to copy those chunks.
        console.log(`seed ${cluster.seed} (disk contents)`);
        const next = prng(cluster.seed);
        const data = Buffer.alloc(SEEDED_BYTES);
        for (let at = 0; at < SEEDED_BYTES; at += 4)
            data.writeUInt32LE(Math.floor(next() * 2 ** 32), at);
        const handle = await open(alphaDisk, "r+");
        await handle.write(data, 0, SEEDED_BYTES, 0);
        await handle.close();
        await cluster.node("alpha").daemon.rpc.call("resource.create", { name: "r0", disk: alphaDisk });
        // A short command to type: the person runs `$M view all --watch 300` on bravo.
        const bravo = cluster.node("bravo").daemon;
        const wrapper = path.join(cluster.baseDir, "marsadm");
        await writeFile(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${MARSADM_MAIN}' --url '${bravo.adminUrl}' --token-file '${path.join(bravo.dataDir, "admin.token")}' "$@"\n`);
        await chmod(wrapper, 0o755);
        await tm("new-session", "-d", "-s", "watch", "-x", String(COLS), "-y", String(ROWS), "-e", "PS1=$ ", "-e", `M=${wrapper}`, "bash --norc --noprofile");
    });
    after(async () => {
        await run(tmux, ["-L", socket, "kill-server"]).catch(() => undefined);
        await cluster?.cleanup();
    });
    test("a sync's progress bar advances in place; resize and Ctrl-C behave", explainOnFailure(async () => {
        await tm("send-keys", "-t", "watch", "$M view all --watch 300", "Enter");
        // bravo holds no resource yet.
        await waitFor("the first frame", async () => {
            const lines = await screen();
            return lines.some((l) => HEADER.test(l)) && lines.includes("no resources");
        });
        assert.equal((await tm("display", "-p", "-t", "watch", "#{cursor_flag}")).trim(), "0", "cursor hidden");
        // The sync is slowed by bravo's own limit (its requests run in parallel, so a per-connection cap would not do).
        await cluster
            .node("bravo")
            .daemon.rpc.call("node.setBandwidth", { syncBytesPerSec: LINK_BYTES_PER_SEC });
        await cluster.node("bravo").daemon.rpc.call("resource.join", { name: "r0", disk: bravoDisk });
        // Two frames of the same bar with different progress, each alone on the screen.
        const percents = [];
        let seen = [];
        await waitFor("the sync bar to advance", async () => {
            const lines = await screen();
            assertOneFrame(lines);
            const bar = lines.map((l) => SYNC_BAR.exec(l)).find(Boolean);
            if (!bar)
                return false;
            const pct = Number(bar[1]);
            assert.match(lines.join("\n"), /^r0 \[2 members\] {2}64\.0 MiB {2}primary: alpha {2}here: secondary Inconsistent Syncing d-A/m);
            assert.match(lines.join("\n"), /^ {2}\* bravo +secondary +Inconsistent +Syncing +d-As[Ff-][Rr-] alive/m);
            if (pct < 100 && !percents.includes(pct))
                percents.push(pct);
            seen = lines;
            // Two frames with different progress, and the rate and time remaining known.
            return percents.length >= 2 && /rate [\d.]+ [KMG]?i?B\/s remaining \d\d:\d\d:\d\d$/.test(bar[0]);
        }, 30_000, 100);
        assert.ok(percents.length >= 2, `percentages seen: ${percents.join(", ")}`);
        console.log(`what the terminal showed (percentages seen: ${percents.join(", ")}):\n${seen.join("\n").trimEnd()}`);
        // Narrower: the frame is drawn again, every line cut to the new width (one column is
        // left free, see watch.ts). The terminal may keep the old frame in its scrollback
        // (tmux does on a clear), so from here on the screen is checked.
        await tm("resize-window", "-t", "watch", "-x", "70", "-y", String(ROWS));
        await waitFor("a frame cut to 69 columns", async () => {
            const lines = await screen(false);
            assertOneFrame(lines);
            const r0 = lines.find((l) => l.startsWith("r0 ["));
            if (r0 !== undefined && r0.length === 69 && r0.endsWith("~") && lines.every((l) => l.length <= 69))
                return true;
            throw new Error(`not yet:\n${lines.join("\n")}`);
        });
        cluster.healAll();
        await waitFor("the watch to show bravo synced", async () => {
            const lines = await screen(false);
            assertOneFrame(lines);
            const text = lines.join("\n");
            return /^ {2}\* bravo +secondary +UpToDate +Replicating +dCAS/m.test(text) && !/ sync: /.test(text);
        }, 30_000, 100);
        await tm("send-keys", "-t", "watch", "C-c");
        await tm("send-keys", "-t", "watch", 'echo "exit=$?"', "Enter");
        await waitFor("the shell after Ctrl-C", async () => (await screen()).some((l) => l === "exit=0"));
        assert.equal((await tm("display", "-p", "-t", "watch", "#{cursor_flag}")).trim(), "1", "cursor shown");
    }));
});
//# sourceMappingURL=marsadm-watch.test.js.map
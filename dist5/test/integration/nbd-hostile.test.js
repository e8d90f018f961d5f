/**
 * Careless and hostile NBD clients against a real daemon (issue 12,
 * defects 1 and 9): a client that pipelines thousands of READs and never
 * reads the replies holds a bounded amount of the daemon's memory, idle
 * half-open connections cannot lock a well-behaved client out, and a
 * client's protocol violation is its fault (warn, no stack), not an error
 * of ours. Throughout, a libnbd client writes, reads back and verifies.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, before, beforeEach, describe, it } from "node:test";
import { Cmd, REQUEST_MAGIC } from "../../src/frontend/nbd/protocol.js";
import { GiveUp, waitFor } from "../helpers/daemon-process.js";
import { daemonPid, libnbdReadSha256, libnbdWriteVerify, metricValue, rawTransmission, rssBytes, sha256, } from "../helpers/nbd-hostile.js";
import { prng } from "../helpers/prng.js";
import { createVolume, startNodeWithVolume } from "../helpers/single-node.js";
import { requirePythonNbd } from "../helpers/tools.js";
const MiB = 1024 * 1024;
/** The daemon's defaults: 64 MiB per connection, 256 MiB for the server. */
const PER_CONNECTION_BUDGET = 64 * MiB;
/** RSS may grow by at most this much over the baseline while two connections flood. */
const RSS_GROWTH_BOUND = 300 * MiB;
const FLOOD_SIZE = 64 * MiB;
function readRequests(count, lengthBytes, volumeBytes) {
    const out = Buffer.alloc(28 * count);
    for (let i = 0; i < count; i++) {
        const h = out.subarray(28 * i);
        h.writeUInt32BE(REQUEST_MAGIC, 0);
        h.writeUInt16BE(Cmd.READ, 6);
        h.writeBigUInt64BE(BigInt(i), 8);
        h.writeBigUInt64BE(BigInt((i * lengthBytes) % (volumeBytes - lengthBytes + 1)), 16);
        h.writeUInt32BE(lengthBytes, 24);
    }
    return out;
}
describe("NBD server: hostile clients", () => {
    let node;
    const seed = Number(process.env.MARSD_TEST_SEED ?? Date.now()) >>> 0;
    const random = prng(seed);
    const sockets = [];
    // A daemon per test: one that a test's failure killed must not fail the next test.
    before(() => requirePythonNbd());
    beforeEach(async () => {
        node = await startNodeWithVolume({ sizeBytes: 16 * MiB });
        await createVolume(node.daemon, "flood", FLOOD_SIZE);
    });
    afterEach(async () => {
        for (const s of sockets.splice(0))
            s.destroy();
        await node?.daemon.cleanup();
    });
    function pattern(bytes) {
        const b = Buffer.alloc(bytes);
        for (let i = 0; i < bytes; i += 4)
            b.writeUInt32LE((random() * 2 ** 32) >>> 0, i);
        return b;
    }
    it(`unread READ floods (2000 x 1 MiB and 200 x 32 MiB) stay within baseline + 300 MiB RSS while libnbd works (seed ${seed})`, async () => {
        const pid = daemonPid(node.daemon);
        const data = pattern(4 * MiB);
        await libnbdWriteVerify(node.uri, 0, data);
        const baseline = await rssBytes(pid);
        // Sample RSS all along; give up at once past the bound (old code reaches GBs and gets OOM-killed).
        let peak = baseline;
        let sampling = true;
        const sampler = (async () => {
            while (sampling) {
                peak = Math.max(peak, await rssBytes(pid));
                if (peak > baseline + RSS_GROWTH_BOUND) {
                    await node.daemon.kill9();
                    return;
                }
                await new Promise((r) => setTimeout(r, 20));
            }
        })();
        try {
            const small = await rawTransmission(node.daemon.nbdSocket, "flood");
            const big = await rawTransmission(node.daemon.nbdSocket, "flood");
            sockets.push(small, big);
            // 56,000 and 5,600 bytes of requests asking for 2000 MiB and 6400 MiB of replies; never read.
            small.write(readRequests(2000, MiB, FLOOD_SIZE));
            big.write(readRequests(200, 32 * MiB, FLOOD_SIZE));
            // Both connections stopped taking requests at their byte budget.
            await waitFor("both flooding connections to stop at their byte budget", async () => {
                if (peak > baseline + RSS_GROWTH_BOUND)
                    throw new GiveUp(`RSS ${peak} bytes is over the bound`);
                const stalls = await metricValue(node.daemon, "marsd_nbd_backpressure_pauses_total", 'reason="connection"');
                return stalls >= 2;
            });
            const buffered = await metricValue(node.daemon, "marsd_nbd_buffered_bytes");
            assert.ok(buffered <= 2 * (PER_CONNECTION_BUDGET + MiB), `buffered ${buffered} bytes`);
            // A well-behaved client keeps writing and reading back meanwhile.
            for (let i = 0; i < 3; i++) {
                const chunk = pattern(2 * MiB);
                await libnbdWriteVerify(node.uri, 4 * MiB + i * 2 * MiB, chunk);
            }
            assert.equal(await libnbdReadSha256(node.uri, 0, 4 * MiB), sha256(data));
            const reads = await metricValue(node.daemon, "marsd_nbd_requests_total", 'resource="flood",command="read"');
            // 64 replies of 1 MiB and one of 32 MiB fit the two budgets; the kernel's socket buffers hold a few more.
            assert.ok(reads <= 2 * 64 + 8, `${reads} flood reads were served although nobody read them`);
        }
        finally {
            sampling = false;
            await sampler;
        }
        console.log(`RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB (bound +${RSS_GROWTH_BOUND / MiB} MiB)`);
        assert.ok(peak <= baseline + RSS_GROWTH_BOUND, `RSS peaked at ${peak} bytes, baseline ${baseline}`);
        assert.equal(node.daemon.exitCode, null);
        // The flooders leave: every byte they held is released.
        for (const s of sockets.splice(0))
            s.destroy();
        await waitFor("NBD buffered bytes to return to 0", async () => {
            return (await metricValue(node.daemon, "marsd_nbd_buffered_bytes")) === 0;
        });
    });
    it("the server-wide budget bounds several flooders together, and flooders that never read are closed so libnbd gets through", async () => {
        // Small budgets: 33 MiB per connection, 66 MiB in all; replies unread for 2 s are stalled.
        const budget = 66 * MiB;
        const file = path.join(node.daemon.baseDir, "nbd-budget.json");
        await writeFile(file, JSON.stringify({
            nbd: {
                maxBufferedBytesPerConnection: 33 * MiB,
                maxBufferedBytesTotal: budget,
                replyStallTimeoutMs: 2000,
            },
        }));
        const small = await startNodeWithVolume({ sizeBytes: 16 * MiB, extraArgs: ["--config", file] });
        try {
            await createVolume(small.daemon, "flood", FLOOD_SIZE);
            const floods = [];
            for (let i = 0; i < 4; i++) {
                const s = await rawTransmission(small.daemon.nbdSocket, "flood");
                floods.push(s);
                sockets.push(s);
                s.write(readRequests(1000, MiB, FLOOD_SIZE));
            }
            let peakBuffered = 0;
            await waitFor("a flooder to be closed for not reading its replies", async () => {
                peakBuffered = Math.max(peakBuffered, await metricValue(small.daemon, "marsd_nbd_buffered_bytes"));
                return (await metricValue(small.daemon, "marsd_nbd_stalled_connections_closed_total")) >= 1;
            });
            // At most one request (1 MiB) and one socket read past the total.
            assert.ok(peakBuffered <= budget + 2 * MiB, `buffered ${peakBuffered} bytes, budget ${budget}`);
            const started = Date.now();
            const chunk = pattern(2 * MiB);
            await libnbdWriteVerify(small.uri, 0, chunk, 10_000);
            assert.equal(await libnbdReadSha256(small.uri, 0, 2 * MiB), sha256(chunk));
            console.log(`libnbd got through in ${Date.now() - started} ms; peak buffered ${peakBuffered} bytes`);
            assert.doesNotMatch(small.daemon.output, /"level":("error"|"fatal"|50|60)/);
        }
        finally {
            await small.daemon.cleanup();
        }
    });
    it("260 idle half-open connections do not lock a libnbd client out", async () => {
        const idle = [];
        for (let i = 0; i < 260; i++) {
            const s = net.createConnection(node.daemon.nbdSocket);
            s.on("error", () => undefined);
            idle.push(s);
            sockets.push(s);
        }
        await Promise.all(idle.map((s) => new Promise((resolve) => s.once("connect", resolve).once("close", resolve))));
        const started = Date.now();
        const chunk = pattern(MiB);
        await libnbdWriteVerify(node.uri, 12 * MiB, chunk, 5_000);
        assert.equal(await libnbdReadSha256(node.uri, 12 * MiB, MiB, 5_000), sha256(chunk));
        assert.ok(Date.now() - started < 5_000, `libnbd needed ${Date.now() - started} ms`);
        assert.ok((await metricValue(node.daemon, "marsd_nbd_handshakes")) <= 64);
        assert.ok((await metricValue(node.daemon, "marsd_nbd_handshakes_dropped_total", 'reason="evicted"')) >= 196);
        for (const s of idle)
            s.destroy();
    });
    it("an idle handshake is closed at nbd.handshakeTimeoutMs, and the oldest one when nbd.maxHandshakes are open", async () => {
        const file = path.join(node.daemon.baseDir, "nbd-handshakes.json");
        await writeFile(file, JSON.stringify({ nbd: { handshakeTimeoutMs: 1000, maxHandshakes: 3 } }));
        const strict = await startNodeWithVolume({ sizeBytes: 4 * MiB, extraArgs: ["--config", file] });
        try {
            const open = () => {
                const socket = net.createConnection(strict.daemon.nbdSocket);
                socket.on("error", () => undefined);
                // Read (and drop) the greeting, or our side would not see the server's EOF; send nothing.
                socket.resume();
                sockets.push(socket);
                return {
                    socket,
                    closedAtMs: new Promise((resolve) => socket.once("close", () => resolve(Date.now()))),
                };
            };
            const started = Date.now();
            const idle = [open(), open(), open()];
            await Promise.all(idle.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));
            const fourth = open();
            // The oldest gave way to the newcomer at once; the others wait for their deadline.
            const oldestClosed = await idle[0]?.closedAtMs;
            assert.ok(oldestClosed - started < 900, `oldest closed after ${oldestClosed - started} ms`);
            const lastClosed = await fourth.closedAtMs;
            assert.ok(lastClosed - started >= 1000, `closed after ${lastClosed - started} ms, before the deadline`);
            assert.ok(lastClosed - started < 5000, `closed after ${lastClosed - started} ms`);
            assert.equal(await metricValue(strict.daemon, "marsd_nbd_handshakes_dropped_total", 'reason="evicted"'), 1);
            assert.equal(await metricValue(strict.daemon, "marsd_nbd_handshakes_dropped_total", 'reason="timeout"'), 3);
            const chunk = pattern(MiB);
            await libnbdWriteVerify(strict.uri, 0, chunk);
        }
        finally {
            await strict.daemon.cleanup();
        }
    });
    it("a disconnect request followed by more requests releases the connection and its bytes once the client leaves", async () => {
        const s = await rawTransmission(node.daemon.nbdSocket, "r0");
        sockets.push(s);
        const serverEnded = new Promise((resolve) => s.once("end", resolve));
        s.resume();
        const disc = readRequests(2, 4096, 16 * MiB);
        disc.writeUInt16BE(Cmd.DISC, 6);
        s.write(disc);
        await serverEnded;
        s.end();
        await waitFor("the server to close the connection and release its bytes", async () => {
            const open = await metricValue(node.daemon, "marsd_nbd_connections", 'resource="r0"');
            return open === 0 && (await metricValue(node.daemon, "marsd_nbd_buffered_bytes")) === 0;
        }, 5_000);
    });
    it("a bad request magic is logged at warn without a stack, never as an error", async () => {
        const s = await rawTransmission(node.daemon.nbdSocket, "r0");
        sockets.push(s);
        const closed = new Promise((resolve) => s.once("close", resolve));
        s.resume();
        s.write(Buffer.alloc(28, 0x41));
        await closed;
        const line = await waitFor("the protocol violation to be logged", () => node.daemon.output.split("\n").find((l) => l.includes("bad request magic")));
        const entry = JSON.parse(line);
        assert.equal(entry.level, "warn", line);
        assert.equal(entry.err, undefined, line);
        assert.doesNotMatch(node.daemon.output, /"level":("error"|"fatal"|50|60)/);
    });
});
//# sourceMappingURL=nbd-hostile.test.js.map
/**
 * The peer and admin listeners against an attacker and a careless client,
 * with real daemons (issue 12, defects 2, 3 and 8):
 *
 * - a flood of huge unsigned or forged POSTs on the peer port is refused
 *   before the bodies are read: the daemon's RSS stays bounded and signed
 *   peer traffic goes on;
 * - requests recorded on the wire (a join and a state pull) and replayed
 *   after the daemon restarts are refused, so a removed node stays removed;
 * - broken request bodies get HTTP 400 and -32700/-32600, never -32603, and
 *   nothing at error level in the log.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { LamportClock } from "../../src/log/lamport-clock.js";
import { systemClock } from "../../src/platform/clock.js";
import { systemRandom } from "../../src/platform/random.js";
import { Metrics } from "../../src/metrics/metrics.js";
import { HEADER } from "../../src/peer/auth.js";
import { PeerClient } from "../../src/peer/client.js";
import { NodeTransport } from "../../src/platform/node-transport.js";
import { DaemonProcess, freePort, waitFor } from "../helpers/daemon-process.js";
import { errorLines, floodPost, rawHttp, RecordingProxy, rssBytes, useNodeKeys, watchRss, } from "../helpers/hostile.js";
import { TestCluster } from "../helpers/test-cluster.js";
const MIB = 1024 * 1024;
describe("peer listener under a flood of huge unauthenticated POSTs", { timeout: 120_000 }, () => {
    let cluster;
    before(async () => {
        cluster = await TestCluster.start({ size: 2 });
        await cluster.form();
    });
    after(async () => cluster?.cleanup());
    test("24 concurrent 63 MiB POSTs: RSS stays within 128 MiB of its start, signed traffic goes on", async () => {
        const a = cluster.node("node-a");
        const pid = a.daemon.child?.pid;
        const before = rssBytes(pid);
        const rss = watchRss(pid);
        const bodyBytes = 63 * MIB;
        const heads = Array.from({ length: 24 }, (_, i) => {
            const common = `POST /peer/v1/state/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n`;
            // Half send nothing signed; half claim to be node-b with a made-up signature.
            const forged = i % 2 === 0
                ? ""
                : `${HEADER.cluster}: ${cluster.clusterId}\r\n${HEADER.host}: node-b\r\n${HEADER.timeMs}: ${Date.now()}\r\n` +
                    `${HEADER.stamp}: 1\r\n${HEADER.nonce}: ${randomBytes(16).toString("hex")}\r\n${HEADER.signature}: ${"0".repeat(64)}\r\n`;
            return `${common}${forged}\r\n`;
        });
        const flood = Promise.all(heads.map((head) => floodPost(a.peerPort, head, bodyBytes)));
        // Meanwhile a correctly signed peer request is answered.
        const client = new PeerClient({
            host: "node-b",
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            random: systemRandom,
            metrics: new Metrics({ defaultMetrics: false }),
            transport: new NodeTransport({ maxSocketsPerAddress: 1 }),
            timeoutMs: 10_000,
            maxResponseBytes: 16 * MIB,
        });
        // node-b's own node key: a member's request is signed with it.
        const b = cluster.node("node-b");
        useNodeKeys(client, { host: "node-b", keyOf: b.daemon.dataDir }, { "node-a": a.daemon.dataDir }, cluster.clusterId);
        try {
            const pulled = await client.call({ clusterId: cluster.clusterId, secret: cluster.secret }, `127.0.0.1:${a.peerPort}`, "POST", "/peer/v1/state/pull", { since: {} }, "node-a");
            assert.ok(Array.isArray(pulled.body.entries) && pulled.body.entries.length > 0);
        }
        finally {
            client.close();
        }
        const statuses = await flood;
        const peak = rss.stop();
        console.log(`flood: RSS ${Math.round(before / MIB)} MiB before, peak ${Math.round(peak / MIB)} MiB; statuses ${[...new Set(statuses)].join(",")}`);
        assert.ok(
        // 0: the refusal was lost when the server closed the connection under a sender still sending.
        statuses.every((s) => s === 401 || s === 413 || s === 0) && statuses.some((s) => s !== 0), `every flood request is refused (401 unsigned, 413 too large): ${statuses.join(",")}`);
        assert.ok(peak - before < 128 * MIB, `RSS grew by ${Math.round((peak - before) / MIB)} MiB`);
        // And the second node still exchanges state with the first.
        await waitFor("node-b hears node-a", async () => {
            const s = await cluster.node("node-b").daemon.rpc.call("cluster.status");
            return s.members.find((m) => m.host === "node-a")?.alive === true;
        });
        assert.deepEqual(errorLines(a.daemon.output), []);
    });
    test("slow forged bodies hold at most peer.maxUnauthenticatedRequests (32) slots; beyond, 503 at once", async () => {
        const a = cluster.node("node-a");
        const gauge = async () => {
            const text = await (await fetch(`${a.daemon.adminUrl}/metrics`)).text();
            return Number(/^marsd_peer_unauthenticated_requests (\S+)$/m.exec(text)?.[1] ?? NaN);
        };
        // In the name of a host without a node key: only the body can tell whether the secret signed it
        // (a claim to be a member, node-b, without node-b's key is refused from the head alone).
        const forgedHead = () => `POST /peer/v1/state/pull HTTP/1.1\r\nHost: x\r\nContent-Length: ${200 * 1024}\r\n` +
            `${HEADER.cluster}: ${cluster.clusterId}\r\n${HEADER.host}: node-z\r\n${HEADER.timeMs}: ${Date.now()}\r\n` +
            `${HEADER.stamp}: 1\r\n${HEADER.nonce}: ${randomBytes(16).toString("hex")}\r\n${HEADER.signature}: ${"0".repeat(64)}\r\n\r\nx`;
        // Each sends its head and one body byte, then nothing: its body is awaited, within the bound.
        const slow = Array.from({ length: 32 }, () => net.connect(a.peerPort, "127.0.0.1"));
        try {
            for (const socket of slow) {
                socket.on("error", () => undefined);
                socket.write(forgedHead());
            }
            await waitFor("32 unauthenticated requests being read", async () => (await gauge()) === 32);
            const refused = await rawHttp(a.peerPort, Buffer.from(forgedHead()), { timeoutMs: 5_000 });
            assert.equal(refused.status, 503, refused.body);
            assert.match(refused.body, /busy/);
        }
        finally {
            for (const socket of slow)
                socket.destroy();
        }
        await waitFor("the slots are free again", async () => (await gauge()) === 0);
        assert.deepEqual(errorLines(a.daemon.output), []);
    });
});
describe("replay of recorded peer requests after a restart", { timeout: 120_000 }, () => {
    let alpha;
    let bravo;
    let proxy;
    let alphaPort;
    before(async () => {
        alphaPort = await freePort();
        alpha = await DaemonProcess.start({
            host: "alpha",
            extraArgs: ["--peer-listen", `127.0.0.1:${alphaPort}`, "--peer-advertise", `127.0.0.1:${alphaPort}`],
        });
        proxy = await RecordingProxy.start({ host: "127.0.0.1", port: alphaPort });
        const bravoPort = await freePort();
        // bravo reaches alpha only through the proxy, and pulls often.
        const configFile = path.join(await mkdtemp(path.join(os.tmpdir(), "marsd-bravo-")), "bravo.json");
        await writeFile(configFile, JSON.stringify({ peer: { addressOverrides: { alpha: proxy.address }, syncIntervalMs: 200 } }));
        bravo = await DaemonProcess.start({
            host: "bravo",
            extraArgs: [
                "--config",
                configFile,
                "--peer-listen",
                `127.0.0.1:${bravoPort}`,
                "--peer-advertise",
                `127.0.0.1:${bravoPort}`,
            ],
        });
    });
    after(async () => {
        await proxy?.close();
        await bravo?.cleanup();
        await alpha?.cleanup();
    });
    test("a captured join and state pull replayed after a restart are refused; the removed node stays removed", async () => {
        const { secret } = await alpha.rpc.call("cluster.create");
        // bravo joins through the recording proxy; what it sends alpha is recorded byte for byte.
        await bravo.rpc.call("cluster.join", { peer: proxy.address, secret });
        const join = await waitFor("a recorded join", () => proxy.requests().find((r) => r.head.startsWith("POST /peer/v1/join ")));
        const pull = await waitFor("two recorded state pulls", () => {
            // Only requests alpha answered count: the replay must be of something alpha accepted.
            const pulls = proxy.requests().filter((r) => r.head.startsWith("POST /peer/v1/state/pull "));
            return pulls.length >= 2 ? pulls[0] : undefined;
        });
        const beforeRestart = await rawHttp(alphaPort, pull.raw);
        assert.equal(beforeRestart.status, 401, "a replay is refused while the nonce is remembered");
        await bravo.stop();
        // A pull from a member, replayed after a restart (bravo is still a member here).
        await alpha.restart();
        const replayedPull = await rawHttp(alphaPort, pull.raw);
        assert.equal(replayedPull.status, 401, `replayed pull: ${replayedPull.head}\n${replayedPull.body}`);
        assert.match(replayedPull.body, /replay/);
        // The reproduction: remove bravo, restart, replay its join.
        assert.deepEqual(await alpha.rpc.call("cluster.leave", { host: "bravo", force: true }), {
            changed: true,
        });
        const members = async () => (await alpha.rpc.call("cluster.status")).members.map((m) => m.host);
        assert.deepEqual(await members(), ["alpha"]);
        await alpha.restart();
        const replayedJoin = await rawHttp(alphaPort, join.raw);
        assert.equal(replayedJoin.status, 401, `replayed join: ${replayedJoin.head}\n${replayedJoin.body}`);
        assert.match(replayedJoin.body, /replay/);
        assert.deepEqual(await members(), ["alpha"], "bravo stays removed");
        assert.deepEqual(errorLines(alpha.output), []);
    });
});
describe("admin listener with broken request bodies", { timeout: 60_000 }, () => {
    let node;
    let token;
    before(async () => {
        node = await DaemonProcess.start();
        token = (await readFile(path.join(node.dataDir, "admin.token"), "utf8")).trim();
    });
    after(async () => node?.cleanup());
    const request = (body, headers = {}) => {
        const all = {
            host: "127.0.0.1",
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "content-length": body.length,
            ...headers,
        };
        const head = Object.entries(all)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join("");
        return Buffer.concat([Buffer.from(`POST /rpc HTTP/1.1\r\n${head}\r\n`), body]);
    };
    const call = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "node.info" }));
    test("each broken body answers 400 with -32700 or -32600 and logs nothing at error level", async () => {
        const gzipped = gzipSync(call);
        const cases = [
            {
                name: "corrupt gzip",
                bytes: request(randomBytes(200), { "content-encoding": "gzip" }),
                code: -32700,
            },
            {
                name: "truncated gzip",
                bytes: request(gzipped.subarray(0, gzipped.length - 8), { "content-encoding": "gzip" }),
                code: -32700,
            },
            {
                name: "corrupt brotli",
                bytes: request(Buffer.concat([brotliCompressSync(call).subarray(0, 4), randomBytes(64)]), {
                    "content-encoding": "br",
                }),
                code: -32700,
            },
            {
                name: "corrupt deflate",
                bytes: request(randomBytes(100), { "content-encoding": "deflate" }),
                code: -32700,
            },
            {
                name: "body shorter than its Content-Length",
                bytes: request(call, { "content-length": call.length + 100 }),
                halfClose: true,
                code: -32600,
            },
            {
                name: "gzip body shorter than its Content-Length",
                bytes: request(gzipped, { "content-encoding": "gzip", "content-length": gzipped.length + 50 }),
                halfClose: true,
                code: -32600,
            },
        ];
        for (const c of cases) {
            const answer = await rawHttp(node.adminPort, c.bytes, { halfClose: c.halfClose });
            assert.equal(answer.status, 400, `${c.name}: ${answer.head}\n${answer.body}`);
            const parsed = JSON.parse(answer.body);
            assert.equal(parsed.error.code, c.code, `${c.name}: ${answer.body}`);
        }
        // Invalid JSON reached the JSON-RPC layer: 200 with -32700, as docs/api.md documents.
        const bad = await rawHttp(node.adminPort, request(Buffer.from('{"jsonrpc":"2.0",')));
        assert.equal(bad.status, 200);
        assert.equal(JSON.parse(bad.body).error.code, -32700);
        // A good compressed body still works, and the daemon is fine.
        const good = await rawHttp(node.adminPort, request(gzipped, { "content-encoding": "gzip" }));
        assert.equal(good.status, 200, good.body);
        assert.ok(JSON.parse(good.body).result);
        assert.deepEqual(errorLines(node.output), []);
    });
});
//# sourceMappingURL=hostile-listeners.test.js.map
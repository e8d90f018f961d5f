/**
 * The cluster layer with real daemons: joining, spreading changes,
 * restarts, partitions and bad links (through fault proxies), refusing
 * strangers, leaving and removing dead nodes.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HEADER } from "../../src/peer/auth.js";
import { waitFor } from "../helpers/daemon-process.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { systemClock } from "../../src/platform/clock.js";
import { systemRandom } from "../../src/platform/random.js";
async function metric(url, line) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = text.split("\n").find((l) => line.test(l));
    return m ? Number(m.split(" ").pop()) : 0;
}
async function makeDisk(cluster, name) {
    const file = path.join(cluster.baseDir, `${name}.img`);
    await writeFile(file, "");
    await truncate(file, 8 * 1024 * 1024);
    return file;
}
describe("cluster of four daemons", { timeout: 180_000 }, () => {
    let cluster;
    before(async () => {
        cluster = await TestCluster.start({ size: 4 });
        await cluster.form();
    });
    after(async () => cluster?.cleanup());
    test("every member knows every other, with liveness, round trip and clock skew", async () => {
        await cluster.waitConverged("members alive with contact data", async (n) => {
            const s = await n.daemon.rpc.call("cluster.status");
            return (s.clusterId === cluster.clusterId &&
                s.members.length === 4 &&
                s.members.every((m) => m.alive) &&
                s.members
                    .filter((m) => m.host !== n.host)
                    .every((m) => m.rttMs !== undefined && m.clockSkewMs !== undefined));
        });
    });
    test("create and join are idempotent", async () => {
        const a = cluster.node("node-a").daemon.rpc;
        const again = await a.call("cluster.create");
        assert.equal(again.changed, false);
        assert.equal(again.clusterId, cluster.clusterId);
        const b = cluster.node("node-b").daemon.rpc;
        const rejoin = await b.call("cluster.join", {
            peer: cluster.proxy("node-b", "node-a").address,
            secret: cluster.secret,
        });
        assert.equal(rejoin.changed, false);
        // A member answers from what it knows: the peer named need not be up.
        const viaNowhere = await b.call("cluster.join", {
            peer: "127.0.0.1:1",
            secret: cluster.secret,
        });
        assert.equal(viaNowhere.changed, false);
        await assert.rejects(b.call("cluster.join", { peer: "127.0.0.1:1", secret: "x".repeat(40) }), (err) => err.code === 1010);
        await assert.rejects(a.call("cluster.create", { clusterId: "another-one" }), (err) => err.code === 1010);
    });
    test("a change on any node reaches all others well under a second", async () => {
        const disk = await makeDisk(cluster, "spread");
        const started = Date.now();
        await cluster.node("node-c").daemon.rpc.call("resource.create", { name: "spread", disk });
        await cluster.waitConverged("resource membership of node-c everywhere", async (n) => (await cluster.stateOf(n.host, "resource/spread/host/node-c/"))["resource/spread/host/node-c/member"] !== undefined, 5_000);
        const elapsedMs = Date.now() - started;
        assert.ok(elapsedMs < 1000, `took ${elapsedMs} ms`);
        // Deletion spreads as a tombstone.
        await cluster.node("node-c").daemon.rpc.call("resource.delete", { name: "spread" });
        await cluster.waitConverged("membership gone everywhere", async (n) => Object.keys(await cluster.stateOf(n.host, "resource/spread/")).length === 0, 5_000);
    });
    test("a node killed and restarted remembers the state and catches up on what it missed", async () => {
        const b = cluster.node("node-b");
        const before = await cluster.stateOf("node-b", "");
        await b.daemon.kill9();
        const disk = await makeDisk(cluster, "while-down");
        await cluster.node("node-a").daemon.rpc.call("resource.create", { name: "while-down", disk });
        // Restart cut off from everyone: what it knows now comes from its own disk.
        cluster.partition("node-b", { refuse: true });
        await b.daemon.relaunch();
        const remembered = await cluster.stateOf("node-b", "");
        for (const [key, value] of Object.entries(before))
            assert.deepEqual(remembered[key], value, key);
        assert.equal(remembered["resource/while-down/host/node-a/member"], undefined);
        const status = await b.daemon.rpc.call("cluster.status");
        assert.equal(status.clusterId, cluster.clusterId);
        assert.equal(status.members.length, 4);
        cluster.healAll();
        await cluster.waitConverged("node-b caught up", async () => (await cluster.stateOf("node-b", "resource/while-down/"))["resource/while-down/host/node-a/member"] !== undefined, 10_000, ["node-b"]);
    });
    test("a partitioned node catches up after the partition heals, and its own changes spread", async () => {
        cluster.partition("node-d");
        const diskA = await makeDisk(cluster, "during-partition-a");
        const diskD = await makeDisk(cluster, "during-partition-d");
        await cluster.node("node-a").daemon.rpc.call("resource.create", { name: "pa", disk: diskA });
        await cluster.node("node-d").daemon.rpc.call("resource.create", { name: "pd", disk: diskD });
        await cluster.waitConverged("others see pa", async (n) => (await cluster.stateOf(n.host, "resource/pa/"))["resource/pa/host/node-a/member"] !== undefined, 5_000, ["node-b", "node-c"]);
        // The partition really holds: a few sync rounds later node-d still has not seen pa, nor the others pd.
        await waitFor("several sync rounds to fail", async () => {
            const failures = await metric(cluster.node("node-d").daemon.adminUrl, /^marsd_peer_sync_failures_total\{peer="node-a",kind="pull"\}/);
            return failures >= 3;
        });
        assert.equal((await cluster.stateOf("node-d", "resource/pa/"))["resource/pa/host/node-a/member"], undefined);
        assert.equal((await cluster.stateOf("node-a", "resource/pd/"))["resource/pd/host/node-d/member"], undefined);
        const status = await cluster.node("node-a").daemon.rpc.call("cluster.status");
        await waitFor("node-d reported dead by node-a", async () => {
            const s = await cluster.node("node-a").daemon.rpc.call("cluster.status");
            return s.members.find((m) => m.host === "node-d")?.alive === false;
        });
        assert.ok(status.members.length === 4);
        cluster.healAll();
        await cluster.waitConverged("everyone has pa and pd", async (n) => {
            const s = await cluster.stateOf(n.host, "resource/");
            return (s["resource/pa/host/node-a/member"] !== undefined && s["resource/pd/host/node-d/member"] !== undefined);
        });
    });
    test("changes converge over slow, narrow and flaky links", async () => {
        cluster.setAllLinks({ latencyMs: 200, bandwidthBytesPerSec: 64 * 1024, resetProbability: 0.05 });
        try {
            const disk = await makeDisk(cluster, "slow");
            await cluster.node("node-b").daemon.rpc.call("resource.create", { name: "slow", disk });
            await cluster.waitConverged("slow change everywhere", async (n) => (await cluster.stateOf(n.host, "resource/slow/"))["resource/slow/host/node-b/member"] !== undefined, 20_000);
        }
        finally {
            cluster.healAll();
        }
    });
    test("requests of another cluster, with a bad signature, replayed or stale are refused and counted", async () => {
        const a = cluster.node("node-a");
        const url = a.daemon.adminUrl;
        const { PeerClient } = await import("../../src/peer/client.js");
        const { Metrics } = await import("../../src/metrics/metrics.js");
        const { LamportClock } = await import("../../src/log/lamport-clock.js");
        const { NodeTransport } = await import("../../src/platform/node-transport.js");
        const client = new PeerClient({
            host: "intruder",
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            random: systemRandom,
            metrics: new Metrics({ defaultMetrics: false }),
            transport: new NodeTransport({ maxSocketsPerAddress: 1 }),
            timeoutMs: 5000,
            maxResponseBytes: 1 << 20,
        });
        const address = `127.0.0.1:${a.peerPort}`;
        const pull = (clusterId, secret) => client.call({ clusterId, secret }, address, "POST", "/peer/v1/state/pull", { since: {} });
        try {
            const beforeCluster = await metric(url, /^marsd_peer_rejected_requests_total\{reason="cluster"\}/);
            await assert.rejects(pull("other-cluster", "x".repeat(40)), { status: 401, code: "cluster" });
            assert.equal(await metric(url, /^marsd_peer_rejected_requests_total\{reason="cluster"\}/), beforeCluster + 1);
            const beforeSig = await metric(url, /^marsd_peer_rejected_requests_total\{reason="signature"\}/);
            await assert.rejects(pull(cluster.clusterId, "y".repeat(40)), { status: 401, code: "signature" });
            assert.equal(await metric(url, /^marsd_peer_rejected_requests_total\{reason="signature"\}/), beforeSig + 1);
            // With the right secret the same request works...
            const ok = await pull(cluster.clusterId, cluster.secret);
            assert.ok(Array.isArray(ok.body.entries));
            // ...but sending the exact same signed bytes twice is a replay, and an old request is stale.
            const body = Buffer.from(JSON.stringify({ since: {} }));
            const signed = client.signedHeaders({ clusterId: cluster.clusterId, secret: cluster.secret }, "POST", "/peer/v1/state/pull", body);
            const send = (headers) => new Promise((resolve, reject) => {
                const req = http.request({ host: "127.0.0.1", port: a.peerPort, method: "POST", path: "/peer/v1/state/pull", headers }, (res) => {
                    res.resume();
                    resolve(res.statusCode ?? 0);
                });
                req.on("error", reject);
                req.end(body);
            });
            assert.equal(await send(signed.headers), 200);
            assert.equal(await send(signed.headers), 401);
            assert.ok((await metric(url, /^marsd_peer_rejected_requests_total\{reason="replay"\}/)) >= 1);
            const old = { ...signed.headers, [HEADER.timeMs]: String(Date.now() - 3_600_000) };
            assert.equal(await send(old), 401);
            assert.equal(await send({}), 401);
            assert.ok((await metric(url, /^marsd_peer_rejected_requests_total\{reason="missing-headers"\}/)) >= 1);
        }
        finally {
            client.close();
        }
    });
    test("joining with a wrong secret is refused with a clear error", async () => {
        const outsider = await TestCluster.start({ hosts: ["node-x"] });
        try {
            await assert.rejects(outsider.node("node-x").daemon.rpc.call("cluster.join", {
                peer: `127.0.0.1:${cluster.node("node-a").peerPort}`,
                secret: "z".repeat(40),
            }), (err) => err.code === 1011 && /bad signature/.test(err.message));
            const s = await outsider.node("node-x").daemon.rpc.call("cluster.status");
            assert.equal(s.clusterId, undefined);
        }
        finally {
            await outsider.cleanup();
        }
    });
    test("a dead node is removed by a survivor with force; it is refused when it comes back", async () => {
        const d = cluster.node("node-d");
        await d.daemon.kill9();
        const a = cluster.node("node-a").daemon.rpc;
        await assert.rejects(a.call("cluster.leave", { host: "node-d" }), (err) => err.code === 1010);
        assert.deepEqual(await a.call("cluster.leave", { host: "node-d", force: true }), { changed: true });
        assert.deepEqual(await a.call("cluster.leave", { host: "node-d", force: true }), { changed: false });
        await cluster.waitConverged("node-d gone from every survivor", async (n) => {
            const s = await n.daemon.rpc.call("cluster.status");
            return !s.members.some((m) => m.host === "node-d");
        }, 10_000, ["node-a", "node-b", "node-c"]);
        await d.daemon.relaunch();
        await waitFor("node-d's requests refused as removed", async () => {
            return ((await metric(cluster.node("node-a").daemon.adminUrl, /^marsd_peer_rejected_requests_total\{reason="removed"\}/)) > 0);
        });
    });
    test("a node leaves cleanly and forgets the cluster", async () => {
        const c = cluster.node("node-c").daemon.rpc;
        assert.deepEqual(await c.call("cluster.leave"), { changed: true });
        assert.deepEqual(await c.call("cluster.leave"), { changed: false });
        const s = await c.call("cluster.status");
        assert.equal(s.clusterId, undefined);
        await cluster.waitConverged("node-c gone", async (n) => !(await n.daemon.rpc.call("cluster.status")).members.some((m) => m.host === "node-c"), 10_000, ["node-a", "node-b"]);
        // It can join again later.
        const rejoined = await c.call("cluster.join", {
            peer: cluster.proxy("node-c", "node-a").address,
            secret: cluster.secret,
        });
        assert.equal(rejoined.changed, true);
        await cluster.waitConverged("node-c back", async (n) => (await n.daemon.rpc.call("cluster.status")).members.some((m) => m.host === "node-c"), 10_000, ["node-a", "node-b", "node-c"]);
    });
});
describe("joining a resource created a moment ago elsewhere", { timeout: 120_000 }, () => {
    let cluster;
    before(async () => {
        // Periodic pulls a minute apart, and alpha's pushes to bravo lost: bravo
        // can learn of the new resource only by asking when the join needs it.
        cluster = await TestCluster.start({ hosts: ["alpha", "bravo"], syncIntervalMs: 60_000 });
        await cluster.form();
    });
    after(async () => cluster?.cleanup());
    test("the join pulls the cluster state instead of answering 'no such resource'", async () => {
        cluster.proxy("alpha", "bravo").set({ blackhole: true });
        const diskA = path.join(cluster.baseDir, "alpha.img");
        const diskB = path.join(cluster.baseDir, "bravo.img");
        for (const disk of [diskA, diskB]) {
            await writeFile(disk, "");
            await truncate(disk, 8 * 1024 * 1024);
        }
        await cluster.node("alpha").daemon.rpc.call("resource.create", { name: "fresh", disk: diskA });
        const joined = await cluster
            .node("bravo")
            .daemon.rpc.call("resource.join", { name: "fresh", disk: diskB });
        assert.equal(joined.changed, true);
    });
});
//# sourceMappingURL=cluster.test.js.map
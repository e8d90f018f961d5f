/**
 * Peer identity with real daemons: mutual TLS between three nodes with
 * certificates a CA of the test's signed (openssl CLI), a node with a
 * certificate from another CA refused, a member signing as another host
 * refused and counted (by its node key, and over TLS by its certificate's
 * name), and a tampered frame of a log stream refused by the fetcher,
 * counted, and recovered from.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { LamportClock } from "../../src/log/lamport-clock.js";
import { Metrics } from "../../src/metrics/metrics.js";
import { PeerClient } from "../../src/peer/client.js";
import { systemClock } from "../../src/platform/clock.js";
import { NodeTransport } from "../../src/platform/node-transport.js";
import { systemRandom } from "../../src/platform/random.js";
import { waitFor } from "../helpers/daemon-process.js";
import { StreamTamperProxy, clusterIdOf, errorLines, rawHttp, useNodeKeys } from "../helpers/hostile.js";
import { startPatternWriter } from "../helpers/pattern-writer.js";
import { sha256File } from "../helpers/replication.js";
import { requirePythonNbd } from "../helpers/tools.js";
import { PerNodeCluster, issueCertificate, makeCa, } from "../helpers/tls-cluster.js";
const SIZE = 8 * 1024 * 1024;
const BLOCKS = 1024;
const SEED = Number(process.env.MARSD_TEST_SEED ?? systemClock.nowMs() % 1_000_000);
console.log(`peer-identity: seed ${SEED} (MARSD_TEST_SEED=${SEED} replays)`);
const rejected = async (cluster, host, reason) => (await cluster.node(host).daemon.metric("marsd_peer_rejected_requests_total", `reason="${reason}"`)) ?? 0;
function peerClient(host, tls) {
    return new PeerClient({
        host,
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        random: systemRandom,
        metrics: new Metrics({ defaultMetrics: false }),
        transport: new NodeTransport({ maxSocketsPerAddress: 1, ...(tls ? { tls } : {}) }),
        timeoutMs: 5000,
        maxResponseBytes: 16 * 1024 * 1024,
    });
}
/** A resource on the first host, seeded, joined by the others; resolves once all are UpToDate. */
async function replicate(cluster, hosts, name) {
    const disks = new Map();
    for (const host of hosts) {
        const file = path.join(cluster.baseDir, `${host}-${name}.img`);
        await writeFile(file, "");
        await truncate(file, SIZE);
        disks.set(host, file);
    }
    const first = hosts[0];
    await cluster
        .node(first)
        .daemon.rpc.call("resource.create", { name, disk: disks.get(first), frontend: "nbd" });
    for (const host of hosts.slice(1))
        await cluster.node(host).daemon.rpc.call("resource.join", { name, disk: disks.get(host) });
    for (const host of hosts.slice(1))
        await waitUntil(cluster, host, name, "uptodate");
    return disks;
}
async function waitUntil(cluster, host, name, until) {
    await cluster.node(host).daemon.rpc.call("resource.wait", { name, until, timeoutMs: 30_000 }, 40_000);
}
/** Writes versioned blocks through the primary's NBD export; waits until every member applied all it made durable. */
async function writeAndCatchUp(cluster, primary, secondaries, name, scratch, seed) {
    const writer = await startPatternWriter({
        uri: cluster.node(primary).daemon.nbdUri(name),
        blocks: BLOCKS,
        depth: 8,
        seed,
        stateFile: path.join(scratch, `state-${seed}.json`),
        maxWrites: 300,
    });
    assert.equal(await writer.exited, 0, writer.stderr());
    const status = (host) => cluster.node(host).daemon.rpc.call("resource.status", { name });
    for (const host of secondaries) {
        await waitFor(`${host} to apply everything ${primary} made durable`, async () => {
            const durable = (await status(primary)).log.durable;
            const applied = (await status(host)).log.applied;
            return (durable !== undefined && applied?.file === durable.file && applied.offsetBytes >= durable.offsetBytes);
        });
    }
}
async function digests(disks) {
    const out = new Set();
    for (const disk of disks.values())
        out.add(await sha256File(disk, SIZE));
    return out;
}
describe("peer identity over mutual TLS", { timeout: 120_000 }, () => {
    let certDir;
    let ca;
    const tls = new Map();
    let cluster;
    let secret = "";
    let clusterId = "";
    before(async () => {
        await requirePythonNbd();
        certDir = await mkdtemp(path.join(os.tmpdir(), "marsd-certs-"));
        ca = makeCa(certDir, "cluster-ca");
        const rogueCa = makeCa(certDir, "rogue-ca");
        for (const host of ["node-a", "node-b", "node-c"])
            tls.set(host, await issueCertificate(certDir, ca, host));
        // node-d trusts the cluster CA, but its own certificate is from another CA.
        tls.set("node-d", await issueCertificate(certDir, rogueCa, "node-d", ca));
        cluster = await PerNodeCluster.start({
            hosts: ["node-a", "node-b", "node-c", "node-d"],
            tls: (host) => tls.get(host),
        });
        ({ secret, clusterId } = await cluster.form(["node-a", "node-b", "node-c"]));
    });
    after(async () => {
        await cluster?.cleanup();
        if (certDir)
            await rm(certDir, { recursive: true, force: true });
    });
    test("three daemons replicate a resource over mutual TLS; plain HTTP is not served", async () => {
        const disks = await replicate(cluster, ["node-a", "node-b", "node-c"], "r0");
        await writeAndCatchUp(cluster, "node-a", ["node-b", "node-c"], "r0", cluster.baseDir, SEED);
        assert.equal((await digests(disks)).size, 1, "every member's disk equals the primary's");
        // The listener speaks TLS only: a plain request gets no HTTP answer.
        const plain = await rawHttp(cluster.node("node-a").peerPort, Buffer.from("POST /peer/v1/state/pull HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), { timeoutMs: 5_000 }).catch(() => ({ status: 0 }));
        assert.notEqual(plain.status, 200);
        for (const host of ["node-a", "node-b", "node-c"])
            assert.deepEqual(errorLines(cluster.node(host).daemon.output), [], host);
    });
    test("a node whose certificate is not from the cluster CA cannot join", async () => {
        const d = cluster.node("node-d").daemon.rpc;
        await assert.rejects(d.call("cluster.join", { peer: cluster.node("node-a").address, secret }), (err) => /joining through .* failed/.test(err.message));
        const status = await d.call("cluster.status");
        assert.equal(status.clusterId, undefined);
        const members = await cluster
            .node("node-a")
            .daemon.rpc.call("cluster.status");
        assert.deepEqual(members.members.map((m) => m.host).sort(), ["node-a", "node-b", "node-c"]);
    });
    test("a member whose certificate names another host is refused and counted (certificate-name)", async () => {
        // node-c's certificate and node-c's own key, claiming to be node-b.
        const client = peerClient("node-b", tls.get("node-c"));
        useNodeKeys(client, { host: "node-b", keyOf: cluster.node("node-c").daemon.dataDir }, { "node-a": cluster.node("node-a").daemon.dataDir }, clusterId);
        const before = await rejected(cluster, "node-a", "certificate-name");
        try {
            await assert.rejects(client.call({ clusterId, secret }, cluster.node("node-a").address, "POST", "/peer/v1/state/pull", {
                since: {},
            }, "node-a"), (err) => err.status === 403 && err.code === "certificate-name");
        }
        finally {
            client.close();
        }
        assert.equal(await rejected(cluster, "node-a", "certificate-name"), before + 1);
    });
    test("a client refuses a server whose certificate names another host than the one it dials", async () => {
        // node-c means to reach node-b, but node-a answers at that address.
        const client = peerClient("node-c", tls.get("node-c"));
        useNodeKeys(client, { host: "node-c", keyOf: cluster.node("node-c").daemon.dataDir }, { "node-b": cluster.node("node-b").daemon.dataDir }, clusterId);
        try {
            await assert.rejects(client.call({ clusterId, secret }, cluster.node("node-a").address, "POST", "/peer/v1/state/pull", { since: {} }, "node-b"), (err) => err.code === "ERR_TLS_CERT_ALTNAME_INVALID");
        }
        finally {
            client.close();
        }
    });
});
describe("peer identity by node keys (plain HTTP)", { timeout: 120_000 }, () => {
    let cluster;
    let tamper;
    let secret = "";
    let clusterId = "";
    let disks;
    before(async () => {
        await requirePythonNbd();
        // node-b reaches node-a through a proxy that can flip a byte of a log stream.
        cluster = await PerNodeCluster.start({
            hosts: ["node-a", "node-b", "node-c"],
            overrides: async (host, addressOf) => {
                if (host !== "node-b")
                    return {};
                const [h, p] = addressOf("node-a").split(":");
                tamper = await StreamTamperProxy.start({ host: h, port: Number(p) });
                return { "node-a": tamper.address };
            },
        });
        ({ secret, clusterId } = await cluster.form());
        disks = await replicate(cluster, ["node-a", "node-b", "node-c"], "r1");
    });
    after(async () => {
        await cluster?.cleanup();
        await tamper?.close();
    });
    test("a member signing as another host with its own key is refused and counted (wrong-host-key)", async () => {
        assert.equal(clusterIdOf(cluster.node("node-c").daemon.dataDir), clusterId);
        // node-c's key, node-b's name.
        const forger = peerClient("node-b");
        useNodeKeys(forger, { host: "node-b", keyOf: cluster.node("node-c").daemon.dataDir }, { "node-a": cluster.node("node-a").daemon.dataDir }, clusterId);
        // The cluster secret, which every member knows, in node-b's name.
        const withSecret = peerClient("node-b");
        const pull = (client) => client.call({ clusterId, secret }, cluster.node("node-a").address, "POST", "/peer/v1/state/pull", {
            since: {},
        }, "node-a");
        const before = await rejected(cluster, "node-a", "wrong-host-key");
        try {
            await assert.rejects(pull(forger), (err) => err.status === 401 && err.code === "wrong-host-key");
            await assert.rejects(pull(withSecret), (err) => err.code === "wrong-host-key");
        }
        finally {
            forger.close();
            withSecret.close();
        }
        assert.equal(await rejected(cluster, "node-a", "wrong-host-key"), before + 2);
        // node-b itself, with its own key, is answered.
        const honest = peerClient("node-b");
        useNodeKeys(honest, { host: "node-b", keyOf: cluster.node("node-b").daemon.dataDir }, { "node-a": cluster.node("node-a").daemon.dataDir }, clusterId);
        try {
            const answer = await pull(honest);
            assert.ok(Array.isArray(answer.body.entries));
        }
        finally {
            honest.close();
        }
    });
    test("a tampered frame of a log stream is refused by the fetcher, counted, and fetching recovers", async () => {
        const b = cluster.node("node-b").daemon;
        const errorsBefore = (await b.metric("marsd_replication_fetch_errors_total", `resource="r1"`)) ?? 0;
        const proxy = tamper;
        // Writes on the stream node-b's fetcher holds (opened before the proxy was armed)...
        await writeAndCatchUp(cluster, "node-a", ["node-b", "node-c"], "r1", cluster.baseDir, SEED + 1);
        assert.equal(proxy.tampered, 0);
        // ...then a new log file, which node-b's fetcher opens a new stream for: its first frame is altered.
        proxy.arm(1);
        await cluster.node("node-a").daemon.rpc.call("resource.logRotate", { name: "r1" });
        const writes = writeAndCatchUp(cluster, "node-a", ["node-b", "node-c"], "r1", cluster.baseDir, SEED + 2);
        await waitFor("a log stream answer tampered with", () => proxy.tampered >= 1, 30_000);
        await writes;
        assert.equal(proxy.tampered, 1);
        assert.ok(((await b.metric("marsd_replication_fetch_errors_total", `resource="r1"`)) ?? 0) > errorsBefore, "the refused stream is counted as a fetch error");
        assert.match(b.output, /frame authentication failed/);
        assert.equal((await digests(disks)).size, 1, "every member's disk equals the primary's");
    });
});
//# sourceMappingURL=peer-identity.test.js.map
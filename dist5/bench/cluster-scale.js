/**
 * Cluster state at scale: 100 nodes (in one process, each with its own
 * peer listener, client, state store and data dir, talking real signed HTTP
 * over loopback) and 1000 resources' worth of state. Measures:
 *
 * - how long the whole state takes to spread from scratch;
 * - for single changes: time until every other node has it (p50, p99) and
 *   the bytes all nodes exchanged for it (the design goal: linear in the
 *   number of nodes, never quadratic);
 * - the background anti-entropy traffic when nothing changes.
 *
 * Usage: node dist/bench/cluster-scale.js [nodes=100] [resources=1000] [changes=30]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { LamportClock } from "../src/log/lamport-clock.js";
import { ClusterService } from "../src/cluster/cluster.js";
import { Keys } from "../src/cluster/keys.js";
import { Metrics } from "../src/metrics/metrics.js";
import { PeerClient } from "../src/peer/client.js";
import { PeerServer } from "../src/peer/server.js";
import { systemClock } from "../src/platform/clock.js";
import { systemRandom } from "../src/platform/random.js";
import { NodeTransport } from "../src/platform/node-transport.js";
import { nodeStorage } from "../src/platform/storage/node-file.js";
const NODES = Number(process.argv[2] ?? 100);
const RESOURCES = Number(process.argv[3] ?? 1000);
const CHANGES = Number(process.argv[4] ?? 30);
/**
 * Periodic pulls only repair what pushes missed. In one process, 100 nodes'
 * worth of pulls would starve the pushes being measured, so the periodic
 * pull is pushed out of the measurement window here; its cost is measured
 * separately (one pull exchange, times the pairs of the default period).
 */
const SYNC_INTERVAL_MS = 3_600_000;
const DEFAULT_SYNC_INTERVAL_MS = 5_000;
const logger = pino({ level: "silent" });
/**
 * Every byte written to any socket of this process: all of it is peer
 * traffic here, and counting at the socket includes HTTP headers, which the
 * daemon's body-byte metrics leave out.
 */
let socketBytes = 0;
const originalWrite = Reflect.get(net.Socket.prototype, "write");
Reflect.set(net.Socket.prototype, "write", function (chunk, ...rest) {
    socketBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    return originalWrite.call(this, chunk, ...rest);
});
function sentBytes() {
    return socketBytes;
}
function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
/** Waits on the monotonic clock: this machine's wall clock has been seen to step. */
async function waitUntil(check, timeoutMs, what) {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
        if (performance.now() > deadline)
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 2));
    }
}
async function main() {
    const root = await mkdtemp(path.join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "marsd-scale-"));
    const nodes = [];
    const secret = "s".repeat(40);
    try {
        for (let i = 0; i < NODES; i++) {
            const host = `node-${String(i).padStart(3, "0")}`;
            const clock = new LamportClock({ wall: systemClock });
            const metrics = new Metrics({ defaultMetrics: false });
            const holder = {};
            // 100 nodes in one process would need ~20k kept-alive sockets; real nodes each keep only their own.
            const transport = new NodeTransport({ maxSocketsPerAddress: 1, keepAlive: false });
            const server = new PeerServer({
                listen: { host: "127.0.0.1", port: 0 },
                transport,
                auth: {
                    clusterId: () => holder.cluster?.clusterId(),
                    secret: () => holder.cluster?.secret(),
                    isRemoved: (h) => holder.cluster?.isRemoved(h) ?? false,
                    requestKey: (h) => holder.cluster?.requestKey(h),
                },
                clock,
                time: systemClock,
                storage: nodeStorage,
                metrics,
                logger,
                timeWindowMs: 300_000,
                maxRequestBodyBytes: 16 << 20,
                maxControlBodyBytes: 256 << 10,
                maxUnauthenticatedRequests: 1024,
                maxUnauthenticatedBytes: 256 << 20,
                replayLeaseMs: 1000,
            });
            await server.start();
            const client = new PeerClient({
                host,
                clock,
                time: systemClock,
                random: systemRandom,
                metrics,
                transport,
                timeoutMs: 30_000,
                maxResponseBytes: 64 << 20,
            });
            const cluster = await ClusterService.open({
                dataDir: path.join(root, host),
                settings: {
                    host,
                    advertise: `127.0.0.1:${server.port}`,
                    addressOverrides: {},
                    syncIntervalMs: SYNC_INTERVAL_MS,
                    retryMaxMs: 5_000,
                    aliveWindowMs: 60_000,
                    pushConcurrency: 16,
                    tombstoneMinAgeMs: 3_600_000,
                },
                clock,
                time: systemClock,
                random: systemRandom,
                storage: nodeStorage,
                metrics,
                logger,
                server,
                client,
            });
            holder.cluster = cluster;
            cluster.start();
            nodes.push({ host, metrics, server, client, cluster });
        }
        const first = nodes[0];
        await first.cluster.create({ clusterId: "scale", secret });
        let t = performance.now();
        for (let i = 1; i < NODES; i++) {
            await nodes[i].cluster.join({ peer: `127.0.0.1:${first.server.port}`, secret });
        }
        await waitUntil(() => nodes.every((n) => n.cluster.members().length === NODES), 120_000, "membership");
        console.log(`${NODES} nodes joined and know each other in ${Math.round(performance.now() - t)} ms`);
        // 1000 resources: config and primary by the primary, membership by 3 members each.
        t = performance.now();
        for (let r = 0; r < RESOURCES; r++) {
            const res = `res-${r}`;
            const members = [r % NODES, (r + 1) % NODES, (r + 2) % NODES].map((i) => nodes[i]);
            const primary = members[0];
            primary.cluster.state.set(Keys.resourceConfig(res), { sizeBytes: 1 << 30, createdBy: primary.host });
            primary.cluster.state.set(Keys.resourcePrimary(res), primary.host);
            for (const m of members) {
                m.cluster.state.set(Keys.resourceHost(res, m.host, "member"), { disk: `/dev/vg/${res}` });
                m.cluster.state.set(Keys.resourceHost(res, m.host, "replay"), {
                    file: "log-000000001-x",
                    offsetBytes: 0,
                });
            }
        }
        // Per resource: config, primary, and member + replay of 3 hosts; plus one address per node.
        const expected = RESOURCES * 8 + NODES;
        await waitUntil(() => nodes.every((n) => n.cluster.state.size >= expected), 600_000, "the initial state");
        console.log(`initial state (${expected} entries per node) spread to all ${NODES} nodes in ${Math.round(performance.now() - t)} ms`);
        // Let pushes settle, then measure one anti-entropy pull between two nodes that are in sync.
        await new Promise((r) => setTimeout(r, 2000));
        const pullBefore = sentBytes();
        const pulls = 20;
        for (let i = 0; i < pulls; i++) {
            const from = nodes[i];
            await from.cluster.link(nodes[(i + 1) % NODES].host)?.pullNow();
        }
        const bytesPerPull = (sentBytes() - pullBefore) / pulls;
        // Single changes: time until every node has it, and the bytes above the background.
        const latencies = [];
        const bytes = [];
        for (let c = 0; c < CHANGES; c++) {
            const writer = nodes[(c * 37) % NODES];
            const key = Keys.resourceHost(`res-${(c * 37) % RESOURCES}`, writer.host, "replay");
            const value = { file: "log-000000002-x", offsetBytes: c * 4096 };
            const before = sentBytes();
            const started = performance.now();
            writer.cluster.state.set(key, value);
            await waitUntil(() => nodes.every((n) => (n.cluster.state.value(key)?.offsetBytes ?? -1) === value.offsetBytes), 30_000, `change ${c}`);
            latencies.push(performance.now() - started);
            // Wait for the pushes' answers to be counted too.
            await new Promise((r) => setTimeout(r, 100));
            bytes.push(sentBytes() - before);
        }
        latencies.sort((a, b) => a - b);
        const meanBytes = bytes.reduce((a, b) => a + b, 0) / bytes.length;
        console.log("");
        console.log(`cluster state scale: ${NODES} nodes, ${RESOURCES} resources, ${expected} entries per node`);
        console.log(`change convergence to all ${NODES - 1} other nodes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (${CHANGES} changes)`);
        console.log(`bytes exchanged per change (all nodes, requests + answers, HTTP headers included): mean ${Math.round(meanBytes)} B = ${Math.round(meanBytes / (NODES - 1))} B per receiving node`);
        console.log(`  (a quadratic design would cost ~${NODES - 1}x that per change)`);
        const pairs = NODES * (NODES - 1);
        console.log(`anti-entropy pull between nodes in sync: ${Math.round(bytesPerPull)} B per exchange; with the default period of ${DEFAULT_SYNC_INTERVAL_MS / 1000} s: ` +
            `${Math.round((bytesPerPull * pairs) / (DEFAULT_SYNC_INTERVAL_MS / 1000))} B/s for the whole cluster = ${Math.round((bytesPerPull * (NODES - 1) * 2) / (DEFAULT_SYNC_INTERVAL_MS / 1000))} B/s in+out per node`);
    }
    finally {
        await Promise.all(nodes.map(async (n) => {
            await n.cluster.stop();
            await n.server.close();
            n.client.close();
        }));
        await rm(root, { recursive: true, force: true });
    }
}
await main();
//# sourceMappingURL=cluster-scale.js.map
/**
 * N real marsd processes on loopback, wired so that every node reaches
 * every other node through its own fault proxy (from -> to). Tests can then
 * slow, cut or partition any link. Timings are shortened so that
 * convergence is observable in seconds.
 *
 * The proxies' random decisions come from the cluster's seed (option
 * `seed`, else MARSD_TEST_SEED, else drawn from the clock), which start()
 * prints once, so a failing run replays with MARSD_TEST_SEED=<seed>.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DaemonProcess, reservePorts, waitFor } from "./daemon-process.js";
import { systemClock } from "../../src/platform/clock.js";
import { FaultProxy } from "./fault-proxy.js";
import { prng } from "./prng.js";
/** The seed of a cluster: the option, else MARSD_TEST_SEED, else from the clock. */
export function testSeed(seed) {
    if (seed !== undefined)
        return seed;
    const fromEnv = process.env.MARSD_TEST_SEED;
    return fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : systemClock.nowMs() % 1_000_000;
}
/** Clusters started and not yet cleaned up (what explainOnFailure describes). */
const liveClusters = new Set();
/**
 * Wraps a test body: if it throws, every live cluster's daemons are
 * described (health, CPU, log tail) before the error goes on, so a failure
 * that shows once in CI can be understood from its output.
 */
export function explainOnFailure(body) {
    return async () => {
        try {
            return await body();
        }
        catch (err) {
            for (const cluster of liveClusters) {
                console.log(`test failed (${err.message}); cluster seed ${cluster.seed}, its daemons:\n${await cluster.diagnose()}`);
            }
            throw err;
        }
    };
}
export class TestCluster {
    baseDir;
    seed;
    nodes = [];
    proxies = new Map();
    secret = "";
    clusterId = "";
    constructor(baseDir, 
    /** The seed every random decision of this cluster's proxies derives from. */
    seed) {
        this.baseDir = baseDir;
        this.seed = seed;
    }
    static async start(options = {}) {
        const baseDir = await mkdtemp(path.join(os.tmpdir(), "marsd-cluster-"));
        const seed = testSeed(options.seed);
        const cluster = new TestCluster(baseDir, seed);
        liveClusters.add(cluster);
        const hosts = options.hosts ??
            Array.from({ length: options.size ?? 3 }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
        console.log(`TestCluster ${hosts.join(",")}: seed ${seed} (MARSD_TEST_SEED=${seed} replays)`);
        // One seed per proxy, drawn in creation order, so each link has its own stream.
        const proxySeeds = prng(seed);
        // Every daemon port is held while the proxies bind theirs, so none collide.
        const reserved = await reservePorts(2 * hosts.length);
        const peerPorts = reserved.ports.slice(0, hosts.length);
        const adminPorts = reserved.ports.slice(hosts.length);
        try {
            for (const [i, from] of hosts.entries()) {
                for (const [j, to] of hosts.entries()) {
                    if (i !== j)
                        cluster.proxies.set(`${from}->${to}`, await FaultProxy.start(`127.0.0.1:${peerPorts[j]}`, {}, { seed: Math.floor(proxySeeds() * 2 ** 32) }));
                }
            }
        }
        finally {
            await reserved.release();
        }
        try {
            // allSettled: when one daemon fails to start, the others are still
            // starting; they must be in `nodes` before cleanup, or they outlive
            // the test (and keep its process, and the whole run, from ending).
            const started = await Promise.allSettled(hosts.map(async (host, i) => {
                const dir = path.join(baseDir, host);
                const overrides = {};
                for (const other of hosts)
                    if (other !== host)
                        overrides[other] = cluster.proxy(host, other).address;
                const configFile = path.join(baseDir, `${host}.json`);
                await writeFile(configFile, JSON.stringify({
                    ...options.config,
                    peer: {
                        addressOverrides: overrides,
                        syncIntervalMs: options.syncIntervalMs ?? 300,
                        retryMaxMs: 1000,
                        aliveWindowMs: options.aliveWindowMs ?? 3000,
                        requestTimeoutMs: 5000,
                        ...(options.config?.peer ?? {}),
                    },
                }));
                const peerPort = peerPorts[i];
                const daemon = await DaemonProcess.start({
                    host,
                    baseDir: dir,
                    adminPort: adminPorts[i],
                    extraArgs: [
                        "--config",
                        configFile,
                        "--peer-listen",
                        `127.0.0.1:${peerPort}`,
                        "--peer-advertise",
                        `127.0.0.1:${peerPort}`,
                    ],
                });
                cluster.nodes[i] = { host, daemon, peerPort };
            }));
            const failed = started.find((r) => r.status === "rejected");
            if (failed)
                throw failed.reason;
        }
        catch (err) {
            await cluster.cleanup();
            throw err;
        }
        return cluster;
    }
    node(host) {
        const n = this.nodes.find((x) => x.host === host);
        if (!n)
            throw new Error(`no node ${host}`);
        return n;
    }
    proxy(from, to) {
        const p = this.proxies.get(`${from}->${to}`);
        if (!p)
            throw new Error(`no proxy ${from}->${to}`);
        return p;
    }
    /** The first node creates the cluster; the others join through the node before them. */
    async form() {
        const first = this.nodes[0];
        const created = await first.daemon.rpc.call("cluster.create");
        this.secret = created.secret;
        this.clusterId = created.clusterId;
        for (let i = 1; i < this.nodes.length; i++) {
            const node = this.nodes[i];
            const via = this.nodes[i - 1];
            await node.daemon.rpc.call("cluster.join", {
                peer: this.proxy(node.host, via.host).address,
                secret: this.secret,
            });
        }
        await this.waitConverged("every node sees every member", async (n) => {
            const status = await n.daemon.rpc.call("cluster.status");
            return status.members.length === this.nodes.length;
        });
    }
    /** Cuts every link to and from `host` (connections hang, as in a real partition). */
    partition(host, how = { blackhole: true }) {
        for (const other of this.nodes) {
            if (other.host === host)
                continue;
            for (const p of [this.proxy(host, other.host), this.proxy(other.host, host)]) {
                p.set(how);
                if (how.blackhole || how.refuse)
                    p.resetAll();
            }
        }
    }
    healAll() {
        for (const p of this.proxies.values())
            p.heal();
    }
    setAllLinks(faults) {
        for (const p of this.proxies.values())
            p.set(faults);
    }
    async stateOf(host, prefix) {
        const r = await this.node(host).daemon.rpc.call("state.get", {
            prefix,
        });
        return Object.fromEntries(r.entries.map((e) => [e.key, e.value]));
    }
    async waitConverged(what, probe, timeoutMs = 20_000, hosts) {
        const targets = hosts ? this.nodes.filter((n) => hosts.includes(n.host)) : this.nodes;
        await waitFor(what, async () => (await Promise.all(targets.map((n) => probe(n).catch(() => false)))).every(Boolean), timeoutMs, 50);
    }
    /** Every node's diagnosis (see DaemonProcess.diagnose), for a failed test to print. */
    async diagnose() {
        const parts = await Promise.all(this.nodes.filter(Boolean).map((n) => n.daemon.diagnose()));
        return parts.join("\n");
    }
    async cleanup() {
        liveClusters.delete(this);
        await Promise.all(this.nodes.filter(Boolean).map((n) => n.daemon.cleanup()));
        await Promise.all([...this.proxies.values()].map((p) => p.close()));
        await rm(this.baseDir, { recursive: true, force: true });
    }
}
//# sourceMappingURL=test-cluster.js.map
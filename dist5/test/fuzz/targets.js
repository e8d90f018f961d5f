/**
 * Sets up the daemons the fuzzers run against, the same way for the CI
 * tests and the long runs: a scratch directory of disks the fuzzer may name,
 * a resource it must not touch, and the well-behaved client that checks
 * that resource while the fuzzer runs.
 */
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { createVolume } from "../helpers/single-node.js";
import { LamportClock } from "../../src/log/lamport-clock.js";
import { systemClock } from "../../src/platform/clock.js";
import { systemRandom } from "../../src/platform/random.js";
import { Metrics } from "../../src/metrics/metrics.js";
import { PeerClient } from "../../src/peer/client.js";
import { NodeTransport } from "../../src/platform/node-transport.js";
import { useNodeKeys } from "../helpers/hostile.js";
export async function prepareRpcTarget(node) {
    const scratchDir = path.join(node.baseDir, "fuzz-scratch");
    await mkdir(path.join(scratchDir, "sub"), { recursive: true });
    for (const name of ["d0.img", "d1.img"]) {
        await writeFile(path.join(scratchDir, name), "");
        await truncate(path.join(scratchDir, name), 8 * 1024 * 1024);
    }
    await createVolume(node, "keep", 8 * 1024 * 1024);
    const token = (await readFile(path.join(node.dataDir, "admin.token"), "utf8")).trim();
    return {
        adminPort: node.adminPort,
        token,
        pid: node.child?.pid,
        scratchDir,
        reservedNames: ["keep"],
        host: node.host,
        wellBehaved: async () => {
            const status = await node.rpc.call("resource.status", { name: "keep" });
            if (status.state !== "running")
                throw new Error(`resource keep is ${status.state}`);
        },
    };
}
/**
 * node-a of a formed two-node cluster is fuzzed; the well-behaved peer is
 * node-b: a signed pull in its name is answered, and node-b itself still
 * hears node-a.
 */
export function preparePeerTarget(cluster) {
    const a = cluster.node("node-a");
    const client = new PeerClient({
        host: "node-b",
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        random: systemRandom,
        metrics: new Metrics({ defaultMetrics: false }),
        transport: new NodeTransport({ maxSocketsPerAddress: 1 }),
        timeoutMs: 10_000,
        maxResponseBytes: 64 * 1024 * 1024,
    });
    // The well-behaved peer signs with node-b's own node key.
    const b = cluster.node("node-b");
    useNodeKeys(client, { host: "node-b", keyOf: b.daemon.dataDir }, { "node-a": a.daemon.dataDir }, cluster.clusterId);
    return {
        peerPort: a.peerPort,
        pid: a.daemon.child?.pid,
        clusterId: cluster.clusterId,
        secret: cluster.secret,
        host: a.host,
        wellBehaved: async () => {
            const pulled = await client.call({ clusterId: cluster.clusterId, secret: cluster.secret }, `127.0.0.1:${a.peerPort}`, "POST", "/peer/v1/state/pull", { since: {} }, "node-a");
            if (!Array.isArray(pulled.body.entries))
                throw new Error("a pull answered without entries");
            const status = await cluster
                .node("node-b")
                .daemon.rpc.call("cluster.status");
            if (!status.members.some((m) => m.host === "node-a" && m.alive))
                throw new Error("node-b no longer hears node-a");
        },
        close: () => client.close(),
    };
}
//# sourceMappingURL=targets.js.map
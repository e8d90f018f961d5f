/**
 * Replicated resources on a TestCluster: disks, a resource created on one
 * node and joined by others, waiting for conditions through resource.wait,
 * comparing disks, and reading the primary's log to know the exact order
 * of its writes (to check that a secondary's disk is a prefix of it).
 */
import { createHash } from "node:crypto";
import { readFile, readdir, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { scanLogFile } from "../../src/log/scanner.js";
import { RecordKind } from "../../src/log/record.js";
import { parseLogName } from "../../src/log/log-name.js";
import { nodeStorage } from "../../src/platform/storage/node-file.js";
import { BLOCK_BYTES, blockVersion, decodeBlock } from "./versioned-blocks.js";
export async function makeDisk(cluster, host, name, sizeBytes) {
    const file = path.join(cluster.baseDir, `${host}-${name}.img`);
    await writeFile(file, "");
    await truncate(file, sizeBytes);
    return file;
}
export async function sha256File(file, lengthBytes) {
    const data = await readFile(file);
    return createHash("sha256").update(data.subarray(0, lengthBytes)).digest("hex");
}
export async function status(cluster, host, name) {
    return cluster.node(host).daemon.rpc.call("resource.status", { name });
}
export async function waitUntil(cluster, host, name, until, timeoutMs = 60_000) {
    await cluster.node(host).daemon.rpc.call("resource.wait", { name, until, timeoutMs }, timeoutMs + 10_000);
}
/**
 * The order in which the primary logged its writes of versioned blocks:
 * [block, version] per WRITE record, across all log files of `dir`.
 */
export async function loggedWrites(resourceDir) {
    const files = (await readdir(resourceDir))
        .filter((f) => parseLogName(f))
        .sort((a, b) => (parseLogName(a)?.fileNumber ?? 0) - (parseLogName(b)?.fileNumber ?? 0));
    const writes = [];
    for (const name of files) {
        const file = await nodeStorage.open(path.join(resourceDir, name), "read");
        try {
            await scanLogFile(file, {
                onRecord: (r) => {
                    if (r.kind !== RecordKind.Write || r.offsetBytes % BLOCK_BYTES !== 0)
                        return;
                    for (let at = 0; at + BLOCK_BYTES <= r.payload.length; at += BLOCK_BYTES) {
                        const block = r.payload.subarray(at, at + BLOCK_BYTES);
                        const index = (r.offsetBytes + at) / BLOCK_BYTES;
                        const version = decodeBlock(block, index);
                        if (typeof version === "number" && version > 0)
                            writes.push([index, version]);
                    }
                },
            });
        }
        finally {
            await file.close();
        }
    }
    return writes;
}
/**
 * Checks that `image` (block versions) equals the state after exactly some
 * prefix of `writes`, and returns that prefix's length.
 */
export function prefixLength(image, blocks, writes) {
    const versions = [];
    for (let i = 0; i < blocks; i++) {
        const v = blockVersion(image, i);
        if (typeof v === "string")
            throw new Error(`block ${i}: ${v}`);
        versions.push(v);
    }
    // The prefix must reach the newest write each block shows...
    let k = 0;
    const position = new Map();
    writes.forEach(([i, v], at) => position.set(`${i}:${v}`, at));
    for (let i = 0; i < blocks; i++) {
        const v = versions[i];
        if (v === 0)
            continue;
        const at = position.get(`${i}:${v}`);
        if (at === undefined)
            throw new Error(`block ${i} version ${v} was never logged`);
        k = Math.max(k, at + 1);
    }
    // ...and the state after exactly that prefix must be the image.
    const expected = new Array(blocks).fill(0);
    for (let at = 0; at < k; at++) {
        const [i, v] = writes[at];
        expected[i] = v;
    }
    for (let i = 0; i < blocks; i++) {
        if (expected[i] !== versions[i]) {
            throw new Error(`not a prefix: block ${i} holds version ${versions[i]}, the prefix of ${k} writes has ${expected[i]}`);
        }
    }
    return k;
}
/**
 * A cluster of `hosts`, a resource created on the first host (its disk
 * seeded with `seedBytes` of random data) and joined by the others, all
 * UpToDate.
 */
export async function startReplicated(options) {
    const { TestCluster } = await import("./test-cluster.js");
    const name = options.name ?? "r0";
    const cluster = await TestCluster.start({
        hosts: options.hosts,
        config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 }, ...options.config },
    });
    try {
        await cluster.form();
        const disks = new Map();
        for (const host of options.hosts)
            disks.set(host, await makeDisk(cluster, host, name, options.sizeBytes));
        const first = options.hosts[0];
        if (options.seedBytes) {
            const { randomBytes } = await import("node:crypto");
            const { open } = await import("node:fs/promises");
            const handle = await open(disks.get(first), "r+");
            await handle.write(randomBytes(options.seedBytes), 0, options.seedBytes, 0);
            await handle.close();
        }
        await cluster
            .node(first)
            .daemon.rpc.call("resource.create", { name, disk: disks.get(first), frontend: "nbd" });
        for (const host of options.hosts.slice(1)) {
            await cluster.node(host).daemon.rpc.call("resource.join", { name, disk: disks.get(host) });
        }
        for (const host of options.hosts.slice(1))
            await waitUntil(cluster, host, name, "uptodate");
        return { cluster, name, sizeBytes: options.sizeBytes, disks };
    }
    catch (err) {
        await cluster.cleanup();
        throw err;
    }
}
export function nbdUri(cluster, host, name) {
    return cluster.node(host).daemon.nbdUri(name);
}
/** All disks hold the same bytes (after the primary stopped writing and everyone caught up). */
export async function diskDigests(setup) {
    const out = new Map();
    for (const [host, disk] of setup.disks)
        out.set(host, await sha256File(disk, setup.sizeBytes));
    return out;
}
export function resourceDirOf(cluster, host, name) {
    return path.join(cluster.node(host).daemon.dataDir, "resources", name);
}
/** Waits until `secondary` has applied everything `primary` has made durable (both read live). */
export async function waitCaughtUp(cluster, secondary, primary, name, timeoutMs = 60_000) {
    const { waitFor } = await import("./daemon-process.js");
    await waitFor(`${secondary} to catch up with ${primary}`, async () => {
        const p = await cluster
            .node(primary)
            .daemon.rpc.call("resource.status", {
            name,
        });
        const s = await status(cluster, secondary, name);
        const durable = p.log.durable;
        return (durable !== undefined &&
            s.log.applied?.file === durable.file &&
            s.log.applied.offsetBytes >= durable.offsetBytes);
    }, timeoutMs, 100);
}
//# sourceMappingURL=replication.js.map
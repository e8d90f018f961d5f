/**
 * Wire compression with real daemons (src/replication/compression*.ts):
 *
 * 1. Sync: alpha's 48 MiB disk holds compressible data (filesystem
 *    metadata-like 4 KiB blocks: a few seeded random bytes each, the rest
 *    zero, so no block is all zero and nothing is skipped as a hole);
 *    bravo joins and copies it all. The bytes bravo received from alpha
 *    while syncing, and alpha's compressed sync bytes, are well below the
 *    disk's size.
 * 2. Fetch: 16 MiB of the same kind written through NBD (nbdcopy) ship
 *    to bravo compressed; the disks end equal.
 * 3. One side off: bravo restarts with compression disabled; it no longer
 *    asks for it, alpha sends plain frames (its wire bytes grow by its raw
 *    bytes), and the next 8 MiB still replicate, disks equal.
 *
 * MARSD_TEST_SEED replays the data.
 */
import assert from "node:assert/strict";
import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, describe, it } from "node:test";
import { makeDisk, nbdUri, sha256File, waitCaughtUp, waitUntil } from "../helpers/replication.js";
import { TestCluster, explainOnFailure, testSeed } from "../helpers/test-cluster.js";
import { prng } from "../helpers/prng.js";
import { requireTool, run } from "../helpers/tools.js";
const SEED = testSeed();
const MIB = 1024 * 1024;
const DISK_BYTES = 48 * MIB;
/** 4 KiB blocks with 64 seeded random bytes each, the rest zero: about 60:1 with brotli. */
function metadataLike(bytes, rnd) {
    const b = Buffer.alloc(bytes);
    for (let off = 0; off < bytes; off += 4096)
        for (let i = 0; i < 64; i += 4)
            b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), off + i);
    return b;
}
describe(`wire compression (seed ${SEED}, MARSD_TEST_SEED replays)`, { timeout: 120_000 }, () => {
    let cluster;
    after(async () => cluster?.cleanup());
    it("sync and fetch data cross the wire compressed; with one side off, plain frames still replicate", { timeout: 110_000 }, explainOnFailure(async () => {
        const nbdcopy = requireTool("nbdcopy");
        const rnd = prng(SEED);
        cluster = await TestCluster.start({
            hosts: ["alpha", "bravo"],
            seed: SEED,
            config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 } },
        });
        await cluster.form();
        const a = cluster.node("alpha").daemon;
        const b = cluster.node("bravo").daemon;
        const metric = async (d, name, labels) => (await d.metric(name, labels)) ?? 0;
        const fromAlpha = () => metric(b, "marsd_peer_received_bytes_total", 'peer="alpha"');
        const alphaBytes = async (kind) => ({
            raw: await metric(a, "marsd_peer_compression_raw_bytes_total", `resource="r0",kind="${kind}"`),
            wire: await metric(a, "marsd_peer_compression_wire_bytes_total", `resource="r0",kind="${kind}"`),
        });
        // 1. Full sync of a compressible disk.
        const diskA = await makeDisk(cluster, "alpha", "r0", DISK_BYTES);
        const diskB = await makeDisk(cluster, "bravo", "r0", DISK_BYTES);
        const handle = await open(diskA, "r+");
        await handle.write(metadataLike(DISK_BYTES, rnd), 0, DISK_BYTES, 0);
        await handle.close();
        await a.rpc.call("resource.create", { name: "r0", disk: diskA, frontend: "nbd" });
        const beforeSync = await fromAlpha();
        await b.rpc.call("resource.join", { name: "r0", disk: diskB });
        await waitUntil(cluster, "bravo", "r0", "uptodate");
        const syncReceived = (await fromAlpha()) - beforeSync;
        const sync = await alphaBytes("sync");
        console.log(`sync: ${DISK_BYTES} bytes of disk, ${syncReceived} received by bravo, alpha ${JSON.stringify(sync)}`);
        assert.equal(sync.raw, DISK_BYTES, "every chunk differed and was sent once");
        assert.ok(sync.wire < DISK_BYTES / 10, `sync wire bytes ${sync.wire}`);
        assert.ok(syncReceived < DISK_BYTES / 5, `bravo received ${syncReceived} bytes for a ${DISK_BYTES}-byte sync`);
        // 2. Writes through NBD ship compressed.
        const image = path.join(cluster.baseDir, "image");
        const writeThroughNbd = async (bytes) => {
            await writeFile(image, metadataLike(bytes, rnd));
            await run(nbdcopy, [image, nbdUri(cluster, "alpha", "r0")]);
            await waitCaughtUp(cluster, "bravo", "alpha", "r0");
            assert.equal(await sha256File(diskB, DISK_BYTES), await sha256File(diskA, DISK_BYTES), "disks differ");
        };
        const beforeFetch = await fromAlpha();
        await writeThroughNbd(16 * MIB);
        const fetchReceived = (await fromAlpha()) - beforeFetch;
        const fetched = await alphaBytes("fetch");
        console.log(`fetch: 16 MiB written, ${fetchReceived} received by bravo, alpha ${JSON.stringify(fetched)}`);
        assert.ok(fetched.raw >= 16 * MIB, `log bytes served ${fetched.raw}`);
        assert.ok(fetched.wire < fetched.raw / 10, `fetch wire bytes ${fetched.wire} of ${fetched.raw}`);
        assert.ok(fetchReceived < 4 * MIB, `bravo received ${fetchReceived} bytes for 16 MiB of writes`);
        // 3. Bravo turns compression off: it asks for plain frames, and gets them.
        const configFile = path.join(cluster.baseDir, "bravo.json");
        const config = JSON.parse(await readFile(configFile, "utf8"));
        await writeFile(configFile, JSON.stringify({ ...config, compression: { enabled: false } }));
        await b.restart();
        await waitUntil(cluster, "bravo", "r0", "uptodate");
        const plainBefore = await alphaBytes("fetch");
        const receivedBefore = await fromAlpha();
        await writeThroughNbd(8 * MIB);
        const plainAfter = await alphaBytes("fetch");
        const plainReceived = (await fromAlpha()) - receivedBefore;
        console.log(`plain fetch: 8 MiB written, ${plainReceived} received by bravo`);
        assert.ok(plainAfter.raw - plainBefore.raw >= 8 * MIB);
        assert.equal(plainAfter.wire - plainBefore.wire, plainAfter.raw - plainBefore.raw, "frames went plain");
        assert.ok(plainReceived >= 8 * MIB, `bravo received ${plainReceived} bytes for 8 MiB sent plain`);
    }));
});
//# sourceMappingURL=compression.test.js.map
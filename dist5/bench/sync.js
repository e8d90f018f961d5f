/**
 * Sync benchmark (a benchmark, not a test; `npm run bench:sync`): two real
 * daemons with a fault proxy between them, at 0, 50 and 200 ms round trip.
 *
 * 1. Equal disks: the member's disk already holds the primary's bytes
 *    (random data, so nothing is sparse); it leaves and joins again, and
 *    the sync only confirms equality. Reported against single-core SHA-256
 *    speed measured in this process just before each run.
 * 2. Fully different disks through a link capped at LINK_MIB_PER_SEC (the
 *    proxy's shared link capacity): reported against what a plain TCP
 *    bulk transfer (8 connections, through the same kind of proxy with the
 *    same faults) reaches in the same run: the link as the proxy makes it.
 *
 * Each case alternates with its baseline and repeats REPEATS times; the
 * median is printed.
 *
 * Usage: node dist/bench/sync.js [equalMiB=2048] [differentMiB=256]
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFile, open } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { waitFor } from "../test/helpers/daemon-process.js";
import { makeDisk, waitUntil } from "../test/helpers/replication.js";
import { TestCluster } from "../test/helpers/test-cluster.js";
import { FaultProxy } from "../test/helpers/fault-proxy.js";
import net from "node:net";
const MIB = 1024 * 1024;
const EQUAL_MIB = Number(process.argv[2] ?? 2048);
const DIFFERENT_MIB = Number(process.argv[3] ?? 256);
const LINK_MIB_PER_SEC = 64;
const ROUND_TRIPS_MS = [0, 50, 200];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** Single-core SHA-256 over 256 MiB in 1 MiB chunks, MiB/s. */
function hashMiBps() {
    const chunk = randomBytes(MIB);
    const started = performance.now();
    for (let i = 0; i < 256; i++)
        createHash("sha256").update(chunk).digest();
    return 256 / ((performance.now() - started) / 1000);
}
async function fillRandom(file, sizeMiB) {
    const handle = await open(file, "r+");
    try {
        for (let i = 0; i < sizeMiB; i += 16)
            await handle.write(randomBytes(16 * MIB), 0, 16 * MIB, i * MIB);
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}
/** A plain bulk transfer of `sizeMiB` over 8 connections through a proxy with `faults`, MiB/s. */
async function linkMiBps(faults, sizeMiB) {
    const connections = 8;
    const perConnection = (sizeMiB * MIB) / connections;
    const server = net.createServer((socket) => {
        socket.on("error", () => undefined);
        const block = randomBytes(MIB);
        let sent = 0;
        const pump = () => {
            while (sent < perConnection) {
                sent += MIB;
                if (!socket.write(block))
                    return void socket.once("drain", pump);
            }
            socket.end();
        };
        pump();
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = server.address().port;
    const proxy = await FaultProxy.start(`127.0.0.1:${port}`, faults, { seed: 1 });
    try {
        const started = performance.now();
        await Promise.all(Array.from({ length: connections }, () => new Promise((resolve, reject) => {
            const socket = net.connect(proxy.port, "127.0.0.1");
            socket.on("data", () => undefined);
            socket.on("end", resolve);
            socket.on("error", reject);
        })));
        return sizeMiB / ((performance.now() - started) / 1000);
    }
    finally {
        await proxy.close();
        server.close();
    }
}
function median(values) {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}
async function main() {
    const cluster = await TestCluster.start({
        hosts: ["primary", "member"],
        config: {
            jobs: { logRotate: "", logDelete: "" },
            replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
        },
    });
    try {
        await cluster.form();
        const p = cluster.node("primary").daemon.rpc;
        const m = cluster.node("member").daemon.rpc;
        const disks = {
            equalP: await makeDisk(cluster, "primary", "eq", EQUAL_MIB * MIB),
            equalM: await makeDisk(cluster, "member", "eq", EQUAL_MIB * MIB),
            diffP: await makeDisk(cluster, "primary", "diff", DIFFERENT_MIB * MIB),
            diffM: await makeDisk(cluster, "member", "diff", DIFFERENT_MIB * MIB),
        };
        await fillRandom(disks.equalP, EQUAL_MIB);
        await copyFile(disks.equalP, disks.equalM);
        await fillRandom(disks.diffP, DIFFERENT_MIB);
        await p.call("resource.create", { name: "eq", disk: disks.equalP, frontend: "nbd" });
        await p.call("resource.create", { name: "diff", disk: disks.diffP, frontend: "nbd" });
        // From the moment the member's sync has started (the join's own set-up is not the sync's rate).
        const timeJoin = async (name, disk) => {
            await m.call("resource.join", { name, disk });
            await waitFor(`${name}: the sync to start`, async () => (await m.call("resource.status", { name })).sync !== undefined, 60_000, 5);
            const started = performance.now();
            await waitUntil(cluster, "member", name, "uptodate", 1_800_000);
            const seconds = (performance.now() - started) / 1000;
            await m.call("resource.leave", { name });
            return seconds;
        };
        const rows = [];
        for (const rttMs of ROUND_TRIPS_MS) {
            const equal = [];
            const different = [];
            for (let r = 0; r < REPEATS; r++) {
                cluster.setAllLinks({ latencyMs: rttMs / 2, linkBandwidthBytesPerSec: 0 });
                const base = hashMiBps();
                equal.push({ rate: EQUAL_MIB / (await timeJoin("eq", disks.equalM)), base });
                const capped = { latencyMs: rttMs / 2, linkBandwidthBytesPerSec: LINK_MIB_PER_SEC * MIB };
                cluster.setAllLinks(capped);
                await fillRandom(disks.diffM, DIFFERENT_MIB);
                const linkBase = await linkMiBps(capped, Math.min(DIFFERENT_MIB, 256));
                different.push({ rate: DIFFERENT_MIB / (await timeJoin("diff", disks.diffM)), base: linkBase });
            }
            const eqRatio = median(equal.map((e) => e.rate / e.base));
            rows.push(`| ${rttMs} ms | ${median(equal.map((e) => e.rate)).toFixed(0)} MiB/s | ${median(equal.map((e) => e.base)).toFixed(0)} MiB/s | ${eqRatio.toFixed(2)}x | ${median(different.map((d) => d.rate)).toFixed(1)} MiB/s | ${median(different.map((d) => d.base)).toFixed(1)} MiB/s | ${median(different.map((d) => d.rate / d.base)).toFixed(2)}x |`);
            console.log(rows[rows.length - 1]);
        }
        console.log(`\nsync, equal ${EQUAL_MIB} MiB disks and different ${DIFFERENT_MIB} MiB disks, median of ${REPEATS}:\n` +
            `| round trip | equal: sync rate | SHA-256 one core | ratio | different: sync rate | link (TCP, cap ${LINK_MIB_PER_SEC} MiB/s) | ratio |\n` +
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
            rows.join("\n"));
    }
    finally {
        await cluster.cleanup();
    }
}
main().catch((err) => {
    console.error(err);
    process.exit(1);
});
//# sourceMappingURL=sync.js.map
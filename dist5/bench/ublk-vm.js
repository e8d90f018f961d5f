/**
 * ublk vs NBD vs kernel loop, measured in one run inside the test VM
 * (`npm run bench:ublk` boots it). The same fio workloads go to
 *
 *   ublk  /dev/ublkbN, marsd's ublk frontend over a volume on disk.img
 *   nbd   /dev/nbd0, the kernel NBD client (nbd-client) connected to
 *         marsd's NBD export of a volume on the same disk.img
 *   loop  /dev/loopN straight over disk.img (no marsd: the kernel's own path)
 *
 * Software emulation (TCG) makes absolute numbers meaningless; the ratios
 * ublk/NBD and ublk/loop are the result. Writes through marsd go to its log
 * and then to disk.img, so they do twice the work loop does.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../test/helpers/daemon-process.js";
import { VmDaemon } from "../test/vm/guest/guest-helpers.js";
const exec = promisify(execFile);
const MiB = 1024 * 1024;
const DISK_BYTES = 256 * MiB;
const RUNTIME_S = Number(process.env.BENCH_RUNTIME_S ?? 5);
const WORKLOADS = [
    { name: "4k randread QD1", rw: "randread", blockBytes: 4096, iodepth: 1, metric: "iops" },
    { name: "4k randwrite QD1", rw: "randwrite", blockBytes: 4096, iodepth: 1, metric: "iops" },
    { name: "4k randread QD32", rw: "randread", blockBytes: 4096, iodepth: 32, metric: "iops" },
    { name: "4k randwrite QD32", rw: "randwrite", blockBytes: 4096, iodepth: 32, metric: "iops" },
    { name: "1M seq read QD4", rw: "read", blockBytes: MiB, iodepth: 4, metric: "MiB/s" },
    { name: "1M seq write QD4", rw: "write", blockBytes: MiB, iodepth: 4, metric: "MiB/s" },
];
async function sh(cmd, args) {
    const { stdout } = await exec(cmd, args, { maxBuffer: 64 * MiB });
    return stdout;
}
async function fio(device, w) {
    const out = await sh("fio", [
        "--output-format=json",
        "--name=bench",
        `--filename=${device}`,
        "--ioengine=libaio",
        "--direct=1",
        `--rw=${w.rw}`,
        `--bs=${w.blockBytes}`,
        `--iodepth=${w.iodepth}`,
        `--size=${DISK_BYTES / 2}`,
        "--time_based=1",
        `--runtime=${RUNTIME_S}`,
        "--ramp_time=1",
        "--randrepeat=0",
        "--norandommap=1",
    ]);
    // fio may print notices before its JSON document.
    const json = JSON.parse(out.slice(out.indexOf("{")));
    const job = json.jobs[0];
    if (!job)
        throw new Error("fio reported no job");
    const side = w.rw === "randread" || w.rw === "read" ? job.read : job.write;
    return w.metric === "iops" ? side.iops : side.bw_bytes / MiB;
}
async function suite(target, device, results) {
    for (const w of WORKLOADS) {
        const value = await fio(device, w);
        results[target].set(w.name, value);
        console.log(`  ${target.padEnd(5)} ${w.name.padEnd(18)} ${value.toFixed(0).padStart(8)} ${w.metric}`);
    }
}
async function exportedDevice(daemon, name) {
    return waitFor(`resource ${name} to be exported`, async () => {
        const s = await daemon.rpc.call("resource.status", {
            name,
        });
        return s.device;
    }, 60_000);
}
function table(results, haveNbd) {
    const ratio = (a, b) => a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : "n/a";
    const lines = [
        "workload            metric     ublk      nbd     loop  ublk/nbd  ublk/loop",
        ...WORKLOADS.map((w) => {
            const u = results.ublk.get(w.name);
            const n = results.nbd.get(w.name);
            const l = results.loop.get(w.name);
            const f = (v) => (v === undefined ? "n/a" : v.toFixed(0)).padStart(8);
            return `${w.name.padEnd(19)} ${w.metric.padEnd(6)} ${f(u)} ${f(n)} ${f(l)} ${ratio(u, haveNbd ? n : undefined).padStart(9)} ${ratio(u, l).padStart(10)}`;
        }),
    ];
    return lines.join("\n");
}
async function main() {
    if (process.env.MARSD_VM_GUEST !== "1") {
        console.error("bench/ublk-vm: runs inside the test VM; start it with `npm run bench:ublk`");
        process.exit(2);
    }
    const haveNbd = spawnSync("nbd-client", ["-h"]).error === undefined;
    const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-bench-"));
    const disk = path.join(dir, "disk.img");
    const handle = await open(disk, "w");
    await handle.truncate(DISK_BYTES);
    await handle.close();
    // Real pages behind every block, so reads are not answered from holes.
    await sh("dd", [
        "if=/dev/zero",
        `of=${disk}`,
        "bs=1M",
        `count=${DISK_BYTES / MiB}`,
        "conv=notrunc",
        "status=none",
    ]);
    const results = { ublk: new Map(), nbd: new Map(), loop: new Map() };
    const daemon = await VmDaemon.start();
    try {
        await daemon.rpc.call("resource.create", { name: "bench", disk, frontend: "ublk" });
        const ublk = await exportedDevice(daemon, "bench");
        if (ublk.kind !== "ublk" || !ublk.path)
            throw new Error(`expected a ublk device, got ${JSON.stringify(ublk)}`);
        console.log(`ublk: ${ublk.path}`);
        await suite("ublk", ublk.path, results);
        await daemon.rpc.call("resource.delete", { name: "bench" });
        if (haveNbd) {
            await daemon.rpc.call("resource.create", { name: "bench", disk, frontend: "nbd" });
            await exportedDevice(daemon, "bench");
            await sh("nbd-client", ["-u", "-N", "bench", daemon.nbdSocket, "/dev/nbd0", "-b", "4096"]);
            try {
                console.log("nbd: /dev/nbd0 (nbd-client over marsd's Unix socket)");
                await suite("nbd", "/dev/nbd0", results);
            }
            finally {
                await sh("nbd-client", ["-d", "/dev/nbd0"]);
            }
            await daemon.rpc.call("resource.delete", { name: "bench" });
        }
        else {
            console.log("nbd: skipped, nbd-client is not installed (scripts/setup.sh --vm installs it)");
        }
    }
    finally {
        await daemon.cleanup();
    }
    const loop = (await sh("losetup", ["--direct-io=on", "--show", "-f", disk])).trim();
    try {
        const dio = (await sh("cat", [`/sys/block/${path.basename(loop)}/loop/dio`])).trim();
        console.log(`loop: ${loop} (direct IO ${dio === "1" ? "on" : "off: tmpfs backing"})`);
        await suite("loop", loop, results);
    }
    finally {
        await sh("losetup", ["-d", loop]);
    }
    await rm(dir, { recursive: true, force: true });
    console.log(`\nublk vs NBD vs loop (fio, libaio, O_DIRECT, ${RUNTIME_S} s each, under TCG emulation)\n`);
    console.log(table(results, haveNbd));
}
await main();
//# sourceMappingURL=ublk-vm.js.map
/**
 * Real NBD clients we did not write, against a real marsd: nbdinfo,
 * qemu-img, qemu-io, nbdcopy and fio's libnbd engine. Each one's own
 * verification is used where it has one (qemu-io -P, fio --verify), and
 * copies are compared byte for byte.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createVolume, startNodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run, RunError } from "../helpers/tools.js";
import { seededRandom } from "../../src/platform/random.js";
const MIB = 1024 * 1024;
/** Seeds the data written (printed in the suite's name; MARSD_CLIENTS_SEED replays). */
const SEED = Number(process.env.MARSD_CLIENTS_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(SEED);
describe(`real NBD clients (seed ${SEED})`, () => {
    let node;
    const tool = {
        nbdinfo: "",
        nbdcopy: "",
        qemuImg: "",
        qemuIo: "",
        fio: "",
    };
    before(async () => {
        // Fail (never skip) when a client is missing.
        tool.nbdinfo = requireTool("nbdinfo");
        tool.nbdcopy = requireTool("nbdcopy");
        tool.qemuImg = requireTool("qemu-img");
        tool.qemuIo = requireTool("qemu-io");
        tool.fio = requireTool("fio");
        node = await startNodeWithVolume({ sizeBytes: 64 * MIB });
    });
    after(() => node?.daemon.cleanup());
    const file = (name) => path.join(node.daemon.baseDir, name);
    it("nbdinfo reads the URI from resource.status and lists the exports", async () => {
        const status = await node.daemon.rpc.call("resource.status", {
            name: "r0",
        });
        assert.equal(status.device.kind, "nbd");
        const { stdout } = await run(tool.nbdinfo, ["--json", status.device.uri]);
        const info = JSON.parse(stdout);
        assert.equal(info.protocol, "newstyle-fixed");
        const e = info.exports[0];
        assert.ok(e);
        assert.equal(e["export-name"], "r0");
        assert.equal(e["export-size"], 64 * MIB);
        assert.deepEqual([e.is_read_only, e.can_flush, e.can_fua, e.can_trim, e.can_zero, e.can_multi_conn], [false, true, true, true, true, true]);
        await createVolume(node.daemon, "r1", 4 * MIB);
        const list = await run(tool.nbdinfo, ["--list", "--json", `nbd+unix://?socket=${node.daemon.nbdSocket}`]);
        const names = JSON.parse(list.stdout).exports.map((x) => x["export-name"]);
        assert.deepEqual(names.sort(), ["r0", "r1"]);
    });
    it("qemu-io writes patterns and verifies them (and notices a wrong one)", async () => {
        const io = (...cmds) => run(tool.qemuIo, ["-f", "raw", node.uri, ...cmds.flatMap((c) => ["-c", c])]);
        const { stdout } = await io("write -P 0x5a 1M 3M", "write -P 0xa5 2M 4k", "aio_flush", "read -P 0x5a 1M 1M", "read -P 0xa5 2M 4k", "read -P 0x5a 2052k 2044k");
        assert.doesNotMatch(stdout, /verification failed|error/i);
        await assert.rejects(io("read -P 0x5b 1M 4k"), /Pattern verification failed/, "the check itself works");
        const zero = await io("write -z 1M 64k", "read -P 0 1M 64k");
        assert.doesNotMatch(zero.stdout, /verification failed/i);
        await io("discard 8M 1M");
    });
    it("qemu-img reads info and converts into and out of the export", async () => {
        const info = JSON.parse((await run(tool.qemuImg, ["info", "--output=json", node.uri])).stdout);
        assert.equal(info["virtual-size"], 64 * MIB);
        assert.equal(info.format, "raw");
        const source = file("qemu-source.raw");
        await writeFile(source, Buffer.concat([random.bytes(20 * MIB), Buffer.alloc(44 * MIB)]));
        const qcow = file("qemu-source.qcow2");
        await run(tool.qemuImg, ["convert", "-f", "raw", "-O", "qcow2", source, qcow]);
        await run(tool.qemuImg, ["convert", "-n", "-f", "qcow2", "-O", "raw", qcow, node.uri]);
        const out = file("qemu-out.raw");
        await run(tool.qemuImg, ["convert", "-f", "raw", "-O", "raw", node.uri, out]);
        assert.ok((await readFile(out)).equals(await readFile(source)), "qemu-img round trip");
        await run(tool.qemuImg, ["compare", "-f", "raw", "-F", "raw", source, node.uri]);
    });
    it("nbdcopy copies into and out of the export byte for byte", async () => {
        const source = file("nbdcopy-source.bin");
        const content = random.bytes(64 * MIB);
        await writeFile(source, content);
        await run(tool.nbdcopy, ["--flush", source, node.uri]);
        const out = file("nbdcopy-out.bin");
        await run(tool.nbdcopy, [node.uri, out]);
        assert.ok((await readFile(out)).equals(content), "nbdcopy round trip");
        // A copy into a smaller export (r1, 4 MiB) is refused, not truncated.
        await assert.rejects(run(tool.nbdcopy, ["--flush", source, node.uri.replace("/r0?", "/r1?")]), (err) => {
            assert.ok(err instanceof RunError, String(err));
            assert.match(err.message, /larger|size|space/i, "a copy bigger than the target is refused");
            return true;
        });
    });
    it("fio's libnbd engine writes and verifies random IO at depth", async () => {
        const fio = (name, extra) => run(tool.fio, [
            `--name=${name}`,
            "--ioengine=nbd",
            `--uri=${node.uri}`,
            "--size=16m",
            "--offset=32m",
            "--bs=4k",
            "--iodepth=16",
            "--randrepeat=1",
            "--output-format=json",
            // fio would leave verify state files in the working directory.
            "--verify_state_save=0",
            ...extra,
        ], { timeoutMs: 120_000, cwd: node.daemon.baseDir });
        for (const [name, extra] of [
            ["verify-write", ["--rw=randwrite", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1"]],
            [
                "verify-mixed",
                ["--rw=randrw", "--verify=md5", "--verify_backlog=32", "--verify_fatal=1", "--number_ios=4000"],
            ],
            ["fsync", ["--rw=randwrite", "--fsync=8", "--number_ios=2000"]],
        ]) {
            const { stdout } = await fio(name, [...extra]);
            const json = JSON.parse(stdout.slice(stdout.indexOf("{")));
            assert.equal(json.jobs[0]?.error, 0, `${name}: fio reported an error`);
            assert.ok((json.jobs[0]?.write.total_ios ?? 0) > 0, `${name}: nothing written`);
        }
    });
    it("is still healthy afterwards", async () => {
        const res = await fetch(`${node.daemon.adminUrl}/healthz`);
        assert.equal(res.status, 200);
        assert.equal(node.daemon.exitCode, null);
    });
});
//# sourceMappingURL=real-clients.test.js.map
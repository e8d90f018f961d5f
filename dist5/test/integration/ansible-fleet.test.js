/**
 * ansible/playbooks/fleet-rollout.yml against a fleet of real daemons on
 * this machine (one process each, connection local, one inventory host per
 * daemon, one fork per host): in one run the fleet forms one cluster and a
 * resource is rolled out to every node. Then, through the RPC and the disks:
 * every node lists every member, every replica is UpToDate and holds the
 * creator's content (a seeded pattern), a write through the primary's NBD
 * export reaches every disk, and a second run changes nothing. The time of
 * each run is printed.
 *
 * CI runs MARSD_FLEET_SIZE (default 8) daemons; `npm run test:fleet` runs
 * 20 (about 50 MB of memory each, small logs).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ansibleEnv, assertNothingChanged, changedMap, PLAYBOOKS, runPlaybook, task, } from "../helpers/ansible-playbook.js";
import { systemClock } from "../../src/platform/clock.js";
import { DaemonProcess, reservePorts, waitFor } from "../helpers/daemon-process.js";
import { prng } from "../helpers/prng.js";
import { testSeed } from "../helpers/test-cluster.js";
import { requireTool, run, SYSTEM_PYTHON } from "../helpers/tools.js";
const FLEET_SIZE = Number(process.env.MARSD_FLEET_SIZE ?? 8);
const DISK_BYTES = 2 * 1024 * 1024;
/** Daemons started at once. */
const START_CONCURRENCY = 4;
const RESOURCE = "fleet0";
const PLAYBOOK = path.join(PLAYBOOKS, "fleet-rollout.yml");
const RESOURCE_TASK = "Create the resource on the first node, join it everywhere else, wait until UpToDate";
/** A small daemon: short status and sync periods (the fleet converges in seconds), small log buffers. */
const DAEMON_CONFIG = {
    replication: { statusPublishMs: 500, heartbeatMs: 1000, listWaitMs: 2000 },
    peer: { syncIntervalMs: 1000, retryMaxMs: 1000, aliveWindowMs: 10_000, requestTimeoutMs: 10_000 },
    log: { maxPendingBytes: 8 * 1024 * 1024, preallocateBytes: 0, maxBatchBytes: 1024 * 1024 },
};
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
function pattern(seed, bytes) {
    const next = prng(seed);
    const out = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 4)
        out.writeUInt32LE(Math.floor(next() * 2 ** 32), i);
    return out;
}
describe(`fleet-rollout.yml: one resource to ${FLEET_SIZE} daemons in one run`, { timeout: 600_000 }, () => {
    const hosts = Array.from({ length: FLEET_SIZE }, (_, i) => `fleet-${String(i + 1).padStart(2, "0")}`);
    const daemons = new Map();
    const disks = new Map();
    const peerPorts = new Map();
    let workDir;
    let inventory;
    let env;
    let seed;
    let initial;
    before(async () => {
        requireTool("ansible-playbook");
        requireTool("nbdcopy");
        assert.ok(FLEET_SIZE >= 2, "MARSD_FLEET_SIZE: at least 2");
        seed = testSeed();
        console.log(`fleet of ${FLEET_SIZE}: seed ${seed} (MARSD_TEST_SEED=${seed} replays)`);
        workDir = await mkdtemp(path.join(os.tmpdir(), "marsd-fleet-"));
        const reserved = await reservePorts(2 * FLEET_SIZE);
        await reserved.release();
        const startedMs = systemClock.monotonicMs();
        // A few at a time: twenty node processes loading at once on two CPUs
        // take longer than DaemonProcess waits for one to answer.
        const startOne = async (host, i) => {
            const baseDir = path.join(workDir, host);
            const configFile = path.join(workDir, `${host}.json`);
            await writeFile(configFile, JSON.stringify(DAEMON_CONFIG));
            const peerPort = reserved.ports[FLEET_SIZE + i];
            peerPorts.set(host, peerPort);
            const daemon = await DaemonProcess.start({
                host,
                baseDir,
                adminPort: reserved.ports[i],
                extraArgs: [
                    "--config",
                    configFile,
                    "--peer-listen",
                    `127.0.0.1:${peerPort}`,
                    "--peer-advertise",
                    `127.0.0.1:${peerPort}`,
                ],
            });
            daemons.set(host, daemon);
        };
        for (let i = 0; i < FLEET_SIZE; i += START_CONCURRENCY) {
            // allSettled: the others of a batch are in `daemons` (and cleaned up) even if one fails.
            const batch = hosts.slice(i, i + START_CONCURRENCY);
            const started = await Promise.allSettled(batch.map((host, j) => startOne(host, i + j)));
            const failed = started.find((r) => r.status === "rejected");
            if (failed)
                throw failed.reason;
        }
        console.log(`${FLEET_SIZE} daemons started in ${Math.round(systemClock.monotonicMs() - startedMs)} ms`);
        initial = pattern(seed, DISK_BYTES);
        for (const [i, host] of hosts.entries()) {
            const disk = path.join(workDir, `${host}-${RESOURCE}.img`);
            if (i === 0)
                await writeFile(disk, initial);
            else {
                await writeFile(disk, "");
                await truncate(disk, DISK_BYTES);
            }
            disks.set(host, disk);
        }
        const inventoryHosts = {};
        for (const host of hosts) {
            const d = daemons.get(host);
            inventoryHosts[host] = {
                marsd_url: d.adminUrl,
                marsd_token_file: path.join(d.dataDir, "admin.token"),
                marsd_disk: disks.get(host),
                marsd_peer_address: `127.0.0.1:${peerPorts.get(host)}`,
            };
        }
        inventory = path.join(workDir, "inventory.json");
        await writeFile(inventory, JSON.stringify({
            all: { vars: { ansible_connection: "local", ansible_python_interpreter: SYSTEM_PYTHON } },
            marsd: {
                hosts: inventoryHosts,
                vars: {
                    marsd_cluster_id: "fleet",
                    marsd_cluster_secret: "fleet-test-secret-0123456789-abcdefgh",
                    marsd_resource: RESOURCE,
                    marsd_frontend: "nbd",
                },
            },
        }));
        // As ansible/ansible.cfg sets it for operators (the test passes its settings through the environment).
        env = { ...ansibleEnv(workDir), ANSIBLE_PIPELINING: "1" };
    });
    after(async () => {
        await Promise.all([...daemons.values()].map((d) => d.cleanup()));
        if (workDir)
            await rm(workDir, { recursive: true, force: true });
    });
    const rpc = (host) => daemons.get(host).rpc;
    async function timedRun(what) {
        const startedMs = systemClock.monotonicMs();
        const r = await runPlaybook(env, inventory, PLAYBOOK, ["--forks", String(FLEET_SIZE)], 480_000);
        const tookMs = Math.round(systemClock.monotonicMs() - startedMs);
        const perTask = r.tasks.map((t) => `${t.name.split(",")[0]}: ${t.durationMs ?? "?"} ms`).join("; ");
        console.log(`${what}: fleet-rollout.yml on ${FLEET_SIZE} daemons took ${tookMs} ms (${perTask})`);
        return r;
    }
    test("one run forms the cluster and rolls the resource out to every node", async () => {
        const r = await timedRun("first run");
        const changed = changedMap(r);
        const [first, ...others] = hosts;
        assert.equal(changed[`Create the cluster on the first node @ ${first}`], true);
        for (const host of others) {
            assert.equal(changed[`Join every other node to the cluster through the first @ ${host}`], true, host);
            assert.deepEqual(task(r, RESOURCE_TASK)[host]?.actions, ["join"], host);
        }
        assert.deepEqual(task(r, RESOURCE_TASK)[first]?.actions, ["create"]);
        const checks = task(r, "Every node sees the whole fleet alive and its replica UpToDate behind the first node");
        assert.equal(Object.keys(checks).length, FLEET_SIZE);
        for (const [host, c] of Object.entries(checks))
            assert.ok(!c.failed, `${host}: ${c.msg}`);
        const want = sha256(initial);
        for (const host of hosts) {
            const cs = await rpc(host).call("cluster.status");
            assert.equal(cs.clusterId, "fleet", host);
            assert.deepEqual(cs.members.map((m) => m.host).sort(), [...hosts].sort(), `${host} lists every member`);
            const s = await rpc(host).call("resource.status", {
                name: RESOURCE,
            });
            assert.equal(s.diskState, "UpToDate", host);
            assert.equal(s.role, host === first ? "primary" : "secondary", host);
            assert.equal(sha256(await readFile(disks.get(host))), want, `${host}'s disk holds the creator's content`);
        }
    });
    test("a write through the primary's NBD export reaches every disk", async () => {
        const first = hosts[0];
        const next = pattern(seed + 1, DISK_BYTES);
        const image = path.join(workDir, "next.img");
        await writeFile(image, next);
        await run(requireTool("nbdcopy"), [image, daemons.get(first).nbdUri(RESOURCE)]);
        const want = sha256(next);
        await waitFor(`every disk of the fleet to hold the new content`, async () => {
            for (const host of hosts)
                if (sha256(await readFile(disks.get(host))) !== want)
                    return false;
            return true;
        }, 120_000, 200);
    });
    test("a second run changes nothing", async () => {
        assertNothingChanged(await timedRun("second run"), "second run of fleet-rollout.yml");
    });
});
//# sourceMappingURL=ansible-fleet.test.js.map
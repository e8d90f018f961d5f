/**
 * The Ansible collection marsd.marsd (ansible/collections/...) against real
 * daemons: ansible-playbook (connection local, one inventory host per
 * daemon) runs the operator playbooks in ansible/playbooks and reports each
 * task's `changed` through the json stdout callback. A second run of the
 * same playbook must change nothing; --check must predict the change and
 * leave the daemons alone; handover, forced failover with eviction, and
 * teardown (leave, delete, leave the cluster) are checked through the RPC;
 * so are bandwidth limits, invalidate, verify (of a replica damaged behind
 * the daemon's back) and resolve_split_brain (without a fork: no change).
 * Also: ansible-doc parses every module's documentation, `ansible-test
 * sanity` passes offline with every test but import (ansible/sanity-offline.py),
 * and the module_utils unit tests pass. The tools come from
 * scripts/setup.sh; a missing one fails the test.
 */
import assert from "node:assert/strict";
import { cp, open, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../helpers/daemon-process.js";
import { makeDisk, status } from "../helpers/replication.js";
import { TestCluster } from "../helpers/test-cluster.js";
import { requireTool, run, RunError, SYSTEM_PYTHON } from "../helpers/tools.js";
import { ANSIBLE_DIR, ansibleEnv, assertNothingChanged, changedMap, COLLECTIONS, PLAYBOOKS, runPlaybook, task, } from "../helpers/ansible-playbook.js";
const MIB = 1024 * 1024;
const HOSTS = ["node-a", "node-b", "node-c"];
const COLLECTION = path.join(COLLECTIONS, "ansible_collections", "marsd", "marsd");
const TEST_PLAYBOOKS = path.join(COLLECTION, "tests", "integration", "playbooks");
const RESOURCE_TASK = "Create the resource on the first node, join it everywhere else, wait until UpToDate";
const MODULES = ["marsd_info", "marsd_cluster", "marsd_resource", "marsd_bandwidth"];
/** Runs ansible-test sanity offline on the tools Debian packages (see the script's header). */
const SANITY_OFFLINE = path.join(ANSIBLE_DIR, "sanity-offline.py");
describe("ansible collection marsd.marsd against real daemons", { timeout: 300_000 }, () => {
    let cluster;
    let workDir;
    let inventory;
    const disks = new Map();
    const env = {};
    const playbook = (file, args = []) => runPlaybook(env, inventory, file, args);
    const rpc = (host) => cluster.node(host).daemon.rpc;
    before(async () => {
        requireTool("ansible-playbook");
        requireTool("ansible-doc");
        requireTool("ansible-test");
        requireTool(SYSTEM_PYTHON);
        // The json stdout callback lives in ansible.posix (Debian's "ansible"); pytest runs the unit tests.
        await run(requireTool("ansible-doc"), ["-t", "callback", "--json", "ansible.posix.json"]).catch(() => {
            throw new Error("the ansible.posix.json callback is not installed: run scripts/setup.sh");
        });
        await run(SYSTEM_PYTHON, ["-c", "import pytest, voluptuous"]).catch(() => {
            throw new Error("python3-pytest and python3-voluptuous are not installed: run scripts/setup.sh");
        });
        cluster = await TestCluster.start({
            hosts: HOSTS,
            config: { replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 } },
        });
        workDir = cluster.baseDir;
        for (const host of HOSTS)
            disks.set(host, await makeDisk(cluster, host, "r0", 4 * MIB));
        const hosts = {};
        for (const n of cluster.nodes) {
            hosts[n.host] = {
                marsd_url: n.daemon.adminUrl,
                marsd_token_file: path.join(n.daemon.dataDir, "admin.token"),
                marsd_disk: disks.get(n.host),
                marsd_peer_address: `127.0.0.1:${n.peerPort}`,
            };
        }
        inventory = path.join(workDir, "inventory.json");
        await writeFile(inventory, JSON.stringify({
            all: { vars: { ansible_connection: "local", ansible_python_interpreter: SYSTEM_PYTHON } },
            marsd: {
                hosts,
                vars: {
                    marsd_cluster_id: "ansible-test",
                    marsd_cluster_secret: "ansible-test-secret-0123456789-abcdef",
                    marsd_resource: "r0",
                    marsd_frontend: "nbd",
                },
            },
        }));
        Object.assign(env, ansibleEnv(workDir));
    });
    after(async () => cluster?.cleanup());
    test("ansible-doc parses every module's documentation (collection found through ansible/ansible.cfg)", async () => {
        const docEnv = { ...process.env };
        delete docEnv.ANSIBLE_COLLECTIONS_PATH;
        delete docEnv.ANSIBLE_CONFIG;
        const { stdout } = await run(requireTool("ansible-doc"), ["--json", ...MODULES.map((m) => `marsd.marsd.${m}`)], { cwd: ANSIBLE_DIR, env: docEnv });
        const docs = JSON.parse(stdout);
        for (const m of MODULES) {
            const doc = docs[`marsd.marsd.${m}`];
            assert.ok(doc, `ansible-doc has no documentation for ${m}`);
            for (const option of ["url", "token_file", "token", "timeout"])
                assert.ok(doc.doc.options[option], `${m}: ${option}`);
            assert.equal(doc.doc.attributes.check_mode?.support, "full", `${m}: check mode`);
            assert.ok(doc.examples.includes(`marsd.marsd.${m}`), `${m}: examples`);
        }
    });
    test("ansible-test sanity: every test but import passes, offline (pep8, pylint, yamllint, validate-modules too)", async () => {
        // On a copy outside git: in the work tree ansible-test would only see committed files.
        const root = path.join(workDir, "sanity", "ansible_collections", "marsd", "marsd");
        await cp(COLLECTION, root, { recursive: true, filter: (src) => !/[/\\](output|__pycache__)$/.test(src) });
        const { stdout } = await run(SYSTEM_PYTHON, [SANITY_OFFLINE, root], {
            env: { ...env, HOME: path.join(workDir, "home") },
            timeoutMs: 240_000,
        }).catch((err) => {
            if (err instanceof RunError)
                throw new Error(`ansible-test sanity failed:\n${err.result.stdout}${err.result.stderr}`);
            throw err;
        });
        for (const name of [
            "compile",
            "pep8",
            "pylint",
            "yamllint",
            "validate-modules",
            "runtime-metadata",
            "ansible-doc",
        ])
            assert.match(stdout, new RegExp(`Running sanity test "${name}"`), `${name} ran`);
        assert.doesNotMatch(stdout, /ERROR:/);
    });
    test("module_utils and check-mode planners: python unit tests", async () => {
        const { stdout } = await run(SYSTEM_PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider", path.join(COLLECTION, "tests", "unit")], { env: { ...env, PYTHONPATH: COLLECTIONS, PYTHONDONTWRITEBYTECODE: "1" } });
        assert.match(stdout, /\d+ passed/);
    });
    test("cluster.yml forms the cluster and replicates r0; a second run changes nothing", async () => {
        const first = await playbook(path.join(PLAYBOOKS, "cluster.yml"));
        assert.deepEqual(changedMap(first), {
            "Create the cluster on the first node @ node-a": true,
            "Create the cluster on the first node @ node-b": false,
            "Create the cluster on the first node @ node-c": false,
            "Join the other nodes to the cluster through the first @ node-a": false,
            "Join the other nodes to the cluster through the first @ node-b": true,
            "Join the other nodes to the cluster through the first @ node-c": true,
            [`${RESOURCE_TASK} @ node-a`]: true,
            [`${RESOURCE_TASK} @ node-b`]: true,
            [`${RESOURCE_TASK} @ node-c`]: true,
        });
        const resourceTask = task(first, RESOURCE_TASK);
        assert.deepEqual(resourceTask["node-a"]?.actions, ["create"]);
        assert.deepEqual(resourceTask["node-b"]?.actions, ["join"]);
        for (const host of HOSTS) {
            const s = await status(cluster, host, "r0");
            assert.equal(s.diskState, "UpToDate", `${host} waited until UpToDate`);
            assert.equal(s.designatedPrimary, "node-a");
            assert.equal(s.role, host === "node-a" ? "primary" : "secondary");
            const cs = await rpc(host).call("cluster.status");
            assert.equal(cs.clusterId, "ansible-test");
            assert.equal(cs.members.length, 3);
        }
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "cluster.yml")), "second run of cluster.yml");
    });
    test("--check on a changed spec reports the change and changes nothing", async () => {
        const pausedBefore = await Promise.all(HOSTS.map(async (h) => (await status(cluster, h, "r0")).paused));
        const check = await playbook(path.join(PLAYBOOKS, "cluster.yml"), [
            "--check",
            "--diff",
            "-e",
            JSON.stringify({ marsd_paused: ["replay"] }),
        ]);
        const resourceTask = task(check, RESOURCE_TASK);
        for (const host of HOSTS) {
            assert.equal(resourceTask[host]?.changed, true, `${host}: check mode predicts the pause`);
            assert.deepEqual(resourceTask[host]?.actions, ["pause:replay"]);
            assert.deepEqual(resourceTask[host]?.diff?.before.paused, []);
            assert.deepEqual(resourceTask[host]?.diff?.after.paused, ["replay"]);
        }
        for (const name of [
            "Create the cluster on the first node",
            "Join the other nodes to the cluster through the first",
        ]) {
            for (const [host, r] of Object.entries(task(check, name)))
                assert.equal(r.changed, false, `${name} @ ${host}`);
        }
        const handover = await playbook(path.join(PLAYBOOKS, "handover.yml"), [
            "--check",
            "-e",
            "marsd_new_primary=node-b",
        ]);
        assert.equal(task(handover, "Make this node the primary")["node-b"]?.changed, true);
        const teardown = await playbook(path.join(PLAYBOOKS, "teardown.yml"), ["--check"]);
        assert.equal(task(teardown, "Nodes that are not the primary leave the resource")["node-b"]?.changed, true);
        assert.equal(task(teardown, "The primary deletes the resource from the cluster")["node-a"]?.changed, true);
        for (const [host, r] of Object.entries(task(teardown, "Leave the cluster, one node after the other")))
            assert.equal(r.changed, true, `leaving the cluster @ ${host}`);
        // The daemons are untouched: same pauses, same primary, still members.
        for (const [i, host] of HOSTS.entries()) {
            const s = await status(cluster, host, "r0");
            assert.deepEqual(s.paused, pausedBefore[i], `${host}: pauses unchanged`);
            assert.equal(s.designatedPrimary, "node-a", `${host}: primary unchanged`);
            const cs = await rpc(host).call("cluster.status");
            assert.equal(cs.clusterId, "ansible-test");
        }
    });
    test("pauses: set, predicted unchanged, resumed", async () => {
        const set = await playbook(path.join(PLAYBOOKS, "cluster.yml"), [
            "-l",
            "node-c",
            "-e",
            JSON.stringify({ marsd_paused: ["fetch", "replay"] }),
        ]);
        const resourceTask = task(set, RESOURCE_TASK);
        assert.deepEqual(resourceTask["node-c"]?.actions, ["pause:fetch", "pause:replay"]);
        assert.deepEqual((await status(cluster, "node-c", "r0")).paused, {
            sync: false,
            fetch: true,
            replay: true,
        });
        const again = ["-l", "node-c", "-e", JSON.stringify({ marsd_paused: ["fetch", "replay"] })];
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "cluster.yml"), [...again, "--check"]), "check, same pauses");
        const resume = await playbook(path.join(PLAYBOOKS, "cluster.yml"), [
            "-l",
            "node-c",
            "-e",
            JSON.stringify({ marsd_paused: [] }),
        ]);
        assert.deepEqual(task(resume, RESOURCE_TASK)["node-c"]?.actions, ["resume:fetch", "resume:replay"]);
        assert.deepEqual((await status(cluster, "node-c", "r0")).paused, {
            sync: false,
            fetch: false,
            replay: false,
        });
    });
    test("repairs and bandwidth: check mode predicts, a real run changes, a second run does not", async () => {
        const repair = path.join(TEST_PLAYBOOKS, "repair.yml");
        const step = (vars, args = []) => playbook(repair, ["-l", "node-c", "-e", JSON.stringify(vars), ...args]);
        const limits = async () => (await rpc("node-c").call("node.setBandwidth", {})).node;
        // Node-wide sync limit.
        const bandwidth = { marsd_step: "bandwidth", marsd_sync_bytes_per_sec: 50_000_000 };
        const bwCheck = task(await step(bandwidth, ["--check", "--diff"]), "Bandwidth limits")["node-c"];
        assert.equal(bwCheck?.changed, true);
        assert.deepEqual(bwCheck?.diff, { before: { sync: 0, fetch: 0 }, after: { sync: 50_000_000, fetch: 0 } });
        assert.deepEqual(await limits(), { sync: 0, fetch: 0 }, "check mode set nothing");
        assert.equal(task(await step(bandwidth), "Bandwidth limits")["node-c"]?.changed, true);
        assert.deepEqual(await limits(), { sync: 50_000_000, fetch: 0 });
        assertNothingChanged(await step(bandwidth), "same limit again");
        const lift = { marsd_step: "bandwidth", marsd_sync_bytes_per_sec: 0 };
        assert.equal(task(await step(lift), "Bandwidth limits")["node-c"]?.changed, true);
        // Invalidate with the sync paused: the whole-disk sync stays under way, so a second run changes nothing.
        const invalidate = { marsd_step: "invalidate", marsd_paused: ["sync"] };
        const invCheck = task(await step(invalidate, ["--check"]), "Resync from the primary")["node-c"];
        assert.deepEqual(invCheck?.actions, ["pause:sync", "invalidate"]);
        assert.equal((await status(cluster, "node-c", "r0")).diskState, "UpToDate", "check mode invalidated nothing");
        const inv = task(await step(invalidate), "Resync from the primary")["node-c"];
        assert.deepEqual(inv?.actions, ["pause:sync", "invalidate"]);
        const syncing = (await status(cluster, "node-c", "r0"));
        assert.equal(syncing.sync?.kind, "full");
        assertNothingChanged(await step(invalidate, ["--check"]), "invalidate while the sync runs, check mode");
        assertNothingChanged(await step(invalidate), "invalidate while the sync runs");
        await playbook(path.join(PLAYBOOKS, "cluster.yml"), [
            "-l",
            "node-c",
            "-e",
            JSON.stringify({ marsd_paused: [] }),
        ]);
        assert.equal((await status(cluster, "node-c", "r0")).diskState, "UpToDate");
        const verifyTask = async (vars, args = []) => task(await step({ marsd_step: "verify", ...vars }, args), "Verify against the primary")["node-c"];
        const disk = await open(disks.get("node-c"), "r+");
        await disk.write(Buffer.alloc(4096, 0xa5), 0, 4096, MIB);
        await disk.sync();
        await disk.close();
        const verifiedAtMs = (s) => s.verify?.startedAtMs;
        const startedBefore = verifiedAtMs(await status(cluster, "node-c", "r0"));
        const predicted = await verifyTask({ marsd_verify_repair: true }, ["--check"]);
        assert.equal(predicted.changed, false);
        assert.equal(verifiedAtMs(await status(cluster, "node-c", "r0")), startedBefore, "check mode started no verify");
        const found = await verifyTask({});
        assert.equal(found.failed, true);
        assert.equal(found.rpc_error?.name, "VerifyMismatch");
        assert.ok(found.verify.mismatchedBytes >= 4096, "the damaged block is reported");
        const repaired = await verifyTask({ marsd_verify_repair: true });
        assert.equal(repaired.changed, true);
        assert.deepEqual(repaired.actions, ["verify:repair"]);
        const again = await verifyTask({ marsd_verify_repair: true });
        assert.equal(again.changed, false, "nothing left to repair");
        assert.equal(again.verify.mismatchedBytes, 0);
        // resolve_split_brain without a fork: nothing to roll back on any member, predicted and real.
        const resolve = ["-e", JSON.stringify({ marsd_step: "resolve", marsd_winner: "node-a" })];
        const resolveCheck = await playbook(repair, [...resolve, "--check"]);
        assertNothingChanged(resolveCheck, "resolve without a fork, check mode");
        assert.deepEqual(Object.keys(task(resolveCheck, "Resolve a split brain")).sort(), HOSTS);
        assertNothingChanged(await playbook(repair, resolve), "resolve without a fork");
    });
    test("errors carry the JSON-RPC error; check mode predicts conflicts", async () => {
        const other = await makeDisk(cluster, "node-a", "other", 4 * MIB);
        const r = await playbook(path.join(TEST_PLAYBOOKS, "errors.yml"), [
            "-e",
            JSON.stringify({ marsd_target: "node-a", marsd_other_disk: other }),
        ]);
        const a = (name) => task(r, name)["node-a"];
        const conflict = a("Another disk for an existing resource is a conflict");
        assert.equal(conflict.failed, true);
        assert.equal(conflict.rpc_error?.code, 1002);
        assert.equal(conflict.rpc_error?.name, "ResourceConflict");
        assert.equal(conflict.rpc_error?.method, "resource.create");
        assert.match(conflict.msg ?? "", /resource\.create failed: ResourceConflict \(1002\)/);
        const predicted = a("Check mode predicts the same conflict");
        assert.equal(predicted.failed, true);
        assert.match(predicted.msg ?? "", /already here on disk .* \(predicted in check mode\)/);
        const unauthorized = a("A wrong token is refused");
        assert.equal(unauthorized.rpc_error?.code, -32001);
        assert.equal(unauthorized.rpc_error?.http_status, 401);
        const unreachable = a("A daemon that does not answer is a transport error");
        assert.equal(unreachable.rpc_error?.name, "TransportError");
        assert.match(unreachable.msg ?? "", /cannot reach marsd/);
        assert.match(a("A resource that is not here, without a disk, fails").msg ?? "", /disk is needed/);
        const info = a("The full status of every resource");
        assert.equal(info.failed, undefined);
        assert.equal(info.node.host, "node-a");
        assert.equal(info.resource_status.r0?.role, "primary");
        // The failed real call changed nothing.
        assert.equal((await status(cluster, "node-a", "r0")).diskState, "UpToDate");
    });
    test("handover.yml moves the primary to node-b; running it and cluster.yml again changes nothing", async () => {
        const r = await playbook(path.join(PLAYBOOKS, "handover.yml"), ["-e", "marsd_new_primary=node-b"]);
        assert.deepEqual(task(r, "Make this node the primary")["node-b"]?.actions, ["primary"]);
        for (const [host, res] of Object.entries(task(r, "Wait until this node's disk is UpToDate")))
            assert.equal(res.changed, false, `waiting is no change @ ${host}`);
        assert.equal((await status(cluster, "node-b", "r0")).role, "primary");
        for (const host of ["node-a", "node-c"]) {
            const s = await status(cluster, host, "r0");
            assert.equal(s.role, "secondary", host);
            assert.equal(s.designatedPrimary, "node-b", host);
        }
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "handover.yml"), ["-e", "marsd_new_primary=node-b"]), "second handover");
        // The same spec again, now with explicit pauses (nothing paused): every pause/resume call answers changed=false.
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "cluster.yml"), ["-e", JSON.stringify({ marsd_paused: [] })]), "cluster.yml after the handover");
    });
    test("failover.yml: node-b dies, node-a takes over by force and evicts and removes node-b", async () => {
        await cluster.node("node-b").daemon.kill9();
        const args = ["-l", "node-a", "-e", "marsd_new_primary=node-a marsd_dead=node-b marsd_remove_dead=true"];
        const r = await playbook(path.join(PLAYBOOKS, "failover.yml"), args);
        assert.deepEqual(changedMap(r), {
            "Become primary at once, without the dead primary @ node-a": true,
            "Evict the dead node from the resource @ node-a": true,
            "Remove the dead node from the cluster for good @ node-a": true,
        });
        const s = await status(cluster, "node-a", "r0");
        assert.equal(s.role, "primary");
        assert.equal(s.designatedPrimary, "node-a");
        await waitFor("node-c to see node-a as the primary", async () => {
            const c = await status(cluster, "node-c", "r0");
            return c.designatedPrimary === "node-a";
        });
        const members = await rpc("node-a").call("cluster.status");
        assert.deepEqual(members.members.map((m) => m.host), ["node-a", "node-c"]);
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "failover.yml"), args), "second failover");
    });
    test("teardown.yml: node-c leaves r0, node-a deletes it, both leave the cluster; a second run changes nothing", async () => {
        const limit = ["-l", "node-a,node-c"];
        const r = await playbook(path.join(PLAYBOOKS, "teardown.yml"), limit);
        assert.deepEqual(changedMap(r), {
            "Read the node @ node-a": false,
            "Read the node @ node-c": false,
            "Nodes that are not the primary leave the resource @ node-a": false,
            "Nodes that are not the primary leave the resource @ node-c": true,
            "The primary deletes the resource from the cluster @ node-a": true,
            "The primary deletes the resource from the cluster @ node-c": false,
            "Leave the cluster, one node after the other @ node-a": true,
            "Leave the cluster, one node after the other @ node-c": true,
        });
        assert.equal(task(r, "Nodes that are not the primary leave the resource")["node-a"]?.skipped, true);
        assert.equal(task(r, "The primary deletes the resource from the cluster")["node-c"]?.skipped, true);
        for (const host of ["node-a", "node-c"]) {
            const list = await rpc(host).call("resource.list");
            assert.deepEqual(list.resources, [], host);
            const cs = await rpc(host).call("cluster.status");
            assert.equal(cs.clusterId, undefined, `${host} left the cluster`);
        }
        assertNothingChanged(await playbook(path.join(PLAYBOOKS, "teardown.yml"), limit), "second teardown");
    });
});
//# sourceMappingURL=ansible.test.js.map
/**
 * Reading ansible-playbook's json stdout callback (ansible.posix.json) in
 * the Ansible tests: each task's result per host, and the play's stats.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
import { requireTool, run, RunError } from "./tools.js";
export const ANSIBLE_DIR = path.join(PROJECT_ROOT, "ansible");
export const COLLECTIONS = path.join(ANSIBLE_DIR, "collections");
export const PLAYBOOKS = path.join(ANSIBLE_DIR, "playbooks");
export function parseJsonOutput(stdout) {
    // The json callback prints one document; anything before it would be a stray warning.
    const out = JSON.parse(stdout.slice(stdout.indexOf("{")));
    return {
        tasks: out.plays.flatMap((p) => p.tasks.map((t) => {
            const d = t.task.duration;
            const durationMs = d?.end ? Date.parse(d.end) - Date.parse(d.start) : undefined;
            return { name: t.task.name, hosts: t.hosts, ...(durationMs === undefined ? {} : { durationMs }) };
        })),
        stats: out.stats,
    };
}
/** Every host of every task, as "task @ host" -> changed. */
export function changedMap(r) {
    const out = {};
    for (const t of r.tasks)
        for (const [host, res] of Object.entries(t.hosts))
            out[`${t.name} @ ${host}`] = res.changed;
    return out;
}
export function task(r, name) {
    const t = r.tasks.find((x) => x.name === name);
    assert.ok(t, `no task "${name}" in ${r.tasks.map((x) => x.name).join(", ")}`);
    return t.hosts;
}
export function assertNothingChanged(r, what) {
    const changed = Object.entries(changedMap(r)).filter(([, c]) => c);
    assert.deepEqual(changed, [], `${what}: tasks reported changed`);
    for (const [host, s] of Object.entries(r.stats))
        assert.equal(s.changed, 0, `${what}: ${host} stats`);
}
/** The environment for ansible-playbook: the collection from the repo, json output, temp dirs under `workDir`. */
export function ansibleEnv(workDir) {
    const env = {
        ...process.env,
        ANSIBLE_COLLECTIONS_PATH: COLLECTIONS,
        ANSIBLE_STDOUT_CALLBACK: "json",
        ANSIBLE_LOCAL_TEMP: path.join(workDir, "ansible-local"),
        ANSIBLE_REMOTE_TMP: path.join(workDir, "ansible-remote"),
        ANSIBLE_NOCOLOR: "1",
        ANSIBLE_FORCE_COLOR: "0",
        ANSIBLE_RETRY_FILES_ENABLED: "0",
        ANSIBLE_DEPRECATION_WARNINGS: "0",
    };
    // An ansible.cfg picked up from the caller's environment would change the output format.
    delete env.ANSIBLE_CONFIG;
    return env;
}
/** Runs a playbook; a failed run throws naming each failed task and host. */
export async function runPlaybook(env, inventory, file, args = [], timeoutMs = 120_000) {
    try {
        const { stdout } = await run(requireTool("ansible-playbook"), ["-i", inventory, file, ...args], {
            env,
            timeoutMs,
        });
        return parseJsonOutput(stdout);
    }
    catch (err) {
        if (err instanceof RunError && err.result.stdout.includes("{")) {
            const failed = parseJsonOutput(err.result.stdout)
                .tasks.flatMap((t) => Object.entries(t.hosts)
                .filter(([, h]) => h.failed)
                .map(([host, h]) => `${t.name} @ ${host}: ${h.msg ?? JSON.stringify(h)}`))
                .join("\n");
            throw new Error(`ansible-playbook ${path.basename(file)} ${args.join(" ")} failed:\n${failed}\n${err.result.stderr}`);
        }
        throw err;
    }
}
//# sourceMappingURL=ansible-playbook.js.map
/**
 * Third-party tools the integration tests drive. scripts/setup.sh installs
 * them; a missing tool fails the test with a clear message (never a silent
 * skip), because a test that did not run proves nothing.
 */
import { execFile, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/platform/build-info.js";
/** Debian's python3 (with python3-libnbd); `python3` on PATH may be a pyenv without dist-packages. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
const EXTRA_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];
/** Where scripts/setup.sh unpacks tools that are not installed system-wide (promtool). */
export const LOCAL_TOOLS_DIR = path.join(PROJECT_ROOT, ".cache", "tools", "bin");
/** Debian's python3 with python3-libnbd (the pattern writer's NBD client), or a clear error. */
export async function requirePythonNbd() {
    requireTool(SYSTEM_PYTHON);
    await run(SYSTEM_PYTHON, ["-c", "import nbd"]).catch((err) => {
        throw new Error(`python3-libnbd is missing for ${SYSTEM_PYTHON} (run scripts/setup.sh): ${String(err)}`);
    });
}
/** Absolute path of a tool, or an error naming it and how to get it. */
export function requireTool(name) {
    const dirs = path.isAbsolute(name)
        ? [path.dirname(name)]
        : [...(process.env.PATH ?? "").split(path.delimiter), ...EXTRA_DIRS, LOCAL_TOOLS_DIR];
    name = path.basename(name);
    for (const dir of dirs) {
        if (!dir)
            continue;
        const candidate = path.join(dir, name);
        try {
            accessSync(candidate, constants.X_OK);
            return candidate;
        }
        catch {
            // keep looking
        }
    }
    throw new Error(`required tool "${name}" is not installed: run scripts/setup.sh (or scripts/test.sh)`);
}
export class RunError extends Error {
    result;
    constructor(message, result) {
        super(message);
        this.result = result;
    }
}
/** Runs a command to completion; rejects (with its output) on a non-zero exit or a timeout. */
export function run(command, args, options = {}) {
    return new Promise((resolve, reject) => {
        const child = execFile(command, args, {
            timeout: options.timeoutMs ?? 60_000,
            maxBuffer: 64 * 1024 * 1024,
            env: options.env ?? process.env,
            cwd: options.cwd,
            encoding: "utf8",
        }, (err, stdout, stderr) => {
            if (err) {
                const code = err.code ?? null;
                reject(new RunError(`${command} ${args.join(" ")} failed (${String(code)}): ${stderr || stdout}`, {
                    stdout,
                    stderr,
                    code,
                }));
            }
            else
                resolve({ stdout, stderr });
        });
        if (options.input !== undefined)
            child.stdin?.end(options.input);
    });
}
/** Starts a long-running command; the caller stops it. Output is collected for error messages. */
export function startProcess(command, args) {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d.toString()));
    child.stderr.on("data", (d) => (output += d.toString()));
    const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    return {
        child,
        exited,
        get output() {
            return output;
        },
        async stop(signal = "SIGTERM") {
            if (child.exitCode === null && child.signalCode === null)
                child.kill(signal);
            await exited;
        },
    };
}
//# sourceMappingURL=tools.js.map
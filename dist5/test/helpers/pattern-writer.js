/**
 * Runs test/helpers/nbd_pattern_writer.py (libnbd, a real NBD client)
 * against an export and collects what it reports: every acknowledged
 * (block, version), in the order the acknowledgements arrived.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { SYSTEM_PYTHON } from "./tools.js";
import { PATTERN_WRITER } from "./versioned-blocks.js";
export async function startPatternWriter(options) {
    await writeFile(options.stateFile, JSON.stringify(Object.fromEntries(options.initialState ?? new Map())));
    const args = [
        PATTERN_WRITER,
        options.uri,
        String(options.blocks),
        String(options.depth),
        String(options.seed),
        options.stateFile,
    ];
    args.push(String(options.maxWrites ?? 1 << 30));
    if (options.killPid !== undefined)
        args.push(String(options.killPid), String(options.killAtAck ?? 1));
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d.toString()));
    const writer = {
        acks: 0,
        acked: new Map(),
        // "close", not "exit": it comes once stdout is drained, so `acks` and `acked` are complete
        // (after "exit" the last acknowledgements may still be unread: 5,220 of 6,000 once).
        exited: new Promise((resolve) => child.once("close", (code) => resolve(code))),
        stderr: () => stderr,
        kill: () => child.kill("SIGTERM"),
    };
    createInterface({ input: child.stdout }).on("line", (line) => {
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (!m)
            return;
        writer.acks += 1;
        writer.acked.set(Number(m[1]), Number(m[2]));
    });
    return writer;
}
//# sourceMappingURL=pattern-writer.js.map
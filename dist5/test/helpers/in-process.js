/**
 * A real Daemon inside the test process (for supertest against its admin
 * app, and for storage fault injection through DaemonOptions.storage): its
 * own temp dirs, loopback listeners on free ports, and its structured log
 * captured so tests can look at what was logged.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { defaultConfig } from "../../src/daemon/config.js";
import { Daemon } from "../../src/daemon/daemon.js";
export async function startInProcess(options = {}, configure = () => undefined) {
    const baseDir = await mkdtemp(path.join(os.tmpdir(), "marsd-inproc-"));
    const config = defaultConfig({ dataDir: path.join(baseDir, "data"), runDir: path.join(baseDir, "run") });
    config.host = "alpha";
    config.adminListen = "127.0.0.1:0";
    config.peerListen = "127.0.0.1:0";
    config.shutdownGraceMs = 2_000;
    configure(config);
    const logs = [];
    const sink = new Writable({
        write(chunk, _encoding, done) {
            for (const line of chunk.toString().split("\n"))
                if (line)
                    logs.push(JSON.parse(line));
            done();
        },
    });
    const logger = pino({ level: "debug", base: { host: config.host } }, sink);
    const daemon = new Daemon(config, logger, options);
    await daemon.start();
    const token = (await readFile(config.tokenFile, "utf8")).trim();
    return {
        daemon,
        config,
        baseDir,
        token,
        logs,
        async cleanup() {
            await daemon.stop().catch(() => undefined);
            await rm(baseDir, { recursive: true, force: true });
        },
    };
}
//# sourceMappingURL=in-process.js.map
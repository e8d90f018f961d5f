import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT } from "../../../src/platform/build-info.js";
import { defaultConfig } from "../../../src/daemon/config.js";
import { ConfigError, loadConfig } from "../../../src/daemon/config-loader.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
describe("daemon configuration", () => {
    let tmp;
    let n = 0;
    before(async () => (tmp = await makeTempDir()));
    after(() => tmp.remove());
    async function configFile(content) {
        const file = tmp.join(`marsd-${++n}.json`);
        await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
        return file;
    }
    it("uses safe defaults: admin API on loopback, everything under the data and run dirs", async () => {
        const config = await loadConfig(nodeStorage, undefined, {});
        assert.deepEqual(config, defaultConfig());
        assert.match(config.adminListen, /^127\.0\.0\.1:/);
        assert.equal(config.dataDir, "/var/lib/marsd");
        assert.equal(config.tokenFile, "/var/lib/marsd/admin.token");
        assert.equal(config.nbd.socket, "/run/marsd/nbd.sock");
    });
    it("layers defaults, then the file, then flags; dependent paths follow the dirs", async () => {
        const file = await configFile({
            dataDir: "/srv/marsd",
            host: "from-file",
            log: { rotateBytes: 8 * 1024 * 1024 },
            nbd: { maxConnections: 10 },
        });
        const config = await loadConfig(nodeStorage, file, {
            host: "from-flag",
            runDir: "/tmp/run-x",
            nbd: { tcpListen: "0.0.0.0:10809" },
        });
        assert.equal(config.host, "from-flag");
        assert.equal(config.dataDir, "/srv/marsd");
        assert.equal(config.tokenFile, "/srv/marsd/admin.token");
        assert.equal(config.nbd.socket, "/tmp/run-x/nbd.sock");
        assert.equal(config.nbd.maxConnections, 10);
        assert.equal(config.nbd.tcpListen, "0.0.0.0:10809");
        assert.equal(config.log.rotateBytes, 8 * 1024 * 1024);
        assert.equal(config.log.maxBatchBytes, defaultConfig().log.maxBatchBytes, "unset keys keep defaults");
    });
    it("resolves relative paths and ignores flags that were not given", async () => {
        const config = await loadConfig(nodeStorage, undefined, {
            dataDir: "rel/data",
            host: undefined,
            nbd: { socket: undefined },
        });
        assert.equal(config.dataDir, path.resolve("rel/data"));
        assert.equal(config.host, defaultConfig().host);
    });
    it("rejects invalid values and unknown keys, naming them", async () => {
        const cases = [
            [{ host: "Bad_Host" }, /\/host must match pattern/],
            [{ adminListen: "localhost" }, /\/adminListen must match pattern/],
            [{ log: { rotateBytes: 10 } }, /\/log\/rotateBytes must be >= 1048576/],
            [{ log: { maxBatchesInFlight: 0 } }, /\/log\/maxBatchesInFlight must be >= 1/],
            [{ log: { rotatebytes: 1 << 30 } }, /\/log must NOT have additional properties \(rotatebytes\)/],
            [{ nbd: { maxInFlightPerConnection: 1.5 } }, /\/nbd\/maxInFlightPerConnection must be integer/],
            // One 32 MiB request must fit a connection's budget, or it could stall.
            [
                { nbd: { maxBufferedBytesPerConnection: 32 * 1024 * 1024 } },
                /\/nbd\/maxBufferedBytesPerConnection must be >= 34603008/,
            ],
            [
                { nbd: { maxBufferedBytesTotal: 1e8, maxBufferedBytesPerConnection: 2e8 } },
                /nbd.maxBufferedBytesTotal must be at least/,
            ],
            [{ nbd: { handshakeTimeoutMs: 0 } }, /\/nbd\/handshakeTimeoutMs must be >= 100/],
            [{ nbd: { maxHandshakes: 0 } }, /\/nbd\/maxHandshakes must be >= 1/],
            [{ nbd: { replyStallTimeoutMs: 10 } }, /\/nbd\/replyStallTimeoutMs must be >= 100/],
            [{ logLevel: "verbose" }, /\/logLevel must be equal to one of the allowed values/],
            [{ typo: true }, /\/ must NOT have additional properties \(typo\)/],
            [{ jobs: { logRotate: "61 * * * *" } }, /jobs.logRotate "61 \* \* \* \*" is not a cron expression/],
            [{ jobs: { logDelete: "0 0 31 2 *" } }, /jobs.logDelete "0 0 31 2 \*" is not a cron expression/],
            [{ jobs: { logDelete: "* * * *" } }, /jobs.logDelete "\* \* \* \*" is not a cron expression/],
        ];
        for (const [content, message] of cases) {
            const file = await configFile(content);
            await assert.rejects(loadConfig(nodeStorage, file, {}), (err) => {
                assert.ok(err instanceof ConfigError);
                assert.match(err.message, message);
                return true;
            });
        }
    });
    it("accepts cron schedules and an empty one (disabled)", async () => {
        const jobs = { logRotate: "@hourly", logDelete: "" };
        const config = await loadConfig(nodeStorage, await configFile({ jobs }), {});
        assert.deepEqual(config.jobs, jobs);
    });
    it("accepts the sample configuration shipped with the systemd unit", async () => {
        const config = await loadConfig(nodeStorage, path.join(PROJECT_ROOT, "systemd", "marsd.json"), {});
        assert.equal(config.adminListen, "127.0.0.1:7780");
        assert.equal(config.dataDir, "/var/lib/marsd");
    });
    it("rejects a config file that is missing, not JSON, or not an object", async () => {
        await assert.rejects(loadConfig(nodeStorage, tmp.join("missing.json"), {}), /cannot read config file .*ENOENT/);
        await assert.rejects(loadConfig(nodeStorage, await configFile("{ nope"), {}), /cannot read config file/);
        await assert.rejects(loadConfig(nodeStorage, await configFile("[1,2]"), {}), /must hold a JSON object/);
        await assert.rejects(loadConfig(nodeStorage, await configFile("null"), {}), /must hold a JSON object/);
    });
    it("validates logSpace: thresholds must not grow from warning to cut to emergency", async () => {
        const config = await loadConfig(nodeStorage, undefined, {});
        assert.deepEqual(config.logSpace.warning, { freeBytes: 0, freePercent: 20 });
        const ok = await loadConfig(nodeStorage, await configFile({ logSpace: { emergency: { freeBytes: 1073741824 }, sampleIntervalMs: 1000 } }), {});
        assert.deepEqual(ok.logSpace.emergency, { freeBytes: 1073741824, freePercent: 5 });
        assert.equal(ok.logSpace.sampleIntervalMs, 1000);
        await assert.rejects(loadConfig(nodeStorage, await configFile({ logSpace: { cut: { freePercent: 30 } } }), {}), (err) => err instanceof ConfigError && /logSpace thresholds/.test(err.message));
        await assert.rejects(loadConfig(nodeStorage, await configFile({ logSpace: { warning: { freePercent: 120 } } }), {}), (err) => err instanceof ConfigError && /logSpace\/warning\/freePercent/.test(err.message));
    });
});
//# sourceMappingURL=config.test.js.map
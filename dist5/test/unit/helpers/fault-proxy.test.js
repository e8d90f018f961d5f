/**
 * The fault proxy's random decisions replay from its seed: the same seed
 * resets the same round trips of a sequential exchange; jitter delays
 * chunks but never reorders or alters the byte stream.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { FaultProxy } from "../../helpers/fault-proxy.js";
import { testSeed } from "../../helpers/test-cluster.js";
const SEED = testSeed();
describe(`fault proxy (seed ${SEED}, MARSD_TEST_SEED replays)`, () => {
    let echo;
    let echoPort = 0;
    before(async () => {
        echo = net.createServer((socket) => {
            socket.on("error", () => undefined);
            socket.pipe(socket);
        });
        await new Promise((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
        echoPort = echo.address().port;
    });
    after(() => new Promise((resolve) => echo.close(() => resolve())));
    /** One connection, one small message: true if it came back, false if the proxy reset the link. */
    function roundTrip(port, message) {
        return new Promise((resolve) => {
            const socket = net.connect(port, "127.0.0.1", () => socket.write(message));
            let received = "";
            socket.on("data", (chunk) => {
                received += chunk.toString();
                if (received === message) {
                    socket.end();
                    resolve(true);
                }
            });
            socket.on("error", () => resolve(false));
            socket.on("close", () => resolve(received === message));
        });
    }
    async function resets(seed) {
        const proxy = await FaultProxy.start(`127.0.0.1:${echoPort}`, { resetProbability: 0.3 }, { seed });
        try {
            const outcomes = [];
            for (let i = 0; i < 30; i++)
                outcomes.push(await roundTrip(proxy.port, `message ${i}`));
            return outcomes;
        }
        finally {
            await proxy.close();
        }
    }
    it("resets the same round trips for the same seed", async () => {
        const first = await resets(SEED);
        assert.deepEqual(await resets(SEED), first);
        assert.ok(first.includes(true) && first.includes(false), JSON.stringify(first));
    });
    it("jitter delays chunks without reordering them", async () => {
        const proxy = await FaultProxy.start(`127.0.0.1:${echoPort}`, { jitterMs: 5 }, { seed: SEED });
        try {
            const sent = Array.from({ length: 40 }, (_, i) => `chunk-${i};`).join("");
            const socket = net.connect(proxy.port, "127.0.0.1");
            let received = "";
            const done = new Promise((resolve, reject) => {
                socket.on("data", (chunk) => {
                    received += chunk.toString();
                    if (received.length >= sent.length)
                        resolve();
                });
                socket.on("error", reject);
            });
            for (let i = 0; i < 40; i++)
                socket.write(`chunk-${i};`);
            await done;
            socket.destroy();
            assert.equal(received, sent);
        }
        finally {
            await proxy.close();
        }
    });
});
//# sourceMappingURL=fault-proxy.test.js.map
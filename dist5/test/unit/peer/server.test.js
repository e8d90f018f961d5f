import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { PeerCallError, PeerClient } from "../../../src/peer/client.js";
import { PeerError, PeerServer } from "../../../src/peer/server.js";
import { systemClock } from "../../../src/platform/clock.js";
import { systemRandom } from "../../../src/platform/random.js";
import { NodeTransport } from "../../../src/platform/node-transport.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
const credentials = { clusterId: "cluster-1", secret: "s".repeat(40) };
/** The peer layer above a transport: what it decides, whatever carries the bytes. */
describe("peer server and client over a transport", { timeout: 10_000 }, () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let server;
    let address = "";
    const client = (host = "bravo") => new PeerClient({
        host,
        clock: new LamportClock({ wall: systemClock }),
        time: systemClock,
        random: systemRandom,
        metrics,
        transport: new NodeTransport({ maxSocketsPerAddress: 2 }),
        timeoutMs: 5_000,
        maxResponseBytes: 1024 * 1024,
    });
    before(async () => {
        server = new PeerServer({
            listen: { host: "127.0.0.1", port: 0 },
            transport: new NodeTransport({ maxSocketsPerAddress: 2 }),
            auth: {
                clusterId: () => credentials.clusterId,
                secret: () => credentials.secret,
                isRemoved: () => false,
            },
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            storage: nodeStorage,
            metrics,
            logger: pino({ level: "silent" }),
            timeWindowMs: 60_000,
            maxRequestBodyBytes: 64 * 1024,
            maxControlBodyBytes: 1024,
            maxUnauthenticatedRequests: 4,
            maxUnauthenticatedBytes: 1024 * 1024,
            replayLeaseMs: 1_000,
        });
        server.route("POST /peer/v1/echo", (req) => ({ from: req.host, body: req.body.toString("utf8") }));
        server.route("POST /peer/v1/teapot", () => {
            throw new PeerError(418, "bad-request", "short and stout");
        });
        server.routeStream("POST /peer/v1/count", async (req, res) => {
            res.startStream(200, {});
            for (let i = 0; i < Number(req.query.get("to")); i++)
                await res.write([Buffer.from(`${i};`)]);
            await res.end();
        });
        await server.start();
        address = `127.0.0.1:${server.port}`;
    });
    after(() => server.close());
    it("answers a signed JSON request with a signed answer", async () => {
        const c = client();
        try {
            const answer = await c.call(credentials, address, "POST", "/peer/v1/echo", {
                hi: 1,
            });
            assert.deepEqual(answer.body, { from: "bravo", body: '{"hi":1}' });
            assert.ok(answer.peerTimeMs > 0);
        }
        finally {
            c.close();
        }
    });
    it("carries a route's typed refusal to the caller", async () => {
        const c = client();
        try {
            await assert.rejects(c.call(credentials, address, "POST", "/peer/v1/teapot", {}), {
                status: 418,
                code: "bad-request",
                kind: "PEER_CALL_FAILED",
                message: "short and stout",
            });
        }
        finally {
            c.close();
        }
    });
    it("refuses a wrong secret and a body above the route's cap, before a route runs", async () => {
        const c = client();
        try {
            await assert.rejects(c.call({ ...credentials, secret: "x".repeat(40) }, address, "POST", "/peer/v1/echo", {}), (err) => err instanceof PeerCallError && err.status === 401 && err.code === "signature");
            await assert.rejects(c.call(credentials, address, "POST", "/peer/v1/echo", { pad: "p".repeat(2048) }), (err) => err instanceof PeerCallError && err.status === 413 && err.code === "too-large");
            // The refusals closed their connections; the next request still gets through.
            const ok = await c.call(credentials, address, "POST", "/peer/v1/echo", {});
            assert.equal(ok.body.from, "bravo");
        }
        finally {
            c.close();
        }
    });
    it("streams a stream route's body", async () => {
        const c = client();
        try {
            const { response } = await c.open(credentials, address, "POST", "/peer/v1/count?to=100");
            assert.equal(response.status, 200);
            const text = (await response.body.readAll(4096)).toString();
            assert.equal(text, Array.from({ length: 100 }, (_, i) => `${i};`).join(""));
        }
        finally {
            c.close();
        }
    });
});
//# sourceMappingURL=server.test.js.map
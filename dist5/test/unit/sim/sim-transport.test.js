/**
 * SimTransport: the shared Transport contract (on real time, as those
 * tests wait in real time), then the simulated network's faults on a
 * SimClock: latency and jitter without reordering, bandwidth, one-way
 * partitions, resets, slow readers, maxConnections, listener close, and
 * the same outcomes from the same seed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { systemClock } from "../../../src/platform/clock.js";
import { TransportError } from "../../../src/platform/transport.js";
import { simSeed } from "../../sim/seed.js";
import { SimClock } from "../../sim/sim-clock.js";
import { HEAD_BYTES, SimNetwork } from "../../sim/sim-network.js";
import { SimTransport } from "../../sim/sim-transport.js";
import { transportContract } from "../platform/transport-contract.js";
const SEED = simSeed();
transportContract(`SimTransport on systemClock, no faults (seed ${SEED})`, () => {
    const network = new SimNetwork({ time: systemClock, seed: SEED });
    return {
        server: new SimTransport(network, "server"),
        client: new SimTransport(network, "client"),
        listenHost: "server",
        addressOf: (port) => `server:${port}`,
    };
});
transportContract(`SimTransport on systemClock, latency, jitter, bandwidth, split chunks (seed ${SEED})`, () => {
    const network = new SimNetwork({ time: systemClock, seed: SEED });
    network.setLinks("client", "server", {
        latencyMs: 1,
        jitterMs: 3,
        bytesPerSecond: 2_000_000_000,
        maxSegmentBytes: 32 * 1024,
    });
    return {
        server: new SimTransport(network, "server"),
        client: new SimTransport(network, "client"),
        listenHost: "server",
        addressOf: (port) => `server:${port}`,
    };
});
/** Runs the clock until `promise` settles; says how and at what virtual time. */
async function settle(clock, promise, maxMs = 60_000) {
    let outcome;
    promise.then((value) => (outcome = { ok: true, value, atMs: clock.monotonicMs() }), (error) => (outcome = { ok: false, error, atMs: clock.monotonicMs() }));
    await clock.runUntil(() => outcome !== undefined, maxMs);
    return outcome;
}
function world(seed, connectionBufferBytes) {
    const clock = new SimClock();
    const network = new SimNetwork({
        time: clock,
        seed,
        ...(connectionBufferBytes ? { connectionBufferBytes } : {}),
    });
    const nodes = new Map();
    const node = (name) => {
        let t = nodes.get(name);
        if (!t)
            nodes.set(name, (t = new SimTransport(network, name)));
        return t;
    };
    return {
        clock,
        network,
        node,
        serve: (name, onRequest, extra = {}) => node(name).listen({
            host: name,
            port: 0,
            onRequest,
            onMalformed: () => ({ status: 400, headers: {}, body: Buffer.alloc(0) }),
            ...extra,
        }),
        send: (from, to, port, target, timeoutMs = 5_000) => node(from).request({
            address: `${to}:${port}`,
            method: "POST",
            target,
            headers: {},
            body: Buffer.from(target),
            timeoutMs,
        }),
    };
}
/** Virtual times are sums of fractional transmission times. */
function assertNear(actualMs, expectedMs) {
    assert.ok(Math.abs(actualMs - expectedMs) < 1e-6, `${actualMs} ms, expected ${expectedMs} ms`);
}
const isTransportError = (code) => (err) => err instanceof TransportError && err.code === code;
describe(`SimTransport on a SimClock (seed ${SEED})`, () => {
    it("delays each direction by its own latency", async () => {
        const w = world(SEED);
        w.network.setLink("a", "b", { latencyMs: 30 });
        w.network.setLink("b", "a", { latencyMs: 20 });
        const l = await w.serve("b", (req, res) => void res.sendWhole(200, { "X-Seen": req.target }, Buffer.from("ok")));
        const answer = await settle(w.clock, w.send("a", "b", l.port, "/hello"));
        assert.ok(answer.ok);
        assert.equal(answer.atMs, 50);
        assert.equal(answer.value.headers["x-seen"], "/hello");
        assert.equal((await answer.value.body.readAll(10)).toString(), "ok");
    });
    it(`jitter never reorders one exchange's chunks (seed ${SEED})`, async () => {
        const w = world(SEED);
        w.network.setLink("b", "a", { latencyMs: 5, jitterMs: 50 });
        const l = await w.serve("b", async (_req, res) => {
            res.startStream(200, {});
            for (let i = 0; i < 200; i++)
                await res.write([Buffer.from([i])]);
            await res.end();
        });
        const response = await settle(w.clock, w.send("a", "b", l.port, "/stream"));
        assert.ok(response.ok);
        const all = await settle(w.clock, response.value.body.readAll(1000));
        assert.ok(all.ok);
        assert.deepEqual([...all.value], Array.from({ length: 200 }, (_, i) => i));
    });
    it(`cuts written chunks at seeded places, in order (seed ${SEED})`, async () => {
        const w = world(SEED);
        w.network.setLink("b", "a", { maxSegmentBytes: 7 });
        const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
        const lb = await w.serve("b", async (_req, res) => {
            res.startStream(200, {});
            await res.write([payload.subarray(0, 600), payload.subarray(600)]);
            await res.end();
        });
        const response = await settle(w.clock, w.send("a", "b", lb.port, "/x"));
        assert.ok(response.ok);
        const sizes = [];
        const parts = [];
        const consume = async () => {
            for await (const data of response.value.body) {
                sizes.push(data.length);
                parts.push(data);
            }
        };
        assert.ok((await settle(w.clock, consume())).ok);
        assert.deepEqual(Buffer.concat(parts), payload);
        assert.ok(sizes.length > 1000 / 7 && sizes.every((n) => n >= 1 && n <= 7), `sizes ${sizes.join(",")}`);
    });
    it("sends no faster than the link's bandwidth, shared by its connections", async () => {
        const w = world(SEED);
        w.network.setLink("b", "a", { bytesPerSecond: 1_000_000 });
        const l = await w.serve("b", (_req, res) => void res.sendWhole(200, {}, Buffer.alloc(500_000)));
        const one = await settle(w.clock, w.send("a", "b", l.port, "/x").then((r) => r.body.readAll(1e6)));
        assert.ok(one.ok);
        assert.equal(one.value.length, 500_000);
        assertNear(one.atMs, ((HEAD_BYTES + 500_000) * 1000) / 1_000_000);
        const start = w.clock.monotonicMs();
        const both = await settle(w.clock, Promise.all([1, 2].map(() => w.send("a", "b", l.port, "/x").then((r) => r.body.readAll(1e6)))));
        assert.ok(both.ok);
        assertNear(both.atMs - start, (2 * (HEAD_BYTES + 500_000) * 1000) / 1_000_000);
    });
    it("a one-way partition times a's requests out at timeoutMs; b still reaches a; a heal restores it", async () => {
        const w = world(SEED);
        const handler = (_req, res) => void res.sendWhole(200, {}, Buffer.from("hi"));
        const la = await w.serve("a", handler);
        const lb = await w.serve("b", handler);
        w.network.partition("a", "b");
        const blocked = await settle(w.clock, w.send("a", "b", lb.port, "/x", 1_500));
        assert.ok(!blocked.ok);
        assert.ok(isTransportError("timeout")(blocked.error), String(blocked.error));
        assert.equal(blocked.atMs, 1_500);
        const other = await settle(w.clock, w.send("b", "a", la.port, "/x", 1_500));
        assert.ok(other.ok);
        assert.equal(other.value.status, 200);
        w.network.heal("a", "b");
        const healed = await settle(w.clock, w.send("a", "b", lb.port, "/x", 1_500));
        assert.ok(healed.ok);
    });
    it("a request held by a partition goes through if the link heals before its timeout", async () => {
        const w = world(SEED);
        const lb = await w.serve("b", (_req, res) => void res.sendWhole(200, {}, Buffer.alloc(0)));
        w.network.partition("a", "b");
        w.clock.setTimer(450, () => w.network.heal("a", "b"));
        const answer = await settle(w.clock, w.send("a", "b", lb.port, "/x", 5_000));
        assert.ok(answer.ok);
        assert.equal(answer.atMs, 600); // the retransmission after the heal (every 200 ms)
    });
    it("a reset fails the requester and ends the listener's side", async () => {
        const w = world(SEED);
        let writerSignal;
        const lb = await w.serve("b", (_req, res) => {
            writerSignal = res.signal;
            res.startStream(200, {});
            void res.write([Buffer.from("a")]).catch(() => undefined);
        });
        w.network.setLink("b", "a", { resetProbability: 1 });
        const answer = await settle(w.clock, w.send("a", "b", lb.port, "/x"));
        assert.ok(!answer.ok);
        assert.ok(isTransportError("reset")(answer.error), String(answer.error));
        assert.equal(writerSignal?.aborted, true);
        w.network.setLink("a", "b", { resetProbability: 1 });
        w.network.setLink("b", "a", { resetProbability: 0 });
        writerSignal = undefined;
        const lost = await settle(w.clock, w.send("a", "b", lb.port, "/y"));
        assert.ok(!lost.ok && isTransportError("reset")(lost.error));
        assert.equal(writerSignal, undefined, "the request never reached the listener");
    });
    it("a slow reader holds the writer to the connection's buffer", async () => {
        const bufferBytes = 64 * 1024;
        const w = world(SEED, bufferBytes);
        w.network.setLink("b", "a", { readerDelayMs: 10 });
        const chunk = Buffer.alloc(16 * 1024, 1);
        let maxAhead = 0;
        let read = 0;
        const lb = await w.serve("b", async (_req, res) => {
            res.startStream(200, {});
            for (let i = 0; i < 64; i++) {
                await res.write([chunk]);
                maxAhead = Math.max(maxAhead, (i + 1) * chunk.length - read);
            }
            await res.end();
        });
        const response = await settle(w.clock, w.send("a", "b", lb.port, "/x"));
        assert.ok(response.ok);
        const consume = async () => {
            for await (const data of response.value.body)
                read += data.length;
        };
        const done = await settle(w.clock, consume());
        assert.ok(done.ok);
        assert.equal(read, 64 * chunk.length);
        assert.equal(done.atMs, 64 * 10);
        assert.ok(maxAhead <= bufferBytes, `writer ran ${maxAhead} bytes ahead`);
    });
    it("refuses a connection beyond maxConnections, counts connections, and refuses an unknown address", async () => {
        const w = world(SEED);
        const counts = [];
        const lb = await w.serve("b", () => undefined, {
            maxConnections: 1,
            onConnectionsChanged: (n) => counts.push(n),
        });
        const first = w.send("a", "b", lb.port, "/held", 1_000);
        const second = await settle(w.clock, w.send("a", "b", lb.port, "/more", 1_000));
        assert.ok(!second.ok && isTransportError("reset")(second.error));
        const firstOutcome = await settle(w.clock, first);
        assert.ok(!firstOutcome.ok && isTransportError("timeout")(firstOutcome.error));
        await w.clock.runUntilIdle();
        assert.deepEqual(counts, [1, 0]);
        const refused = await settle(w.clock, w.send("a", "nobody", 1, "/x"));
        assert.ok(!refused.ok);
        assert.equal(refused.error.code, "ECONNREFUSED");
    });
    it("timeoutMs bounds a streamed body's silence, and closeOutgoing resets what is in flight", async () => {
        const w = world(SEED);
        const writers = [];
        const lb = await w.serve("b", (_req, res) => {
            writers.push(res.signal);
            res.startStream(200, {});
            void res.write([Buffer.from("first")]);
        });
        const response = await settle(w.clock, w.send("a", "b", lb.port, "/quiet", 700));
        assert.ok(response.ok);
        const startMs = w.clock.monotonicMs();
        const read = await settle(w.clock, response.value.body.readAll(100));
        assert.ok(!read.ok && isTransportError("timeout")(read.error), String(!read.ok && read.error));
        assert.equal(read.atMs - startMs, 700);
        assert.equal(writers[0]?.aborted, true);
        const streaming = await settle(w.clock, w.send("a", "b", lb.port, "/held", 60_000));
        assert.ok(streaming.ok);
        w.node("a").closeOutgoing();
        const outcome = await settle(w.clock, streaming.value.body.readAll(100));
        assert.ok(!outcome.ok && isTransportError("reset")(outcome.error));
        assert.equal(writers[1]?.aborted, true);
    });
    it("closing a listener resets its exchanges after the grace", async () => {
        const w = world(SEED);
        const lb = await w.serve("b", () => undefined);
        const held = w.send("a", "b", lb.port, "/held", 60_000);
        await w.clock.advance(5);
        const closed = lb.close();
        const outcome = await settle(w.clock, held);
        assert.ok(!outcome.ok && isTransportError("reset")(outcome.error));
        assert.equal(outcome.atMs, 1_005);
        assert.ok((await settle(w.clock, closed)).ok);
    });
    it(`the same seed gives the same outcomes (seed ${SEED})`, async () => {
        const run = async () => {
            const w = world(SEED);
            w.network.setLinks("a", "b", { latencyMs: 3, jitterMs: 20, resetProbability: 0.05 });
            w.network.setLink("b", "a", { bytesPerSecond: 5_000_000 });
            const lb = await w.serve("b", async (_req, res) => {
                res.startStream(200, {});
                for (let i = 0; i < 5; i++)
                    await res.write([Buffer.alloc(1000 * (i + 1))]);
                await res.end();
            });
            const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => settle(w.clock, w.send("a", "b", lb.port, `/r${i}`).then((r) => r.body.readAll(1e6))).then((o) => o.ok ? `${o.atMs} ok ${o.value.length}` : `${o.atMs} ${o.error.code}`)));
            return outcomes;
        };
        const first = await run();
        assert.deepEqual(await run(), first);
        assert.ok(first.some((o) => o.includes(" ok ")), "some exchange succeeded");
        assert.ok(first.some((o) => o.endsWith("reset")), "some exchange was reset");
    });
});
//# sourceMappingURL=sim-transport.test.js.map
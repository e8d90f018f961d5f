/**
 * The behaviour every Transport promises (src/platform/transport.ts), as
 * tests that run against any implementation: NodeTransport now, the
 * simulator's transport when it lands (call `transportContract` with it).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TransportError } from "../../../src/platform/transport.js";
import { waitFor } from "../../helpers/daemon-process.js";
const MIB = 1024 * 1024;
/** Far more than any connection buffers (socket buffers are a few MiB). */
const BIG_STREAM_BYTES = 64 * MIB;
export function transportContract(name, subject) {
    describe(`transport contract: ${name}`, { timeout: 30_000 }, () => {
        let s;
        let listener;
        let address = "";
        const handlers = new Map();
        /** Every response writer the listener handed out, to check they all end. */
        const writers = [];
        before(async () => {
            s = subject();
            listener = await s.server.listen({
                host: s.listenHost,
                port: 0,
                onRequest: (req, res) => {
                    writers.push(res);
                    const handler = handlers.get(req.target.split("?")[0] ?? "");
                    if (!handler)
                        void res.sendWhole(404, {}, Buffer.from("no route"));
                    else
                        void handler(req, res);
                },
                onMalformed: () => ({ status: 400, headers: {}, body: Buffer.from("malformed") }),
            });
            address = s.addressOf(listener.port);
        });
        after(async () => {
            s.client.closeOutgoing();
            await listener.close();
        });
        const send = (target, body = Buffer.alloc(0), signal, timeoutMs = 10_000) => s.client.request({
            address,
            method: "POST",
            target,
            headers: { "x-test": "yes" },
            body,
            timeoutMs,
            ...(signal ? { signal } : {}),
        });
        it("carries a whole request and a whole answer, with lower-case headers and the body's length", async () => {
            handlers.set("/echo", async (req, res) => {
                const body = await req.body.readAll(1024);
                await res.sendWhole(201, { "x-method": req.method, "x-length": req.headers["content-length"] ?? "" }, body);
            });
            const response = await send("/echo?q=1", Buffer.from("hello"));
            assert.equal(response.status, 201);
            assert.equal(response.headers["x-method"], "POST");
            assert.equal(response.headers["x-length"], "5");
            assert.equal((await response.body.readAll(1024)).toString(), "hello");
        });
        it("refuses a whole body above the reader's cap", async () => {
            handlers.set("/big", (_req, res) => res.sendWhole(200, {}, Buffer.alloc(4096, 1)));
            const response = await send("/big");
            await assert.rejects(response.body.readAll(1000), (err) => err instanceof TransportError && err.code === "too-large");
        });
        it("holds a stream's writer while its reader does not read, and delivers every byte once it does", async () => {
            let handedBytes = 0;
            let waiting = false;
            let finished = false;
            handlers.set("/flood", async (_req, res) => {
                res.startStream(200, {});
                const chunk = Buffer.alloc(64 * 1024, 7);
                while (handedBytes < BIG_STREAM_BYTES) {
                    waiting = true;
                    await res.write([chunk]);
                    waiting = false;
                    handedBytes += chunk.length;
                }
                await res.end();
                finished = true;
            });
            const response = await send("/flood");
            await waitFor("the writer waits on an unread stream", () => waiting && handedBytes > 0);
            assert.ok(handedBytes < BIG_STREAM_BYTES, `${handedBytes} bytes handed with nothing read`);
            assert.equal(finished, false);
            let received = 0;
            for await (const data of response.body)
                received += data.length;
            assert.equal(received, BIG_STREAM_BYTES);
            await waitFor("the writer's end() resolved", () => finished);
        });
        it("aborts a request whose answer's head has not come, and the listener's side sees the exchange end", async () => {
            let held;
            handlers.set("/held", (_req, res) => {
                held = res;
            });
            const controller = new AbortController();
            const pending = send("/held", undefined, controller.signal);
            await waitFor("the request arrived", () => held !== undefined);
            controller.abort();
            await assert.rejects(pending, { name: "AbortError" });
            await waitFor("the listener's side of the exchange is over", () => held?.signal.aborted === true);
            await assert.rejects(held.write([Buffer.from("late")]));
        });
        it("aborts a streamed body that would never end: iteration throws", async () => {
            handlers.set("/endless", async (_req, res) => {
                res.startStream(200, {});
                while (!res.signal.aborted)
                    await res.write([Buffer.from("heartbeat")]).catch(() => undefined);
            });
            const controller = new AbortController();
            const response = await send("/endless", undefined, controller.signal);
            let chunks = 0;
            await assert.rejects(async () => {
                for await (const data of response.body) {
                    void data;
                    if (++chunks === 3)
                        controller.abort();
                }
            });
        });
        it("refuses at once with a signal aborted before the call", async () => {
            await assert.rejects(send("/echo", undefined, AbortSignal.abort()), { name: "AbortError" });
        });
        it("fails a request whose answer does not come within timeoutMs", async () => {
            handlers.set("/silent", () => undefined);
            await assert.rejects(send("/silent", undefined, undefined, 200), (err) => err instanceof TransportError && err.code === "timeout");
        });
        it("a stream cut by the listener's side fails at the reader, it does not end", async () => {
            handlers.set("/cut", async (_req, res) => {
                res.startStream(200, {});
                await res.write([Buffer.from("part")]);
                res.abort();
            });
            const response = await send("/cut");
            await assert.rejects(async () => {
                for await (const data of response.body)
                    void data;
            });
        });
        it("ends every listener-side exchange it handed out", async () => {
            await waitFor("every exchange is over", () => writers.every((w) => w.signal.aborted));
        });
    });
}
//# sourceMappingURL=transport-contract.js.map
/**
 * The platform's listeners on real sockets: the admin HTTP listener
 * (connection count, maxConnections, unparseable requests answered by the
 * admin app's answerClientError, close with a grace period) and the NBD
 * byte-stream listeners (Unix socket replacing a stale file with its mode,
 * TCP on a free port, close waiting for accepted connections).
 */
import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { listenHttp } from "../../../src/platform/http-listener.js";
import { listenTcp, listenUnix } from "../../../src/platform/socket-listener.js";
import { answerClientError } from "../../../src/rpc/admin-app.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { makeTempDir } from "../../helpers/temp-dir.js";
/** Connects, and collects everything the other side sends until it closes. */
function connect(options) {
    const socket = net.connect(options);
    const received = new Promise((resolve) => {
        let text = "";
        socket.on("data", (chunk) => (text += chunk.toString("latin1")));
        socket.on("error", () => undefined);
        socket.on("close", () => resolve(text));
    });
    return { socket, received };
}
describe("listenHttp", () => {
    const counts = [];
    let listener;
    before(async () => {
        listener = await listenHttp((_request, response) => response.end("ok"), {
            host: "127.0.0.1",
            port: 0,
            maxConnections: 2,
            keepAliveTimeoutMs: 5_000,
            onClientError: answerClientError(pino({ level: "silent" })),
            onConnectionCount: (open) => counts.push(open),
        });
    });
    after(() => listener.close(0));
    it("answers on the bound port and counts connections up and down", async () => {
        const { socket, received } = connect({ host: "127.0.0.1", port: listener.port });
        socket.end("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert.match(await received, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
        await waitFor("the connection counted closed", () => counts.at(-1) === 0);
        assert.deepEqual(counts.slice(-2), [1, 0]);
    });
    it("answers an unparseable request through onClientError (400 with a JSON-RPC error)", async () => {
        const { socket, received } = connect({ host: "127.0.0.1", port: listener.port });
        socket.write("NOT HTTP AT ALL\r\n\r\n");
        const text = await received;
        assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
        assert.match(text, /"code":-32600/);
    });
    it("closes connections beyond maxConnections at once", async () => {
        const held = [0, 1].map(() => connect({ host: "127.0.0.1", port: listener.port }));
        await waitFor("two connections open", () => counts.at(-1) === 2);
        const third = connect({ host: "127.0.0.1", port: listener.port });
        assert.equal(await third.received, "", "the third connection is closed without an answer");
        assert.ok(Math.max(...counts) <= 2, `counts ${counts.join(",")}`);
        for (const { socket } of held)
            socket.destroy();
        await waitFor("the held connections counted closed", () => counts.at(-1) === 0);
    });
    it("close(graceMs) closes idle connections at once and busy ones after the grace", async () => {
        let busyArrived = false;
        const other = await listenHttp((request, response) => {
            if (request.url === "/hang")
                busyArrived = true; // never answered
            else
                response.end("ok");
        }, {
            host: "127.0.0.1",
            port: 0,
            maxConnections: 4,
            keepAliveTimeoutMs: 5_000,
            onClientError: (_err, socket) => socket.destroy(),
            onConnectionCount: () => undefined,
        });
        const idle = connect({ host: "127.0.0.1", port: other.port });
        let answered = "";
        idle.socket.on("data", (chunk) => (answered += chunk.toString("latin1")));
        idle.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); // kept alive after its answer
        const busy = connect({ host: "127.0.0.1", port: other.port });
        busy.socket.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
        await waitFor("one answered, one in flight", () => answered.endsWith("ok") && busyArrived);
        const graceMs = 300;
        const startMs = performance.now();
        const closedAtMs = (received) => received.then(() => performance.now() - startMs);
        const [idleMs, busyMs] = await Promise.all([
            closedAtMs(idle.received),
            closedAtMs(busy.received),
            other.close(graceMs),
        ]);
        assert.ok(idleMs < graceMs / 2, `the idle connection closed after ${idleMs} ms`);
        assert.ok(busyMs >= graceMs - 50, `the busy connection closed after ${busyMs} ms`);
    });
});
describe("socket listeners", () => {
    let dir;
    before(async () => (dir = await makeTempDir("marsd-listen-")));
    after(() => dir.remove());
    it("a Unix socket replaces a stale file, has its mode, hands over connections, and goes away on close", async () => {
        const socketPath = dir.join("nbd.sock");
        await writeFile(socketPath, "left by an earlier process");
        const accepted = [];
        const listener = await listenUnix(socketPath, 0o660, (socket) => accepted.push(socket));
        assert.equal((await stat(socketPath)).mode & 0o777, 0o660);
        assert.ok((await stat(socketPath)).isSocket());
        assert.equal(listener.port, 0);
        const client = connect({ path: socketPath });
        client.socket.write("hello");
        await waitFor("the connection handed over", () => accepted.length === 1);
        let closed = false;
        const closing = listener.close().then(() => (closed = true));
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(closed, false, "close waits for the accepted connection");
        accepted[0]?.destroy();
        await closing;
        await assert.rejects(stat(socketPath), { code: "ENOENT" });
    });
    it("TCP port 0 binds a free port and hands over connections", async () => {
        const accepted = [];
        const listener = await listenTcp("127.0.0.1", 0, (socket) => {
            accepted.push(socket);
            socket.end("bye");
        });
        assert.ok(listener.port > 0);
        assert.equal(await connect({ host: "127.0.0.1", port: listener.port }).received, "bye");
        assert.equal(accepted.length, 1);
        await listener.close();
    });
});
//# sourceMappingURL=listeners.test.js.map
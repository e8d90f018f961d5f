import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { NodeTransport } from "../../../src/platform/node-transport.js";
import { waitFor } from "../../helpers/daemon-process.js";
import { requireTool } from "../../helpers/tools.js";
import { transportContract } from "./transport-contract.js";
transportContract("NodeTransport, kept-alive connections", () => {
    const transport = new NodeTransport({ maxSocketsPerAddress: 4 });
    return {
        server: transport,
        client: transport,
        listenHost: "127.0.0.1",
        addressOf: (port) => `127.0.0.1:${port}`,
    };
});
transportContract("NodeTransport, a connection per request", () => ({
    server: new NodeTransport({ maxSocketsPerAddress: 4 }),
    client: new NodeTransport({ maxSocketsPerAddress: 4, keepAlive: false }),
    listenHost: "127.0.0.1",
    addressOf: (port) => `127.0.0.1:${port}`,
}));
/** A CA and one node certificate signed by it (for 127.0.0.1), as peer.tls configures them. */
function makeTlsFiles() {
    const openssl = requireTool("openssl");
    const dir = mkdtempSync(path.join(os.tmpdir(), "marsd-tls-"));
    const file = (name) => path.join(dir, name);
    const run = (args) => execFileSync(openssl, args.split(" "), { cwd: dir, stdio: "pipe" });
    const ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    run(`req -x509 ${ec} -days 1 -subj /CN=test-ca -keyout ca.key -out ca.crt`);
    run(`req ${ec} -subj /CN=node -keyout node.key -out node.csr`);
    writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    run("x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out node.crt");
    return { caFile: file("ca.crt"), certFile: file("node.crt"), keyFile: file("node.key") };
}
transportContract("NodeTransport over mutual TLS", () => {
    const transport = new NodeTransport({ tls: makeTlsFiles(), maxSocketsPerAddress: 4 });
    return {
        server: transport,
        client: transport,
        listenHost: "127.0.0.1",
        addressOf: (port) => `127.0.0.1:${port}`,
    };
});
/** Sends raw bytes and returns what came back before the connection closed. */
function raw(port, bytes) {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
        const chunks = [];
        socket.on("data", (c) => chunks.push(c));
        socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
        socket.on("error", reject);
    });
}
describe("NodeTransport listener", { timeout: 10_000 }, () => {
    it("answers what it cannot parse with the listener's answer, then closes; counts connections", async () => {
        const problems = [];
        const counts = [];
        const transport = new NodeTransport({ maxSocketsPerAddress: 1 });
        const listener = await transport.listen({
            host: "127.0.0.1",
            port: 0,
            onRequest: (_req, res) => void res.sendWhole(200, {}, Buffer.alloc(0)),
            onMalformed: (problem) => {
                problems.push(problem.code ?? "");
                return { status: 400, headers: { "content-type": "text/plain" }, body: Buffer.from("no sense") };
            },
            onConnectionsChanged: (open) => counts.push(open),
        });
        try {
            const answer = await raw(listener.port, "THIS IS NOT HTTP\r\n\r\n");
            assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
            assert.match(answer, /\r\ncontent-type: text\/plain\r\n/);
            assert.match(answer, /\r\nconnection: close\r\n\r\nno sense$/);
            assert.equal(problems.length, 1);
            await waitFor("the connection is counted and uncounted", () => counts.at(-1) === 0 && counts.includes(1));
        }
        finally {
            await listener.close();
        }
    });
});
//# sourceMappingURL=node-transport.test.js.map
/**
 * Tools for tests that act as an attacker or a careless client against a
 * real daemon: its RSS from /proc, a TCP proxy that records what a client
 * sends (to replay the real bytes later), raw HTTP over a socket (for bodies
 * no HTTP client would send), the error-level lines of a daemon's log, and
 * the node keys of daemons (to speak as a member, or as a member that
 * claims another's name).
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { IDENTITY_FILE, NODE_KEY_FILE } from "../../src/cluster/identity.js";
import { PairKeys, nodeKeyFromSeed } from "../../src/peer/node-key.js";
/** Resident set size of a process, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (!m)
        throw new Error(`no VmRSS for pid ${pid}`);
    return Number(m[1]) * 1024;
}
/** Samples a process's RSS every `intervalMs` until stopped; returns the peak. */
export function watchRss(pid, intervalMs = 20) {
    let peak = rssBytes(pid);
    const timer = setInterval(() => {
        try {
            peak = Math.max(peak, rssBytes(pid));
        }
        catch {
            // the process is gone; the test notices that itself
        }
    }, intervalMs);
    return {
        peak: () => peak,
        stop: () => {
            clearInterval(timer);
            return peak;
        },
    };
}
/** Pino lines at error level or above (level >= 50) in a daemon's output. */
export function errorLines(output) {
    return output.split("\n").filter((line) => {
        const m = /"level":(\d+)/.exec(line);
        return m !== null && Number(m[1]) >= 50;
    });
}
/** A forwarding TCP proxy that keeps every byte each client connection sent. */
export class RecordingProxy {
    server;
    port;
    /** Client-to-server bytes, one entry per connection, in arrival order. */
    sent = [];
    sockets = new Set();
    constructor(server, port) {
        this.server = server;
        this.port = port;
    }
    static async start(target) {
        const holder = {};
        const server = net.createServer((client) => {
            const proxy = holder.proxy;
            const chunks = [];
            proxy.sent.push(chunks);
            const upstream = net.connect(target.port, target.host);
            for (const s of [client, upstream]) {
                proxy.sockets.add(s);
                s.on("close", () => proxy.sockets.delete(s));
                s.on("error", () => undefined);
            }
            client.on("data", (d) => chunks.push(Buffer.from(d)));
            client.pipe(upstream);
            upstream.pipe(client);
            client.on("close", () => upstream.destroy());
            upstream.on("close", () => client.destroy());
        });
        await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
        holder.proxy = new RecordingProxy(server, server.address().port);
        return holder.proxy;
    }
    get address() {
        return `127.0.0.1:${this.port}`;
    }
    /** Every complete HTTP request recorded (head and Content-Length body), as raw bytes. */
    requests() {
        const out = [];
        for (const chunks of this.sent) {
            const data = Buffer.concat(chunks);
            let at = 0;
            for (;;) {
                const end = data.indexOf("\r\n\r\n", at);
                if (end < 0)
                    break;
                const head = data.subarray(at, end).toString("latin1");
                const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
                const stop = end + 4 + length;
                if (stop > data.length)
                    break;
                out.push({ head, raw: data.subarray(at, stop) });
                at = stop;
            }
        }
        return out;
    }
    async close() {
        for (const s of this.sockets)
            s.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
}
/**
 * Sends raw bytes on a fresh connection and reads one HTTP answer. With
 * `halfClose`, the sending side is shut after the bytes (a body that ends
 * short of its Content-Length). Resolves status 0 if the server closed the
 * connection without answering.
 */
export function rawHttp(port, bytes, options = {}) {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
        const chunks = [];
        let done = false;
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
        }, options.timeoutMs ?? 10_000);
        const finish = () => {
            if (done)
                return;
            done = true;
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            const split = text.indexOf("\r\n\r\n");
            const head = split < 0 ? text : text.slice(0, split);
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
            resolve({ status, head, body: split < 0 ? "" : text.slice(split + 4) });
            socket.destroy();
        };
        socket.on("data", (d) => {
            chunks.push(d);
            // One answer with Content-Length is complete when its body is.
            const text = Buffer.concat(chunks).toString("latin1");
            const split = text.indexOf("\r\n\r\n");
            const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, Math.max(split, 0)));
            if (split < 0)
                return;
            // A streamed answer (no Content-Length) is judged by its head: it may go on for long.
            if (!length || Buffer.concat(chunks).length >= split + 4 + Number(length[1]))
                finish();
        });
        socket.on("end", finish);
        socket.on("error", () => finish());
        socket.write(bytes, () => {
            if (options.halfClose)
                socket.end();
        });
    });
}
/**
 * POSTs `bodyBytes` (after the raw `head`) as fast as the server takes them, until
 * all is sent or the server closes. Resolves the HTTP status (0: none).
 */
export function floodPost(port, head, bodyBytes) {
    return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        let sent = 0;
        let answer = "";
        let closed = false;
        socket.on("data", (d) => (answer += d.toString("latin1")));
        const finish = () => {
            closed = true;
            resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
        };
        socket.on("close", finish);
        socket.on("error", () => undefined);
        const pump = () => {
            while (!closed && sent < bodyBytes) {
                const n = Math.min(chunk.length, bodyBytes - sent);
                sent += n;
                if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
                    socket.once("drain", pump);
                    return;
                }
            }
            if (!closed)
                socket.end();
        };
        socket.write(head, pump);
    });
}
/** A daemon's node key pair, read from its data directory (cluster/node-key.json). */
export function nodeKeyOf(dataDir) {
    const file = JSON.parse(readFileSync(path.join(dataDir, "cluster", NODE_KEY_FILE), "utf8"));
    return nodeKeyFromSeed(file.privateKey);
}
/** The cluster id a daemon belongs to (cluster/identity.json). */
export function clusterIdOf(dataDir) {
    return JSON.parse(readFileSync(path.join(dataDir, "cluster", IDENTITY_FILE), "utf8")).clusterId;
}
/**
 * Makes `client` sign with the node key of the daemon whose data directory
 * is `keyOf` (default: its own host's), towards the daemons in `peers`
 * (host -> data directory). With another member's key and the client's own
 * host name, it is that member claiming to be the client's host.
 */
export function useNodeKeys(client, self, peers, clusterId) {
    const publicKeys = new Map(Object.entries(peers).map(([host, dir]) => [host, nodeKeyOf(dir).publicKey]));
    const keys = new PairKeys(nodeKeyOf(self.keyOf), self.host, (host) => publicKeys.get(host), () => clusterId);
    client.useKeys((peer) => keys.toPeer(peer));
}
/**
 * A forwarding TCP proxy that, once armed, flips one byte in the first
 * frame of the next log stream answers (plain HTTP only: under TLS the
 * record MAC would catch it first). The byte is in the frame header's
 * offset field, so only the frame's MAC can tell.
 */
export class StreamTamperProxy {
    server;
    port;
    /** Answers altered so far. */
    tampered = 0;
    armed = 0;
    sockets = new Set();
    constructor(server, port) {
        this.server = server;
        this.port = port;
    }
    static async start(target) {
        const holder = {};
        const server = net.createServer((client) => holder.proxy.connect(client, target));
        await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
        holder.proxy = new StreamTamperProxy(server, server.address().port);
        return holder.proxy;
    }
    get address() {
        return `127.0.0.1:${this.port}`;
    }
    /** The next `count` log stream answers get one byte flipped. */
    arm(count = 1) {
        this.armed += count;
    }
    async close() {
        for (const s of this.sockets)
            s.destroy();
        await new Promise((resolve) => this.server.close(resolve));
    }
    connect(client, target) {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
            this.sockets.add(s);
            s.on("close", () => this.sockets.delete(s));
            s.on("error", () => undefined);
        }
        let tamperNext = false;
        let held;
        client.on("data", (d) => {
            // Node's agent sends one request at a time per connection: the next answer is this one's.
            if (this.armed > 0 && d.toString("latin1").startsWith("POST /peer/v1/log/stream ")) {
                this.armed--;
                tamperNext = true;
            }
            upstream.write(d);
        });
        upstream.on("data", (d) => {
            if (!tamperNext) {
                client.write(d);
                return;
            }
            held = held ? Buffer.concat([held, d]) : d;
            const at = firstChunkByte(held, 8);
            if (at === undefined)
                return;
            if (at >= 0) {
                held = Buffer.from(held);
                held[at] = held[at] ^ 0x01;
                this.tampered++;
            }
            client.write(held);
            held = undefined;
            tamperNext = false;
        });
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
    }
}
/**
 * Where byte `k` of the first chunk of a chunked 200 answer is in `bytes`;
 * undefined while more bytes are needed, -1 if the answer is no chunked 200.
 */
function firstChunkByte(bytes, k) {
    const headEnd = bytes.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return undefined;
    const head = bytes.subarray(0, headEnd).toString("latin1").toLowerCase();
    if (!head.startsWith("http/1.1 200") || !head.includes("transfer-encoding: chunked"))
        return -1;
    const lineEnd = bytes.indexOf("\r\n", headEnd + 4);
    if (lineEnd < 0)
        return undefined;
    const size = parseInt(bytes.subarray(headEnd + 4, lineEnd).toString("latin1"), 16);
    if (!(size > 0))
        return -1;
    const at = lineEnd + 2 + Math.min(k, size - 1);
    return at < bytes.length ? at : undefined;
}
//# sourceMappingURL=hostile.js.map
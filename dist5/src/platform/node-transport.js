/**
 * The real Transport (transport.ts): HTTP/1.1 over TCP, or HTTPS with
 * mutual TLS when certificates are configured (every listener then asks for
 * and verifies the client's certificate against the cluster CA, and every
 * request verifies the server's). TLS material is read once, here. The
 * names of a verified client certificate go up with each request
 * (InboundRequest.peerNames: the peer server checks them against the host
 * the request claims); a server's certificate must name the peer host the
 * request is for (OutboundRequest.peerName), else the address's host.
 *
 * Outgoing connections: one keep-alive agent per peer address with a
 * bounded number of sockets, so the requests to one peer share a few
 * connections (keepAlive off opens one per request: that lets one process
 * simulate many nodes without their connections outliving a partition).
 *
 * Incoming connections: Node's HTTP server. What its parser refuses goes to
 * ListenOptions.onMalformed for the answer; idle keep-alive connections and
 * slow heads are bounded by the timeouts below.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { checkServerIdentity } from "node:tls";
import { once } from "node:events";
import { splitAddress, TransportError, } from "./transport.js";
/** An idle kept-alive incoming connection is closed after this. */
const LISTENER_KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** A request head must arrive within this (slowloris). */
const LISTENER_HEADERS_TIMEOUT_MS = 20_000;
/** Listener.close waits this long for exchanges in flight before closing every connection. */
const LISTENER_CLOSE_GRACE_MS = 1_000;
export class NodeTransport {
    options;
    agents = new Map();
    tlsMaterial;
    constructor(options) {
        this.options = options;
        const tls = options.tls;
        this.tlsMaterial = tls && {
            ca: readFileSync(tls.caFile),
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
        };
    }
    async listen(options) {
        const handler = (req, res) => {
            options.onRequest({
                method: req.method ?? "GET",
                target: req.url ?? "/",
                headers: flattenHeaders(req.headers),
                remoteAddress: req.socket.remoteAddress,
                ...(this.tlsMaterial
                    ? { peerNames: certificateNames(req.socket.getPeerCertificate()) }
                    : {}),
                body: incomingBody(req),
            }, responseWriter(req, res));
        };
        const material = this.tlsMaterial;
        const server = material
            ? https.createServer({ ...material, requestCert: true, rejectUnauthorized: true }, handler)
            : http.createServer(handler);
        server.on("clientError", (err, socket) => {
            if (!socket.writable || err.code === "ECONNRESET") {
                socket.destroy();
                return;
            }
            const answer = options.onMalformed({ message: err.message, code: err.code });
            const head = [`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ""}`];
            for (const [name, value] of Object.entries(answer.headers))
                head.push(`${name}: ${value}`);
            head.push(`content-length: ${answer.body.length}`, "connection: close", "", "");
            socket.end(Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), answer.body]));
        });
        if (options.maxConnections !== undefined)
            server.maxConnections = options.maxConnections;
        let connections = 0;
        server.on("connection", (socket) => {
            options.onConnectionsChanged?.(++connections);
            socket.once("close", () => options.onConnectionsChanged?.(--connections));
        });
        server.keepAliveTimeout = LISTENER_KEEP_ALIVE_TIMEOUT_MS;
        server.headersTimeout = LISTENER_HEADERS_TIMEOUT_MS;
        await new Promise((resolve, reject) => {
            server.once("error", reject);
            server.listen(options.port, options.host, () => resolve());
        });
        const port = server.address().port;
        return {
            port,
            close: () => new Promise((resolve) => {
                server.close(() => resolve());
                server.closeIdleConnections();
                setTimeout(() => server.closeAllConnections(), LISTENER_CLOSE_GRACE_MS).unref();
            }),
        };
    }
    request(req) {
        const [hostname, port] = splitAddress(req.address);
        const lib = this.tlsMaterial ? https : http;
        return new Promise((resolve, reject) => {
            const request = lib.request({
                method: req.method,
                hostname,
                port,
                path: req.target,
                agent: this.agent(req.address, req.timeoutMs),
                headers: { ...req.headers, "content-length": req.body.length },
                timeout: req.timeoutMs,
                signal: req.signal,
                ...(this.tlsMaterial && req.peerName !== undefined
                    ? {
                        checkServerIdentity: (_hostname, cert) => checkServerIdentity(req.peerName, cert),
                    }
                    : {}),
            }, (response) => resolve({
                status: response.statusCode ?? 0,
                headers: flattenHeaders(response.headers),
                body: incomingBody(response),
            }));
            request.on("timeout", () => request.destroy(new TransportError("timeout", `peer ${req.address} did not answer within ${req.timeoutMs} ms`)));
            request.on("error", reject);
            request.end(req.body);
        });
    }
    closeOutgoing() {
        for (const agent of this.agents.values())
            agent.destroy();
        this.agents.clear();
    }
    agent(address, timeoutMs) {
        let agent = this.agents.get(address);
        if (!agent) {
            const common = {
                keepAlive: this.options.keepAlive ?? true,
                maxSockets: this.options.maxSocketsPerAddress,
                timeout: timeoutMs,
            };
            agent = this.tlsMaterial ? new https.Agent({ ...common, ...this.tlsMaterial }) : new http.Agent(common);
            this.agents.set(address, agent);
        }
        return agent;
    }
}
/** The names a certificate gives its holder: subject CN and SAN DNS names. */
export function certificateNames(cert) {
    const names = new Set();
    if (!cert || Object.keys(cert).length === 0)
        return [];
    const cn = cert.subject?.CN;
    for (const name of Array.isArray(cn) ? cn : cn ? [cn] : [])
        names.add(name);
    for (const part of (cert.subjectaltname ?? "").split(",")) {
        const m = /^\s*DNS:(.+)$/.exec(part);
        if (m?.[1])
            names.add(m[1].trim());
    }
    return [...names];
}
function flattenHeaders(headers) {
    const out = {};
    for (const [name, value] of Object.entries(headers)) {
        if (value !== undefined)
            out[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    return out;
}
function incomingBody(message) {
    return {
        [Symbol.asyncIterator]: () => message[Symbol.asyncIterator](),
        get bufferedBytes() {
            return message.readableLength;
        },
        readAll: (maxBytes) => new Promise((resolve, reject) => {
            const chunks = [];
            let size = 0;
            message.on("data", (chunk) => {
                size += chunk.length;
                if (size > maxBytes) {
                    // Settled first: the destroy below also reports the body as aborted.
                    reject(new TransportError("too-large", `answer exceeds ${maxBytes} bytes`));
                    message.destroy();
                    return;
                }
                chunks.push(chunk);
            });
            message.on("end", () => resolve(Buffer.concat(chunks)));
            message.on("error", reject);
            message.on("aborted", () => reject(new TransportError("aborted", "answer aborted")));
        }),
    };
}
function responseWriter(req, res) {
    const over = new AbortController();
    res.on("close", () => over.abort(new TransportError("aborted", "the exchange is over")));
    return {
        get headSent() {
            return res.headersSent;
        },
        signal: over.signal,
        sendWhole(status, headers, body, options) {
            return new Promise((resolve) => {
                if (options?.closeConnection)
                    res.shouldKeepAlive = false;
                res.writeHead(status, {
                    ...headers,
                    "content-length": body.length,
                    ...(options?.closeConnection ? { connection: "close" } : {}),
                });
                res.end(body, () => {
                    if (options?.closeConnection)
                        req.socket.destroy();
                    resolve();
                });
                // A connection lost before the end is no failure of ours: the caller has nothing to redo.
                res.once("close", () => resolve());
            });
        },
        startStream(status, headers) {
            res.writeHead(status, headers);
        },
        async write(chunks) {
            over.signal.throwIfAborted();
            let accepted = true;
            for (const c of chunks)
                accepted = res.write(c) && accepted;
            if (!accepted)
                await once(res, "drain", { signal: over.signal });
        },
        end() {
            return new Promise((resolve) => {
                if (res.writableEnded || res.destroyed) {
                    resolve();
                    return;
                }
                res.once("close", () => resolve());
                res.end(() => resolve());
            });
        },
        abort() {
            over.abort(new TransportError("aborted", "the exchange was cut"));
            res.destroy();
        },
    };
}
//# sourceMappingURL=node-transport.js.map
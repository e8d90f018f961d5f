/**
 * SimTransport: the Transport seam (src/platform/transport.ts) in memory,
 * for many simulated nodes in one process. Each node gets its own view,
 * `new SimTransport(network, node)`, over one SimNetwork (sim-network.ts),
 * which holds the listeners and the seeded faults of every directed link.
 *
 * Contract (the Transport contract, plus what the simulation decides):
 * - Every exchange is its own connection (like NodeTransport without
 *   keep-alive), counted by its listener from the request's arrival until
 *   the exchange is over; `maxConnections` resets the ones beyond it.
 * - The request (head and whole body) travels as one packet; the answer's
 *   head and each written chunk as one packet each, in order, on the
 *   network's clock. Chunks arrive as written unless the link's
 *   maxSegmentBytes cuts them at seeded places (a split anywhere).
 * - Backpressure: a connection's unread bytes (in flight plus buffered at
 *   the reader) are bounded by the network's connectionBufferBytes; a
 *   `write` that takes them over the bound resolves only once the reader
 *   has consumed enough to bring them back under it.
 * - `timeoutMs` is an inactivity bound on the requesting side: no head, no
 *   byte delivered and none consumed for that long fails the exchange with
 *   TransportError "timeout" (a blackholed connection included). It stops
 *   once the answer's end has arrived.
 * - A failure (reset, the requester's abort, timeout, closeOutgoing, a
 *   listener closed past its grace) reaches both ends at once: no FIN/RST
 *   latency is simulated, so nothing waits for a peer that is gone. The
 *   one exception is ResponseWriter.abort: the requester gets the bytes
 *   already sent, then the failure, in order on the link.
 * - Requests are built by the caller in memory and are always well formed,
 *   so `onMalformed` is never called here (NodeTransport's tests cover it).
 * - Unknown address: the answer is ECONNREFUSED (an Error with that code,
 *   as Node gives), after the round trip the links allow.
 * - Every callback runs from a clock callback (timer or nextTurn), never
 *   inside the call that caused it.
 */
import { splitAddress, TransportError, } from "../../src/platform/transport.js";
import { Channel, formatAddress, HEAD_BYTES } from "./sim-network.js";
import { SimBody } from "./sim-body.js";
import { SimListener } from "./sim-listener.js";
import { never } from "./sim-disk.js";
export class SimTransport {
    network;
    node;
    outgoing = new Set();
    listeners = new Map();
    dead = false;
    constructor(network, 
    /** This node's name: the `from` of its links, and the remoteAddress its listeners' peers see. */
    node) {
        this.network = network;
        this.node = node;
    }
    listen(options) {
        if (this.dead)
            return never();
        const port = options.port === 0 ? this.network.allocatePort(options.host) : options.port;
        const address = formatAddress(options.host, port);
        if (this.network.lookup(address)) {
            const inUse = new Error(`listen EADDRINUSE: address already in use ${address}`);
            return Promise.reject(Object.assign(inUse, { code: "EADDRINUSE" }));
        }
        const listener = new SimListener(this.network.time, this.node, options);
        this.network.register(address, options.host, listener);
        this.listeners.set(address, listener);
        return Promise.resolve({
            port,
            close: () => {
                this.network.unregister(address, listener);
                this.listeners.delete(address);
                return listener.close();
            },
        });
    }
    request(request) {
        if (this.dead)
            return never();
        return new Promise((resolve, reject) => {
            if (request.signal?.aborted) {
                reject(abortError(request.signal));
                return;
            }
            let host;
            try {
                [host] = splitAddress(request.address);
            }
            catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
                return;
            }
            const exchange = new SimExchange(this.network, this.node, host, request, resolve, reject, () => this.outgoing.delete(exchange));
            this.outgoing.add(exchange);
            exchange.start();
        });
    }
    closeOutgoing() {
        for (const exchange of [...this.outgoing]) {
            exchange.fail(new TransportError("reset", "outgoing connections closed"));
        }
    }
    /**
     * The node's process died: its listeners vanish (new connections are
     * refused) and every connection it had, either way, is reset at once.
     * What the dead code still asks of this view never settles.
     */
    kill() {
        this.dead = true;
        for (const [address, listener] of this.listeners) {
            this.network.unregister(address, listener);
            listener.reset();
        }
        this.listeners.clear();
        this.closeOutgoing();
    }
}
/** One request and its answer: the requesting side's promise and body, the listener's writer. */
class SimExchange {
    network;
    client;
    request;
    resolveHead;
    rejectHead;
    forget;
    phase = "head";
    server;
    up;
    down;
    over = new AbortController();
    responseBody;
    listener;
    inactivity;
    headSent = false;
    endCalled = false;
    endWaiters = [];
    roomWaiters = [];
    onAbort = () => this.fail(abortError(this.request.signal));
    constructor(network, client, host, request, resolveHead, rejectHead, forget) {
        this.network = network;
        this.client = client;
        this.request = request;
        this.resolveHead = resolveHead;
        this.rejectHead = rejectHead;
        this.forget = forget;
        this.server = network.nodeOfHost(host);
        const blocked = () => network.link(client, this.server).blocked;
        const reset = () => this.fail(new TransportError("reset", `connection to ${request.address} was reset`));
        this.up = new Channel(network, client, this.server, blocked, reset);
        this.down = new Channel(network, this.server, client, blocked, reset);
        this.responseBody = new SimBody(network.time, {
            readerDelayMs: () => network.link(this.server, client).readerDelayMs,
            consumed: () => {
                this.touch();
                this.wakeWriters();
            },
            abandon: () => this.fail(new TransportError("aborted", "the reader stopped reading")),
        });
    }
    start() {
        this.request.signal?.addEventListener("abort", this.onAbort, { once: true });
        this.touch();
        this.up.send(HEAD_BYTES + this.request.body.length, () => this.arrive());
    }
    /** Ends the exchange with `error` on both sides; a no-op once it is over. */
    fail(error) {
        if (this.phase === "done" || this.phase === "failed")
            return;
        const wasHead = this.phase === "head";
        this.phase = "failed";
        this.finish(error);
        if (wasHead)
            this.rejectHead(error);
        this.responseBody.fail(error);
        for (const waiter of this.roomWaiters.splice(0))
            waiter.reject(error);
    }
    /**
     * The listener's side cuts the exchange: it is over there at once; the
     * requester gets what was already sent, then the failure (a RST behind
     * the data), so a cut stream fails at its reader instead of ending.
     */
    cut() {
        if (this.phase === "done" || this.phase === "failed" || this.over.signal.aborted)
            return;
        const error = new TransportError("aborted", "the exchange was cut");
        this.over.abort(error);
        for (const waiter of this.roomWaiters.splice(0))
            waiter.reject(error);
        for (const waiter of this.endWaiters.splice(0))
            waiter();
        this.listener?.release(this);
        this.down.send(0, () => this.fail(error));
    }
    /** The request reached the server's node. */
    arrive() {
        const listener = this.network.lookup(this.request.address);
        if (!listener) {
            const refused = Object.assign(new Error(`connect ECONNREFUSED ${this.request.address}`), {
                code: "ECONNREFUSED",
            });
            this.down.send(0, () => this.fail(refused));
            return;
        }
        if (!listener.accept(this)) {
            this.down.send(0, () => this.fail(new TransportError("reset", "the listener refused the connection")));
            return;
        }
        this.listener = listener;
        const headers = lowerCase(this.request.headers);
        headers["content-length"] = String(this.request.body.length);
        const inbound = {
            method: this.request.method,
            target: this.request.target,
            headers,
            remoteAddress: this.client,
            body: SimBody.whole(this.network.time, this.request.body, () => this.fail(new TransportError("aborted", "the listener dropped the request body"))),
        };
        listener.options.onRequest(inbound, this.writer());
    }
    writer() {
        const isHeadSent = () => this.headSent;
        const cut = () => this.cut();
        const over = this.over.signal;
        const startStream = (status, headers) => {
            if (this.headSent)
                throw new Error("the answer's head was sent already");
            this.headSent = true;
            const head = lowerCase(headers);
            this.down.send(HEAD_BYTES, () => this.headArrived(status, head));
        };
        const write = async (chunks) => {
            over.throwIfAborted();
            for (const chunk of chunks) {
                if (chunk.length === 0)
                    continue;
                this.responseBody.inFlight(chunk.length);
                for (const segment of this.network.segments(this.server, this.client, Buffer.from(chunk))) {
                    this.down.send(segment.length, () => {
                        this.responseBody.push(segment);
                        this.touch();
                    });
                }
            }
            while (this.responseBody.unreadBytes > this.network.connectionBufferBytes) {
                await new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
            }
        };
        const end = () => new Promise((resolve) => {
            if (over.aborted) {
                resolve();
                return;
            }
            this.endWaiters.push(resolve);
            if (this.endCalled)
                return;
            this.endCalled = true;
            this.down.send(0, () => this.complete());
        });
        return {
            get headSent() {
                return isHeadSent();
            },
            signal: over,
            async sendWhole(status, headers, body) {
                // closeConnection needs nothing here: every exchange is its own connection.
                startStream(status, { ...headers, "content-length": String(body.length) });
                // A connection lost before the end is no failure of ours: the caller has nothing to redo.
                await write([body]).catch(() => undefined);
                await end();
            },
            startStream,
            write,
            end,
            abort: cut,
        };
    }
    headArrived(status, headers) {
        if (this.phase !== "head")
            return;
        this.phase = "body";
        this.touch();
        this.resolveHead({ status, headers, body: this.responseBody });
    }
    /** The answer's end arrived: the exchange is over, its body stays readable. */
    complete() {
        if (this.phase !== "body")
            return;
        this.phase = "done";
        this.responseBody.end();
        this.finish(new TransportError("aborted", "the exchange is over"));
    }
    finish(reason) {
        this.inactivity?.cancel();
        this.request.signal?.removeEventListener("abort", this.onAbort);
        this.up.close();
        this.down.close();
        this.over.abort(reason);
        for (const waiter of this.endWaiters.splice(0))
            waiter();
        this.listener?.release(this);
        this.forget();
    }
    /** Progress on the connection: restart the requesting side's inactivity bound. */
    touch() {
        if (this.phase === "done" || this.phase === "failed")
            return;
        this.inactivity?.cancel();
        const { address, timeoutMs } = this.request;
        this.inactivity = this.network.time.setTimer(timeoutMs, () => this.fail(new TransportError("timeout", `peer ${address} did not answer within ${timeoutMs} ms`)));
    }
    wakeWriters() {
        if (this.responseBody.unreadBytes > this.network.connectionBufferBytes)
            return;
        for (const waiter of this.roomWaiters.splice(0))
            waiter.resolve();
    }
}
/** What Node's http rejects with when a request's signal aborts. */
function abortError(signal) {
    const error = new Error("The operation was aborted", { cause: signal?.reason });
    error.name = "AbortError";
    return Object.assign(error, { code: "ABORT_ERR" });
}
function lowerCase(headers) {
    const out = {};
    for (const [name, value] of Object.entries(headers))
        out[name.toLowerCase()] = value;
    return out;
}
//# sourceMappingURL=sim-transport.js.map
import { listenTcp, listenUnix } from "../../platform/socket-listener.js";
import { ByteBudget } from "./byte-budget.js";
import { negotiate, ProtocolError } from "./handshake.js";
import { TransmissionSession } from "./transmission.js";
import { AddressError } from "../../util/errors.js";
export function parseHostPort(value) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
    const port = Number(m?.[3]);
    if (!m || port > 65535)
        throw new AddressError(`"${value}" is not host:port`);
    return { host: (m[1] ?? m[2]), port };
}
export class NbdServer {
    options;
    listeners = [];
    sockets = new Set();
    sessions = new Set();
    /** Negotiating connections and their deadline timers, oldest first (Map keeps insertion order). */
    handshakes = new Map();
    /** Connections we closed on purpose during negotiation (their end is not news). */
    dropped = new WeakSet();
    budget;
    stallCheck;
    shuttingDown = false;
    tcpAddress;
    constructor(options) {
        this.options = options;
        const { metrics } = options;
        metrics.nbdInflightLimitRequests.set(options.maxInFlightPerConnection);
        metrics.nbdBufferedLimitBytes.labels("connection").set(options.maxBufferedBytesPerConnection);
        metrics.nbdBufferedLimitBytes.labels("total").set(options.maxBufferedBytesTotal);
        metrics.nbdHandshakeLimit.set(options.maxHandshakes);
        metrics.nbdHandshakes.set(0);
        metrics.nbdBufferedBytes.set(0);
        this.budget = new ByteBudget(options.maxBufferedBytesTotal, (used) => metrics.nbdBufferedBytes.set(used), () => this.scheduleStallCheck(0));
    }
    async start() {
        const { options } = this;
        // No connection limit on the listeners: a full one would refuse the newcomer, and idle
        // handshakes holding every slot would lock well-behaved clients out (accept() drops the oldest).
        const accept = (socket) => this.accept(socket);
        this.listeners.push(await listenUnix(options.socketPath, 0o660, accept));
        if (options.tcpListen) {
            const { host, port } = parseHostPort(options.tcpListen);
            const tcp = await listenTcp(host, port, accept);
            this.tcpAddress = { host, port: tcp.port };
            this.listeners.push(tcp);
        }
    }
    /** The standard NBD URIs of an export (nbdinfo, qemu and libnbd accept them). */
    uris(exportName) {
        const name = encodeURIComponent(exportName);
        const unix = `nbd+unix:///${name}?socket=${encodeURIComponent(this.options.socketPath).replace(/%2F/g, "/")}`;
        if (!this.tcpAddress)
            return { unix };
        const host = this.tcpAddress.host.includes(":") ? `[${this.tcpAddress.host}]` : this.tcpAddress.host;
        return { unix, tcp: `nbd://${host}:${this.tcpAddress.port}/${name}` };
    }
    /** Ends every connection to one export (resource deleted or no longer primary). */
    async closeExport(exportName) {
        await Promise.all([...this.sessions].filter((s) => s.exportName === exportName).map((s) => s.shutdown()));
    }
    /** Stops listening, lets in-flight requests finish, closes all connections. */
    async close(graceMs = 10_000) {
        this.shuttingDown = true;
        this.stallCheck?.cancel();
        const closing = this.listeners.map((l) => l.close());
        const drained = Promise.all([...this.sessions].map((s) => s.shutdown()));
        let timer;
        await Promise.race([
            drained,
            new Promise((resolve) => (timer = this.options.time.setTimer(graceMs, resolve))),
        ]);
        timer?.cancel();
        for (const socket of this.sockets)
            socket.destroy();
        // The Unix listener removes its socket file once closed.
        await Promise.all(closing);
    }
    scheduleStallCheck(delayMs) {
        if (this.stallCheck !== undefined)
            return;
        this.stallCheck = this.options.time
            .setTimer(delayMs, () => {
            this.stallCheck = undefined;
            this.closeStalledSessions();
        })
            .unref();
    }
    /** While the total budget starves someone, closes connections whose replies have not moved for too long. */
    closeStalledSessions() {
        if (!this.budget.starved || this.shuttingDown)
            return;
        const { replyStallTimeoutMs } = this.options;
        const now = this.options.time.monotonicMs();
        let longest = 0;
        for (const session of this.sessions) {
            const stalledMs = session.stalledForMs(now);
            if (stalledMs >= replyStallTimeoutMs) {
                this.options.metrics.nbdStalledSessionsClosed.inc();
                this.options.logger.warn({ export: session.exportName, stalledMs: Math.round(stalledMs), heldBytes: session.heldBytes }, "nbd connection closed: its replies have not been read while others wait for memory");
                session.destroy();
            }
            else
                longest = Math.max(longest, stalledMs);
        }
        this.scheduleStallCheck(Math.max(10, replyStallTimeoutMs - longest));
    }
    /** Closes the oldest negotiating connection to make room; false if there is none. */
    evictOldestHandshake() {
        const oldest = this.handshakes.keys().next();
        if (oldest.done)
            return false;
        this.dropHandshake(oldest.value, "evicted");
        return true;
    }
    dropHandshake(socket, reason) {
        this.endHandshake(socket);
        this.dropped.add(socket);
        this.options.metrics.nbdHandshakesDropped.labels(reason).inc();
        this.options.logger.debug({ reason }, "nbd handshake closed");
        socket.destroy();
    }
    endHandshake(socket) {
        const timer = this.handshakes.get(socket);
        if (timer === undefined)
            return;
        timer.cancel();
        this.handshakes.delete(socket);
        this.options.metrics.nbdHandshakes.set(this.handshakes.size);
    }
    accept(socket) {
        const { options } = this;
        socket.on("error", (err) => options.logger.debug({ err }, "nbd socket error"));
        if (this.shuttingDown) {
            socket.destroy();
            return;
        }
        if (this.handshakes.size >= options.maxHandshakes)
            this.evictOldestHandshake();
        if (this.handshakes.size + this.sessions.size >= options.maxConnections && !this.evictOldestHandshake()) {
            // Every slot is a negotiated session: only now is the newcomer turned away.
            options.metrics.nbdConnectionsRefused.inc();
            options.logger.warn({ maxConnections: options.maxConnections }, "nbd connection refused: too many sessions");
            socket.destroy();
            return;
        }
        this.sockets.add(socket);
        socket.on("close", () => {
            this.sockets.delete(socket);
            this.endHandshake(socket);
        });
        this.handshakes.set(socket, options.time.setTimer(options.handshakeTimeoutMs, () => this.dropHandshake(socket, "timeout")));
        options.metrics.nbdHandshakes.set(this.handshakes.size);
        negotiate(socket, options.registry, () => this.shuttingDown)
            .then((chosen) => {
            this.endHandshake(socket);
            if (!chosen) {
                socket.end();
                return;
            }
            const session = new TransmissionSession(socket, chosen.name, chosen.volume, chosen.leftover, options.metrics, {
                maxInFlight: options.maxInFlightPerConnection,
                maxBufferedBytes: options.maxBufferedBytesPerConnection,
                budget: this.budget,
                time: options.time,
                onClose: () => this.sessions.delete(session),
                logError: (err, context) => options.logger.error({ err, ...context }, "nbd request failed"),
                logClientFault: (reason, context) => options.logger.warn({ reason, ...context }, "nbd client dropped"),
            });
            this.sessions.add(session);
            if (socket.destroyed)
                this.sessions.delete(session);
        })
            .catch((err) => {
            this.endHandshake(socket);
            if (this.dropped.has(socket))
                return;
            if (err instanceof ProtocolError)
                options.logger.info({ reason: err.message }, "nbd client dropped");
            else
                options.logger.error({ err }, "nbd negotiation failed");
            socket.destroy();
        });
    }
}
//# sourceMappingURL=server.js.map
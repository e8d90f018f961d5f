import { VolumeFailedError } from "../../resource/block-volume.js";
import { CMD_NAMES, Cmd, Errno, MAX_PAYLOAD_BYTES, REQUEST_HEADER_BYTES } from "./protocol.js";
import { ReplyWriter } from "./reply-writer.js";
import { RequestMetrics } from "./request-metrics.js";
import { errnoFor, executeRequest, parseRequestHeader, validateRequest } from "./request.js";
export class TransmissionSession {
    socket;
    exportName;
    volume;
    queue;
    metrics;
    options;
    state = { kind: "header" };
    /** Requests being served (the volume has not answered yet). */
    inFlight = 0;
    /** Requests dispatched whose reply has not been flushed to the socket yet. */
    unflushed = 0;
    reservedBytes = 0;
    /** What this connection last added to the shared budget. */
    reportedBytes = 0;
    reportedReservedBytes = 0;
    wakeScheduled = false;
    /** The bound that holds back the next request, if one does (counted once per stall). */
    stalledOn;
    /** Deferred: a release elsewhere may happen while this session is inside parse(). */
    wake = () => {
        if (this.wakeScheduled)
            return;
        this.wakeScheduled = true;
        this.options.time.nextTurn(() => {
            this.wakeScheduled = false;
            if (!this.closed)
                this.parse();
        });
    };
    readingPaused = false;
    disconnecting = false;
    /** We sent our end of the connection (after a disconnect request or shutdown). */
    ended = false;
    closed = false;
    parsing = false;
    replies;
    requestMetrics;
    idleWaiters = [];
    constructor(socket, exportName, volume, queue, metrics, options) {
        this.socket = socket;
        this.exportName = exportName;
        this.volume = volume;
        this.queue = queue;
        this.metrics = metrics;
        this.options = options;
        this.replies = new ReplyWriter(socket, options.time);
        this.requestMetrics = new RequestMetrics(metrics, exportName, options.time);
        socket.setNoDelay(true);
        socket.on("data", (chunk) => {
            // After our end(), input is only read to see the client's EOF (and so the close).
            if (this.ended)
                return;
            this.queue.push(chunk);
            this.parse();
        });
        socket.on("drain", () => this.updateFlowControl());
        socket.on("close", () => this.onSocketClosed());
        socket.on("error", () => undefined);
        metrics.nbdConnections.labels(exportName).inc();
        // Closed while negotiating finished: its 'close' may be gone already, so account for it now.
        if (socket.destroyed) {
            this.onSocketClosed();
            return;
        }
        // Negotiation may have paused the socket; from here on updateFlowControl decides.
        socket.resume();
        this.parse();
    }
    /** Stop taking requests, answer those in flight, then close. */
    async shutdown() {
        this.disconnecting = true;
        this.pauseReading();
        await this.idle();
        // Unparsed requests are dropped; reading resumes (discarding) so the client's EOF closes the socket.
        this.ended = true;
        this.queue.skip(this.queue.length);
        this.syncBudget();
        this.socket.end();
        this.socket.resume();
    }
    /**
     * How long written replies have waited without any of them being flushed
     * (0: none waits). Requests still executing do not count: a slow disk is not the client's fault.
     */
    stalledForMs(nowMs) {
        return this.replies.stalledForMs(nowMs);
    }
    get heldBytes() {
        return this.queue.length + this.reservedBytes;
    }
    /** Drop the connection immediately. */
    destroy() {
        this.socket.destroy();
    }
    idle() {
        if (this.inFlight === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }
    onSocketClosed() {
        if (this.closed)
            return;
        this.closed = true;
        // Unflushed replies die with the socket: give their bytes back now, whatever their callbacks do.
        this.options.budget.forget(this.wake);
        this.options.budget.endRescue(this);
        this.options.budget.adjust(-this.reportedBytes, -this.reportedReservedBytes);
        this.reportedBytes = 0;
        this.reportedReservedBytes = 0;
        this.metrics.nbdConnections.labels(this.exportName).dec();
        this.metrics.nbdInflightRequests.dec(this.inFlight);
        this.options.onClose();
    }
    parse() {
        // Replies can complete synchronously inside this loop; they must not re-enter it.
        if (this.parsing)
            return;
        this.parsing = true;
        try {
            this.parseLoop();
        }
        finally {
            this.parsing = false;
        }
        this.syncBudget();
        this.updateFlowControl();
    }
    /** Reports this connection's held bytes to the shared budget. */
    syncBudget() {
        if (this.closed)
            return;
        const held = this.queue.length + this.reservedBytes;
        const delta = held - this.reportedBytes;
        const reservedDelta = this.reservedBytes - this.reportedReservedBytes;
        this.reportedBytes = held;
        this.reportedReservedBytes = this.reservedBytes;
        this.options.budget.adjust(delta, reservedDelta);
    }
    /**
     * Whether a request holding `costBytes` may start now. A connection with
     * nothing in flight always may (so one request of any valid size fits).
     */
    admits(costBytes) {
        let bound;
        if (this.unflushed >= this.options.maxInFlight)
            bound = "inflight";
        else if (this.unflushed > 0 && this.reservedBytes + costBytes > this.options.maxBufferedBytes) {
            bound = "connection";
        }
        else {
            this.syncBudget();
            if (!this.options.budget.admits(costBytes)) {
                bound = "total";
                this.options.budget.waitForRelease(this.wake);
            }
        }
        if (bound !== undefined && this.stalledOn === undefined)
            this.metrics.nbdBackpressurePauses.labels(bound).inc();
        this.stalledOn = bound;
        if (bound === undefined)
            this.options.budget.endRescue(this);
        return bound === undefined;
    }
    parseLoop() {
        while (!this.disconnecting && !this.closed) {
            if (this.state.kind === "header") {
                if (this.queue.length < REQUEST_HEADER_BYTES)
                    break;
                const request = parseRequestHeader(this.queue.take(REQUEST_HEADER_BYTES), this.options.time.monotonicMs());
                if (!request) {
                    this.protocolViolation("bad request magic");
                    return;
                }
                if (request.type === Cmd.WRITE) {
                    this.state =
                        request.length > MAX_PAYLOAD_BYTES
                            ? { kind: "discard", request, left: request.length }
                            : { kind: "payload", request };
                    continue;
                }
                if (request.type === Cmd.DISC) {
                    // Soft disconnect: finish what is in flight, then close.
                    void this.shutdown();
                    return;
                }
                if (request.type === Cmd.READ && request.length <= MAX_PAYLOAD_BYTES)
                    request.costBytes += request.length;
                this.state = { kind: "ready", request };
            }
            else if (this.state.kind === "ready") {
                const { request } = this.state;
                if (!this.admits(request.costBytes))
                    break;
                this.state = { kind: "header" };
                this.dispatch(request, undefined);
            }
            else if (this.state.kind === "payload") {
                const { request } = this.state;
                if (this.queue.length < request.length)
                    break;
                // The payload stays counted in the queue until it is admitted.
                request.costBytes += request.length;
                if (!this.admits(request.costBytes)) {
                    request.costBytes -= request.length;
                    break;
                }
                const data = this.queue.take(request.length);
                this.state = { kind: "header" };
                this.dispatch(request, data);
            }
            else {
                // A WRITE longer than we accept: its data must still be consumed to stay in sync.
                this.state.left -= this.queue.skip(this.state.left);
                if (this.state.left > 0)
                    break;
                const { request } = this.state;
                this.state = { kind: "header" };
                this.beginRequest(request);
                this.reply(request, Errno.EINVAL);
            }
        }
    }
    dispatch(request, data) {
        this.beginRequest(request);
        const errno = validateRequest(request);
        if (errno !== Errno.OK) {
            this.reply(request, errno);
            return;
        }
        executeRequest(this.volume, request, data, (code, withData) => this.reply(request, code, withData)).catch((err) => {
            const code = errnoFor(err, request.type);
            // A failed volume was reported once, when it failed; refusals are not news.
            if (code === Errno.EIO && !(err instanceof VolumeFailedError)) {
                this.options.logError(err, { export: this.exportName, command: CMD_NAMES[request.type] });
            }
            this.reply(request, code);
        });
    }
    beginRequest(request) {
        this.inFlight += 1;
        this.unflushed += 1;
        this.reservedBytes += request.costBytes;
        this.metrics.nbdInflightRequests.inc();
    }
    /** The reply left our buffers (or the socket is gone): its bytes are free again. */
    released(request) {
        this.unflushed -= 1;
        this.reservedBytes -= request.costBytes;
        if (this.closed)
            return;
        this.syncBudget();
        if (!this.disconnecting)
            this.parse();
    }
    /** Sends a simple reply; `withData` is a READ reply buffer with room for the header. */
    reply(request, errno, withData) {
        this.inFlight -= 1;
        this.metrics.nbdInflightRequests.dec();
        this.requestMetrics.account(request, errno);
        if (!this.closed) {
            this.replies.send(request.cookie, errno, withData, () => this.released(request));
        }
        else {
            this.released(request);
        }
        if (this.inFlight === 0)
            for (const wake of this.idleWaiters.splice(0))
                wake();
    }
    updateFlowControl() {
        if (this.closed || this.ended)
            return;
        const reason = this.pauseReason();
        if (reason === "total")
            this.options.budget.waitForRelease(this.wake);
        if (reason !== undefined)
            this.pauseReading(reason);
        else if (this.readingPaused) {
            this.readingPaused = false;
            this.socket.resume();
        }
    }
    /** Why reading must stop now, if it must; resumed by a release, 'drain', or a wake. */
    pauseReason() {
        if (this.disconnecting)
            return "disconnecting";
        if (this.unflushed >= this.options.maxInFlight)
            return "inflight";
        if (this.socket.writableNeedDrain)
            return "drain";
        if (this.queue.length + this.reservedBytes >= this.options.maxBufferedBytes)
            return "connection";
        if (this.options.budget.exhausted && !this.options.budget.mayReadWhileExhausted(this))
            return "total";
        return undefined;
    }
    pauseReading(reason = "disconnecting") {
        if (!this.readingPaused) {
            this.readingPaused = true;
            this.socket.pause();
            if (reason !== "disconnecting")
                this.metrics.nbdBackpressurePauses.labels(reason).inc();
        }
    }
    protocolViolation(reason) {
        this.options.logClientFault(reason, { export: this.exportName, event: "protocol violation" });
        this.socket.destroy();
    }
}
//# sourceMappingURL=transmission.js.map
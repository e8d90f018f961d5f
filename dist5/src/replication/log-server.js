import { parseLogName } from "../log/log-name.js";
import { PeerError } from "../peer/server.js";
import { LogCorruptError, errorMessage, isErrno } from "../util/errors.js";
import { negotiate } from "./compression.js";
import { StreamCompressor } from "./compression-stream.js";
import { FrameEncoder, FrameType } from "./frames.js";
function parseBody(req) {
    try {
        const v = JSON.parse(req.body.toString("utf8"));
        if (typeof v === "object" && v !== null && !Array.isArray(v))
            return v;
    }
    catch {
        // fall through
    }
    throw new PeerError(400, "bad-request", "body must be a JSON object");
}
export class LogServer {
    options;
    /** Open streams, with the resource each serves. */
    active = new Map();
    constructor(options) {
        this.options = options;
        options.server.route("POST /peer/v1/log/list", (req) => this.list(req));
        // Frames keyed with the pair key that verified the request: only the fetcher can check them.
        options.server.routeStream("POST /peer/v1/log/stream", (req, res, _secret, requestKey) => this.stream(req, res, requestKey));
    }
    /** Ends every open stream (shutdown). */
    closeAll() {
        for (const res of this.active.keys())
            res.abort();
    }
    /**
     * Ends the streams of one resource: it failed (its log files are closed,
     * and the instance that recovers has new ones) or it is going away. The
     * fetchers ask again, and get the new instance's files; a stream left
     * open would follow the dead instance's file forever.
     */
    closeResource(resource) {
        for (const [res, name] of this.active)
            if (name === resource)
                res.abort();
    }
    async list(req) {
        const body = parseBody(req);
        const served = typeof body.resource === "string" ? this.options.lookup(body.resource) : undefined;
        if (!served)
            throw new PeerError(404, "no-resource", `no resource ${String(body.resource)} here`);
        const after = typeof body.afterFileNumber === "number" ? body.afterFileNumber : 0;
        const waitMs = Math.min(typeof body.waitMs === "number" ? body.waitMs : 0, this.options.maxWaitMs);
        // The wait and the answer count the same files: a copy whose fetch has just started (length 0,
        // perhaps not created yet) is not offered, so it must not end the wait either, or the lister gets
        // an empty answer at once and asks again in a tight loop until the copy has data (seed 90284).
        if (waitMs > 0 && served.logs.withDataAfter(after).length === 0) {
            await served.logs.waitForDataAfter(after, this.options.time.timeoutSignal(waitMs));
        }
        const files = [];
        for (const f of served.logs.withDataAfter(after)) {
            let header;
            try {
                header = await served.logs.header(f.name);
            }
            catch (err) {
                // Deleted since list() (log deletion runs concurrently): it is no longer offered.
                if (isErrno(err, "ENOENT"))
                    continue;
                throw err;
            }
            files.push({
                name: f.name,
                lengthBytes: f.lengthBytes,
                finished: served.logs.isFinished(f.name),
                prevVersion: header.prevVersion,
            });
        }
        return { files };
    }
    async stream(req, res, secret) {
        const encoder = new FrameEncoder(secret, req.nonce);
        res.startStream(200, { "content-type": "application/octet-stream" });
        // Aborts when the peer goes away (or closeAll cuts the stream): the follow loop stops.
        const closed = res.signal;
        this.active.set(res, "");
        const send = async (buffers) => {
            const bytes = buffers.reduce((n, b) => n + b.length, 0);
            this.options.metrics.peerSentBytes.labels(req.host).inc(bytes);
            // Resolves once the peer made room; after the exchange is over it resolves too, and the
            // follow loop sees the signal.
            await res.write(buffers).catch(() => undefined);
        };
        try {
            const body = parseBody(req);
            if (typeof body.resource === "string")
                this.active.set(res, body.resource);
            const name = typeof body.file === "string" ? body.file : "";
            const served = typeof body.resource === "string" ? this.options.lookup(body.resource) : undefined;
            let offset = typeof body.offsetBytes === "number" && Number.isSafeInteger(body.offsetBytes)
                ? body.offsetBytes
                : -1;
            const local = served?.logs.get(name);
            if (!served || !local || !parseLogName(name)) {
                await send(encoder.json(FrameType.Error, {
                    code: "no-file",
                    message: `no log file ${name} here`,
                }));
                return;
            }
            if (offset > local.lengthBytes && served.logs.isFinished(name)) {
                // The asker holds more of this file than its final length here: the two histories differ.
                await send(encoder.json(FrameType.Error, {
                    code: "ahead",
                    message: `${name} ends at ${local.lengthBytes} here; the asker holds ${offset} bytes of it`,
                }));
                return;
            }
            if (offset < 0 || offset > local.lengthBytes) {
                await send(encoder.json(FrameType.Error, {
                    code: "bad-offset",
                    message: `offset ${offset} outside 0..${local.lengthBytes}`,
                }));
                return;
            }
            const { time, metrics, compression } = this.options;
            const policy = negotiate(body.compression, compression?.policy(body.resource));
            const use = policy && compression ? { policy, compress: compression.compress } : undefined;
            const compressor = new StreamCompressor(encoder, use, time, metrics, body.resource, "fetch");
            await this.follow(served, name, offset, closed, encoder, compressor, send, (n) => (offset = n));
        }
        catch (err) {
            if (!closed.aborted) {
                this.options.logger.warn({ err: errorMessage(err), peer: req.host }, "log stream failed");
                await send(encoder.json(FrameType.Error, {
                    code: "failed",
                    message: errorMessage(err),
                })).catch(() => undefined);
            }
        }
        finally {
            this.active.delete(res);
            // Not awaited: the last bytes drain as the peer reads them, the route is done.
            void res.end();
        }
    }
    async follow(served, name, fromOffset, signal, encoder, compressor, send, progress) {
        const { logs } = served;
        const file = await this.options.storage.open(logs.pathOf(name), "read");
        let offset = fromOffset;
        try {
            while (!signal.aborted) {
                const local = logs.get(name);
                if (!local) {
                    await send(encoder.json(FrameType.Error, {
                        code: "no-file",
                        message: `log file ${name} was deleted`,
                    }));
                    return;
                }
                if (offset < local.lengthBytes) {
                    const want = Math.min(this.options.chunkBytes, local.lengthBytes - offset);
                    const chunk = Buffer.allocUnsafe(want);
                    const n = await file.read(chunk, offset);
                    if (n < want)
                        throw new LogCorruptError(`${name} is shorter than its known length`);
                    await send(await compressor.data(offset, local.lengthBytes, chunk));
                    offset += n;
                    progress(offset);
                    continue;
                }
                if (logs.isFinished(name)) {
                    const version = await logs.version(name);
                    await send(encoder.json(FrameType.End, version, offset, local.lengthBytes));
                    return;
                }
                const waited = AbortSignal.any([signal, this.options.time.timeoutSignal(this.options.heartbeatMs)]);
                await logs.waitForGrowth(name, offset, waited);
                if (!signal.aborted && (logs.get(name)?.lengthBytes ?? 0) <= offset && !logs.isFinished(name)) {
                    await send(encoder.encode(FrameType.Heartbeat, offset, offset));
                }
            }
        }
        finally {
            await file.close();
        }
    }
}
//# sourceMappingURL=log-server.js.map
import { PeerError } from "../peer/server.js";
import { errorMessage } from "../util/errors.js";
import { negotiate } from "./compression.js";
import { StreamCompressor } from "./compression-stream.js";
import { FrameEncoder, FrameType } from "./frames.js";
import { hashChunk, hashLeaves, rangeDigest, SYNC_RANGE_BYTES } from "./sync-digest.js";
import { MAX_SYNC_REGIONS, SYNC_CHUNK_BYTES, } from "./sync-regions.js";
/** Chunks per window request at most. */
export const SYNC_WINDOW_CHUNKS = 16;
/** Ranges per digest request at most. */
export const SYNC_DIGEST_RANGES = 16;
function isOffset(v) {
    return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v % SYNC_CHUNK_BYTES === 0;
}
export class SyncServer {
    lookup;
    metrics;
    compression;
    constructor(server, lookup, metrics, 
    /** The regions this node's dirty map holds for a resource (it wrote a gap), if any. */
    dirtyRegionsOf, 
    /** The regions this node's log files of a resource write from a file number on (split brain). */
    historyRegionsOf, 
    /** How this node compresses a resource's sync data (none: it does not), and the clock timing it. */
    compression) {
        this.lookup = lookup;
        this.metrics = metrics;
        this.compression = compression;
        // Frames are MAC'd with this request's key (the pair's key, see peer/node-key.ts).
        server.routeStream("POST /peer/v1/sync/window", (req, res, _secret, requestKey) => this.answer(req, res, requestKey, (body, source, send, encoder) => this.window(body, source, send, encoder, res)));
        server.routeStream("POST /peer/v1/sync/digest", (req, res, _secret, requestKey) => this.answer(req, res, requestKey, (body, source, send, encoder) => this.digest(body, source, send, encoder, res)));
        server.route("POST /peer/v1/sync/history-regions", async (req) => {
            const { resource, fromFileNumber } = parseBody(req);
            if (typeof resource !== "string" ||
                !Number.isSafeInteger(fromFileNumber) ||
                fromFileNumber < 1)
                throw new PeerError(400, "bad-request", "malformed history regions request");
            const answer = await historyRegionsOf(resource, fromFileNumber);
            if (!answer)
                throw new PeerError(404, "no-resource", "no such resource here");
            if (answer === "logs-gone")
                throw new PeerError(409, "logs-gone", "the log files from that number on are not all here any more");
            return answer;
        });
        server.route("POST /peer/v1/sync/regions", async (req) => {
            const body = parseBody(req);
            const member = typeof body.member === "string" ? body.member : undefined;
            const answer = typeof body.resource === "string" ? await dirtyRegionsOf(body.resource, member) : undefined;
            if (!answer)
                throw new PeerError(404, "no-resource", "no dirty map of that resource here");
            if (answer.regions.length > MAX_SYNC_REGIONS) {
                throw new PeerError(409, "too-many-regions", `${answer.regions.length} regions: sync the whole disk`);
            }
            return answer;
        });
    }
    /** Opens the frame stream, runs `body` for the resource, then END (or ERROR). */
    async answer(req, res, frameKey, run) {
        const encoder = new FrameEncoder(frameKey, req.nonce);
        res.startStream(200, { "content-type": "application/octet-stream" });
        const send = async (buffers) => {
            this.metrics.peerSentBytes.labels(req.host).inc(buffers.reduce((n, b) => n + b.length, 0));
            // Waits while the peer reads slowly; once the exchange is over the loops see res.signal.
            await res.write(buffers).catch(() => undefined);
        };
        try {
            const body = parseBody(req);
            const source = typeof body.resource === "string" ? this.lookup(body.resource) : undefined;
            if (!source)
                throw new PeerError(404, "no-resource", "this node serves no consistent copy of that resource");
            const at = await run(body, source, send, encoder);
            // Where the log stands now: every write that may be half in what was read is before it.
            await send(encoder.json(FrameType.End, source.durablePosition(), at, 0));
        }
        catch (err) {
            const e = err instanceof PeerError
                ? { code: err.code, message: err.message }
                : { code: "failed", message: errorMessage(err) };
            await send(encoder.json(FrameType.Error, e)).catch(() => undefined);
        }
        finally {
            void res.end();
        }
    }
    async window(body, source, send, encoder, res) {
        const { offsetBytes: offset, hashes } = body;
        if (!isOffset(offset) ||
            !Array.isArray(hashes) ||
            hashes.length > SYNC_WINDOW_CHUNKS ||
            !hashes.every((h) => typeof h === "string")) {
            throw new PeerError(400, "bad-request", "malformed sync window");
        }
        const resource = body.resource;
        const policy = negotiate(body.compression, this.compression?.policy(resource));
        const use = policy && this.compression ? { policy, compress: this.compression.compress } : undefined;
        const compressor = this.compression &&
            new StreamCompressor(encoder, use, this.compression.time, this.metrics, resource, "sync");
        let at = offset;
        for (const hash of hashes) {
            if (at >= source.volume.sizeBytes || res.signal.aborted)
                break;
            const length = Math.min(SYNC_CHUNK_BYTES, source.volume.sizeBytes - at);
            const chunk = Buffer.allocUnsafe(length);
            await source.volume.read(at, chunk);
            if (hash !== "" && hashChunk(chunk).toString("hex") === hash)
                await send(encoder.encode(FrameType.Same, at, length));
            else if (compressor)
                await send(await compressor.data(at, length, chunk));
            else
                await send(encoder.encode(FrameType.Data, at, length, chunk));
            at += length;
        }
        return at;
    }
    async digest(body, source, send, encoder, res) {
        const ranges = body.ranges;
        const size = source.volume.sizeBytes;
        if (!Array.isArray(ranges) || ranges.length > SYNC_DIGEST_RANGES) {
            throw new PeerError(400, "bad-request", "malformed digest request");
        }
        let at = 0;
        for (const r of ranges) {
            const { offsetBytes: start, lengthBytes: length, digest } = r ?? {};
            if (!isOffset(start) ||
                typeof length !== "number" ||
                !Number.isSafeInteger(length) ||
                length <= 0 ||
                length > SYNC_RANGE_BYTES ||
                start + length > size ||
                typeof digest !== "string") {
                throw new PeerError(400, "bad-request", "malformed digest range");
            }
            const range = { startBytes: start, endBytes: start + length };
            const leaves = await hashLeaves((o, t) => source.volume.read(o, t), range, res.signal);
            if (!leaves)
                break;
            if (rangeDigest(leaves).toString("hex") === digest)
                await send(encoder.encode(FrameType.Same, start, length));
            else
                await send(encoder.encode(FrameType.Digests, start, length, leaves));
            at = start + length;
        }
        return at;
    }
}
function parseBody(req) {
    try {
        const body = JSON.parse(req.body.toString("utf8"));
        if (body && typeof body === "object" && !Array.isArray(body))
            return body;
    }
    catch {
        // answered below
    }
    throw new PeerError(400, "bad-request", "body must be a JSON object");
}
//# sourceMappingURL=sync-server.js.map
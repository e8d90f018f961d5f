/**
 * The admin HTTP listener: POST /rpc (JSON-RPC, bearer token), GET
 * /metrics (Prometheus text format) and GET /healthz. Transport problems
 * get HTTP status codes (401, 405, 413, 415); everything that reached the
 * JSON-RPC layer is HTTP 200 with a JSON-RPC answer, or 204 for
 * notifications.
 *
 * The token is checked on the headers, before one body byte is read, and a
 * refused request's connection is closed rather than drained. A body that
 * cannot be read as announced (corrupt gzip/brotli/deflate, shorter than its
 * Content-Length, aborted) is the caller's fault: HTTP 400 with -32700
 * (undecodable) or -32600 (incomplete), logged at warn, never -32603.
 */
import { timingSafeEqual } from "node:crypto";
import express from "express";
import { RpcCode } from "./error-codes.js";
/** Default of admin.maxBodyBytes (after decompression). */
export const MAX_BODY_BYTES = 1024 * 1024;
function transportError(res, status, code, message) {
    res.status(status).json({ jsonrpc: "2.0", id: null, error: { code, message } });
}
/** Like transportError, and closes the connection: the unread body is dropped with it, not drained. */
function refuseUnread(res, status, code, message) {
    res.set("Connection", "close");
    transportError(res, status, code, message);
}
/** Body errors from body-parser / raw-body that are the caller's fault: [HTTP status, JSON-RPC code]. */
function bodyErrorAnswer(err) {
    const { type, status } = err;
    if (type === "request.aborted" || type === "request.size.invalid")
        return [400, RpcCode.InvalidRequest];
    // A decoder error (corrupt gzip/brotli/deflate) has no type; body-parser marks it 400.
    if (typeof status === "number" && status >= 400 && status < 500)
        return [400, RpcCode.ParseError];
    return undefined;
}
function tokenMatches(header, token) {
    const m = /^Bearer (.+)$/.exec(header ?? "");
    if (!m)
        return false;
    const given = Buffer.from(m[1], "utf8");
    const expected = Buffer.from(token, "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
}
/**
 * The admin server's "clientError" listener: what node's HTTP parser cannot
 * accept (a body that ends before its Content-Length, a malformed head)
 * gets a JSON-RPC error body instead of node's bare 400, logged at warn.
 */
/** The reason phrases of the statuses answerClientError sends (as Node's http.STATUS_CODES spells them). */
const CLIENT_ERROR_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
};
export function answerClientError(logger) {
    return (err, socket) => {
        logger.warn({ reason: err.message, code: err.code }, "admin request could not be parsed");
        if (!socket.writable || err.code === "ECONNRESET") {
            socket.destroy();
            return;
        }
        const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
        const text = JSON.stringify({
            jsonrpc: "2.0",
            id: null,
            error: {
                code: RpcCode.InvalidRequest,
                message: `Invalid Request: unreadable HTTP request (${err.code ?? err.message})`,
            },
        });
        socket.end(`HTTP/1.1 ${status} ${CLIENT_ERROR_REASONS[status] ?? ""}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
}
export function createAdminApp(options) {
    const app = express();
    const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    const rejected = options.metrics.adminRejectedRequests;
    app.disable("x-powered-by");
    app.get("/healthz", (_req, res) => {
        const { ok, details } = options.health();
        res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", ...details });
    });
    app.get("/metrics", async (_req, res) => {
        res.set("Content-Type", options.metrics.registry.contentType);
        res.end(await options.metrics.registry.metrics());
    });
    app.all("/rpc", (req, res, next) => {
        if (req.method !== "POST") {
            res.set("Allow", "POST");
            rejected.labels("method").inc();
            refuseUnread(res, 405, RpcCode.InvalidRequest, "JSON-RPC requests must be sent with POST");
            return;
        }
        if (!tokenMatches(req.get("authorization"), options.token)) {
            res.set("WWW-Authenticate", 'Bearer realm="marsd"');
            rejected.labels("token").inc();
            refuseUnread(res, 401, RpcCode.Unauthorized, "Unauthorized: send the admin token as 'Authorization: Bearer <token>'");
            return;
        }
        if (!req.is("application/json")) {
            rejected.labels("content-type").inc();
            refuseUnread(res, 415, RpcCode.InvalidRequest, "Content-Type must be application/json");
            return;
        }
        const declared = Number(req.get("content-length"));
        if (req.get("content-encoding") === undefined && declared > maxBodyBytes) {
            rejected.labels("too-large").inc();
            refuseUnread(res, 413, RpcCode.InvalidRequest, `request body exceeds ${maxBodyBytes} bytes`);
            return;
        }
        next();
    });
    app.post("/rpc", express.text({ type: () => true, limit: maxBodyBytes }), async (req, res) => {
        const text = typeof req.body === "string" ? req.body : "";
        const reply = await options.endpoint.handle(text, options.context);
        if (reply.body === undefined)
            res.status(204).end();
        else
            res.status(200).json(reply.body);
    });
    app.use((err, _req, res, next) => {
        if (res.headersSent)
            return next(err);
        const type = err.type;
        if (type === "entity.too.large") {
            rejected.labels("too-large").inc();
            refuseUnread(res, 413, RpcCode.InvalidRequest, `request body exceeds ${maxBodyBytes} bytes`);
            return;
        }
        if (type === "encoding.unsupported" || type === "charset.unsupported") {
            rejected.labels("encoding").inc();
            transportError(res, 415, RpcCode.InvalidRequest, "unsupported request encoding");
            return;
        }
        const answer = bodyErrorAnswer(err);
        if (answer) {
            const [status, code] = answer;
            rejected.labels("bad-body").inc();
            options.logger.warn({ reason: err.message, type }, "admin request with a broken body");
            refuseUnread(res, status, code, code === RpcCode.ParseError
                ? "Parse error: body cannot be decoded"
                : "Invalid Request: incomplete body");
            return;
        }
        options.logger.error({ err }, "admin request failed");
        transportError(res, 500, RpcCode.InternalError, "Internal error");
    });
    app.use((_req, res) => res.status(404).json({ error: "not found" }));
    return app;
}
//# sourceMappingURL=admin-app.js.map
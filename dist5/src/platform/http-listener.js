/**
 * The admin API's HTTP listener (node:http), kept here so nothing outside
 * src/platform touches node:http. The caller gives the request handler
 * (the express app) and the bounds; this module owns the server.
 *
 * Contract:
 * - Beyond `maxConnections` open connections Node closes new ones at
 *   once, so a flood cannot grow memory per connection.
 * - An idle kept-alive connection is closed after `keepAliveTimeoutMs`.
 * - `onClientError` gets every request Node could not parse, with the raw
 *   socket to answer on (or destroy); `onConnectionCount` the number of
 *   open connections after each change (for the metric).
 * - `close(graceMs)` stops accepting, closes idle connections at once and
 *   every other one after `graceMs` (requests still in flight get that
 *   long to finish); it resolves when the last connection has closed.
 */
import http from "node:http";
export async function listenHttp(handler, options) {
    const server = http.createServer(handler);
    server.keepAliveTimeout = options.keepAliveTimeoutMs;
    server.maxConnections = options.maxConnections;
    server.on("clientError", options.onClientError);
    let open = 0;
    server.on("connection", (socket) => {
        options.onConnectionCount(++open);
        socket.once("close", () => options.onConnectionCount(--open));
    });
    await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port, options.host, () => resolve());
    });
    return {
        port: server.address().port,
        close: (graceMs) => new Promise((resolve) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
            server.close(() => {
                clearTimeout(force);
                resolve();
            });
            server.closeIdleConnections();
        }),
    };
}
//# sourceMappingURL=http-listener.js.map
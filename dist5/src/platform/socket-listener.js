/**
 * Byte-stream listeners for the NBD frontend: a Unix-domain socket and a
 * TCP port, each handing every accepted connection to a callback as a
 * Node socket. Kept here so nothing outside src/platform touches node:net
 * or node:fs; the frontend sees only the `Socket` type re-exported here.
 *
 * Contract:
 * - No connection limit is set on the listener: the caller decides whom to
 *   drop (the NBD server closes its oldest handshake instead of refusing
 *   the newcomer, see src/frontend/nbd/server.ts).
 * - A Unix socket's path must be free before listen(2): a file left by an
 *   earlier process is removed first. Its mode decides who may connect.
 * - `close()` stops accepting at once and resolves when every accepted
 *   connection has ended as well (the caller destroys the ones it wants
 *   gone); then a Unix socket's file is removed.
 */
import { chmod, rm } from "node:fs/promises";
import net from "node:net";
/** Listens on the Unix socket `socketPath` with file mode `mode` (connecting needs write permission). */
export async function listenUnix(socketPath, mode, onConnection) {
    await removeSocketFile(socketPath);
    const server = await listen(onConnection, (s) => s.listen(socketPath));
    await chmod(socketPath, mode);
    return {
        port: 0,
        close: async () => {
            await closeServer(server);
            await removeSocketFile(socketPath);
        },
    };
}
/** Listens on TCP `host`:`port`. */
export async function listenTcp(host, port, onConnection) {
    const server = await listen(onConnection, (s) => s.listen(port, host));
    return { port: server.address().port, close: () => closeServer(server) };
}
async function listen(onConnection, start) {
    const server = net.createServer(onConnection);
    await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.once("listening", () => resolve());
        start(server);
    });
    return server;
}
function closeServer(server) {
    return new Promise((resolve) => server.close(() => resolve()));
}
/** Removes a socket file left by an earlier process (listen fails on an existing path); absent is fine. */
async function removeSocketFile(socketPath) {
    await rm(socketPath, { force: true });
}
//# sourceMappingURL=socket-listener.js.map
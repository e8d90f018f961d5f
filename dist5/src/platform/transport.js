/**
 * The network seam. The peer layer (src/peer: signatures, caps, replay
 * floors, routes) and everything above it talk to other nodes only through
 * a Transport, so the simulator can run a whole cluster in one process on a
 * network it controls (delays, bandwidth, resets, one-way partitions, slow
 * readers) and replay a failure from its seed. Production wires
 * `NodeTransport` (node-transport.ts: HTTP/1.1, or HTTPS with mutual TLS).
 *
 * What crosses it is one exchange at a time: a request (method, target,
 * headers, a whole body) and its response (status, headers, a body that is
 * either whole or streamed). The transport authenticates nothing and
 * interprets no header except the body's length; that is the peer layer's
 * job, above it.
 *
 * Contract, for every implementation (the simulated one included):
 * - Header names are lower case. A whole body's length is in
 *   `content-length` (the sender sets it; the peer listener refuses a
 *   request without it). A streamed response has none.
 * - Bodies arrive as chunks of any size and split (a frame may straddle
 *   chunks). A reader that stops pulling stops the sender: a stream's
 *   `write` resolves only once its bytes were handed to the connection, and
 *   while the reader does not read, the connection's buffer fills and the
 *   next `write` waits. Memory is bounded by that buffer, not by the stream.
 * - A connection can fail in every phase. The failure reaches whoever waits
 *   on it as a rejection: `request` rejects, a body's iteration or
 *   `readAll` throws, a `write` rejects, and `ResponseWriter.signal`
 *   aborts. Nothing hangs on a connection that is gone.
 * - `OutboundRequest.signal` aborts the exchange in every phase: before it
 *   is sent, while the answer's head is awaited (`request` rejects with an
 *   AbortError), and while its body streams (iteration throws).
 *   `timeoutMs` bounds every wait on the connection (no head, or no bytes
 *   for that long): the exchange then fails with a TransportError "timeout".
 * - Callbacks (`onRequest`, `onMalformed`, `onConnectionsChanged`) run on
 *   the event loop, never synchronously inside the call that caused them.
 */
import { AddressError, MarsError } from "../util/errors.js";
export class TransportError extends MarsError {
    constructor(code, message) {
        super("TRANSPORT_FAILED", message, { code });
    }
}
/** Splits "host:port" / "[v6]:port"; throws on anything else. */
export function splitAddress(address) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
    if (!m)
        throw new AddressError(`peer address "${address}" is not host:port`);
    return [(m[1] ?? m[2]), Number(m[3])];
}
//# sourceMappingURL=transport.js.map
/**
 * One NBD transmission request: decoding its header, checking it, running
 * it against the volume, and the errno its failure answers with.
 *
 * Pure with respect to the connection: nothing here touches the socket or
 * the connection's bounds (transmission.ts does). A request that cannot be
 * served answers with an errno, never an exception: EINVAL for flags a
 * command does not accept, an unknown command or an oversized READ; ENOSPC
 * or EINVAL past the end of the volume; EPERM on a read-only volume;
 * ESHUTDOWN once it is closed; EIO for anything else.
 */
import { ReadOnlyError } from "../../resource/block-volume.js";
import { ClosedError, OutOfRangeError } from "../../util/errors.js";
import { Cmd, CmdFlag, Errno, MAX_PAYLOAD_BYTES, REQUEST_MAGIC, SIMPLE_REPLY_BYTES } from "./protocol.js";
/**
 * Flags each command accepts; anything else is answered with EINVAL. FUA is
 * valid on every command once SEND_FUA is advertised (proto.md: the server
 * MUST accept it, clients are known to set it on reads and flushes).
 */
const ALLOWED_FLAGS = {
    [Cmd.READ]: CmdFlag.FUA,
    [Cmd.WRITE]: CmdFlag.FUA,
    [Cmd.FLUSH]: CmdFlag.FUA,
    [Cmd.TRIM]: CmdFlag.FUA,
    [Cmd.WRITE_ZEROES]: CmdFlag.FUA | CmdFlag.NO_HOLE,
    [Cmd.DISC]: CmdFlag.FUA,
};
/**
 * Decodes a request header (REQUEST_HEADER_BYTES long), or undefined if its
 * magic is wrong. The cost starts at the reply header; the caller adds the
 * payload or the READ data it will hold.
 */
export function parseRequestHeader(h, startedMs) {
    if (h.readUInt32BE(0) !== REQUEST_MAGIC)
        return undefined;
    const offset = h.readUInt32BE(16) * 2 ** 32 + h.readUInt32BE(20);
    return {
        flags: h.readUInt16BE(4),
        type: h.readUInt16BE(6),
        cookie: Buffer.from(h.subarray(8, 16)),
        offset,
        length: h.readUInt32BE(24),
        startedMs,
        costBytes: SIMPLE_REPLY_BYTES,
    };
}
/** Errno.OK, or the errno a request that must not run answers with. */
export function validateRequest(request) {
    const allowed = ALLOWED_FLAGS[request.type];
    if (allowed === undefined)
        return Errno.EINVAL;
    if ((request.flags & ~allowed) !== 0)
        return Errno.EINVAL;
    if (!Number.isSafeInteger(request.offset))
        return request.type === Cmd.READ ? Errno.EINVAL : Errno.ENOSPC;
    if (request.type === Cmd.READ && request.length > MAX_PAYLOAD_BYTES)
        return Errno.EINVAL;
    return Errno.OK;
}
/**
 * Runs a valid request against the volume and calls `reply` with Errno.OK
 * once it is done (a READ passes its reply buffer: the data sits behind
 * room for the reply header). Rejects with the volume's error.
 */
export async function executeRequest(volume, request, data, reply) {
    switch (request.type) {
        case Cmd.READ: {
            // Read straight into the reply buffer behind the reply header: one write, no copy.
            const out = Buffer.allocUnsafe(SIMPLE_REPLY_BYTES + request.length);
            await volume.read(request.offset, out.subarray(SIMPLE_REPLY_BYTES));
            reply(Errno.OK, out);
            return;
        }
        case Cmd.WRITE:
            await volume.write(request.offset, data);
            break;
        case Cmd.WRITE_ZEROES:
            await volume.writeZeroes(request.offset, request.length);
            break;
        case Cmd.TRIM:
            await volume.trim(request.offset, request.length);
            break;
        case Cmd.FLUSH:
            await volume.flush();
            break;
    }
    // FUA needs nothing extra: the volume acknowledges only durable writes.
    reply(Errno.OK);
}
/** The errno a failed request of command `type` answers with. */
export function errnoFor(err, type) {
    if (err instanceof OutOfRangeError) {
        return type === Cmd.WRITE || type === Cmd.WRITE_ZEROES ? Errno.ENOSPC : Errno.EINVAL;
    }
    if (err instanceof ReadOnlyError)
        return Errno.EPERM;
    if (err instanceof ClosedError)
        return Errno.ESHUTDOWN;
    return Errno.EIO;
}
//# sourceMappingURL=request.js.map
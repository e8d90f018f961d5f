import { ByteQueue } from "./byte-queue.js";
import { FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, Info, MAX_OPTION_BYTES, MAX_PAYLOAD_BYTES, NBDMAGIC, OPTION_REPLY_MAGIC, Opt, Rep, TFlag, } from "./protocol.js";
import { MarsError } from "../../util/errors.js";
/** The client broke the protocol; the connection is dropped (a "hard disconnect"). */
export class ProtocolError extends MarsError {
    constructor(message) {
        super("NBD_PROTOCOL", message);
    }
}
/**
 * Bytes a negotiating client may have us hold: unparsed input (one option
 * of the largest size and its header, twice) and unread option replies.
 * Beyond them we stop reading until the client catches up (or its
 * handshake deadline closes it).
 */
const MAX_HANDSHAKE_INPUT_BYTES = 2 * (16 + MAX_OPTION_BYTES);
const MAX_HANDSHAKE_OUTPUT_BYTES = 1024 * 1024;
/** Reads exact byte counts from a socket during negotiation. */
class SocketReader {
    socket;
    queue = new ByteQueue();
    wake;
    ended = false;
    paused = false;
    constructor(socket) {
        this.socket = socket;
        socket.on("data", this.onData);
        socket.on("close", this.onEnd);
        socket.on("end", this.onEnd);
        socket.on("drain", this.onDrain);
    }
    onData = (chunk) => {
        this.queue.push(chunk);
        this.flowControl();
        this.wake?.();
    };
    onDrain = () => {
        this.flowControl();
    };
    /** A client that sends faster than we parse, or does not read our replies, is not read further. */
    flowControl() {
        const hold = this.queue.length > MAX_HANDSHAKE_INPUT_BYTES ||
            this.socket.writableLength > MAX_HANDSHAKE_OUTPUT_BYTES;
        if (hold && !this.paused) {
            this.paused = true;
            this.socket.pause();
        }
        else if (!hold && this.paused) {
            this.paused = false;
            this.socket.resume();
        }
    }
    onEnd = () => {
        this.ended = true;
        this.wake?.();
    };
    async read(n) {
        while (this.queue.length < n) {
            if (this.ended)
                throw new ProtocolError("client disconnected during negotiation");
            await new Promise((resolve) => (this.wake = resolve));
            this.wake = undefined;
        }
        const out = this.queue.take(n);
        this.flowControl();
        return out;
    }
    /** Hands the socket on, possibly paused: its next owner resumes it once it listens for data. */
    detach() {
        this.socket.off("data", this.onData);
        this.socket.off("close", this.onEnd);
        this.socket.off("end", this.onEnd);
        this.socket.off("drain", this.onDrain);
    }
}
export function transmissionFlags(volume) {
    let flags = TFlag.HAS_FLAGS | TFlag.SEND_FLUSH | TFlag.SEND_FUA | TFlag.SEND_TRIM | TFlag.SEND_WRITE_ZEROES;
    // Every acknowledged write is durable whichever connection wrote it, so a
    // flush on one connection covers all of them: multi-conn is safe.
    flags |= TFlag.CAN_MULTI_CONN;
    if (!volume.writable)
        flags |= TFlag.READ_ONLY;
    return flags;
}
function optionReply(option, type, data = Buffer.alloc(0)) {
    const head = Buffer.allocUnsafe(20);
    head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
    head.writeUInt32BE(option, 8);
    head.writeUInt32BE(type, 12);
    head.writeUInt32BE(data.length, 16);
    return Buffer.concat([head, data]);
}
function errorReply(option, type, message) {
    return optionReply(option, type, Buffer.from(message, "utf8"));
}
function exportInfo(volume) {
    const b = Buffer.allocUnsafe(12);
    b.writeUInt16BE(Info.EXPORT, 0);
    b.writeBigUInt64BE(BigInt(volume.sizeBytes), 2);
    b.writeUInt16BE(transmissionFlags(volume), 10);
    return b;
}
function blockSizeInfo() {
    const b = Buffer.allocUnsafe(14);
    b.writeUInt16BE(Info.BLOCK_SIZE, 0);
    b.writeUInt32BE(1, 2); // minimum: any byte range works
    b.writeUInt32BE(4096, 6); // preferred
    b.writeUInt32BE(MAX_PAYLOAD_BYTES, 10); // maximum payload
    return b;
}
function nameInfo(name) {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(Info.NAME, 0);
    return Buffer.concat([b, Buffer.from(name, "utf8")]);
}
/**
 * Runs the negotiation. Resolves with the chosen export, or undefined when
 * the client aborted; rejects with ProtocolError on a protocol violation.
 * `isShuttingDown` makes options fail with NBD_REP_ERR_SHUTDOWN.
 */
export async function negotiate(socket, registry, isShuttingDown) {
    const reader = new SocketReader(socket);
    try {
        const greeting = Buffer.allocUnsafe(18);
        greeting.writeBigUInt64BE(NBDMAGIC, 0);
        greeting.writeBigUInt64BE(IHAVEOPT, 8);
        greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
        socket.write(greeting);
        const clientFlags = (await reader.read(4)).readUInt32BE(0);
        if ((clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) !== 0) {
            throw new ProtocolError(`unknown client flags 0x${clientFlags.toString(16)}`);
        }
        const noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;
        for (;;) {
            const head = await reader.read(16);
            if (head.readBigUInt64BE(0) !== IHAVEOPT)
                throw new ProtocolError("bad option magic");
            const option = head.readUInt32BE(8);
            const length = head.readUInt32BE(12);
            if (length > MAX_OPTION_BYTES)
                throw new ProtocolError(`option ${option} with ${length} bytes of data`);
            const data = await reader.read(length);
            if (option === Opt.ABORT) {
                socket.write(optionReply(option, Rep.ACK));
                return undefined;
            }
            if (isShuttingDown()) {
                socket.write(errorReply(option, Rep.ERR_SHUTDOWN, "server is shutting down"));
                continue;
            }
            switch (option) {
                case Opt.EXPORT_NAME: {
                    const name = data.toString("utf8");
                    const volume = registry.lookupExport(name);
                    // EXPORT_NAME cannot report errors: the only answer to a bad name is to hang up.
                    if (!volume)
                        throw new ProtocolError(`unknown export "${name}" requested with NBD_OPT_EXPORT_NAME`);
                    const reply = Buffer.alloc(noZeroes ? 10 : 134);
                    reply.writeBigUInt64BE(BigInt(volume.sizeBytes), 0);
                    reply.writeUInt16BE(transmissionFlags(volume), 8);
                    socket.write(reply);
                    return { name, volume, leftover: reader.queue };
                }
                case Opt.LIST: {
                    if (length !== 0) {
                        socket.write(errorReply(option, Rep.ERR_INVALID, "NBD_OPT_LIST takes no data"));
                        continue;
                    }
                    for (const name of registry.listExports()) {
                        const nameBytes = Buffer.from(name, "utf8");
                        const payload = Buffer.allocUnsafe(4 + nameBytes.length);
                        payload.writeUInt32BE(nameBytes.length, 0);
                        nameBytes.copy(payload, 4);
                        socket.write(optionReply(option, Rep.SERVER, payload));
                    }
                    socket.write(optionReply(option, Rep.ACK));
                    continue;
                }
                case Opt.INFO:
                case Opt.GO: {
                    const parsed = parseInfoRequest(data);
                    if (typeof parsed === "string") {
                        socket.write(errorReply(option, Rep.ERR_INVALID, parsed));
                        continue;
                    }
                    const volume = registry.lookupExport(parsed.name);
                    if (!volume) {
                        socket.write(errorReply(option, Rep.ERR_UNKNOWN, `no export named "${parsed.name}"`));
                        continue;
                    }
                    socket.write(optionReply(option, Rep.INFO, exportInfo(volume)));
                    if (parsed.requests.includes(Info.BLOCK_SIZE))
                        socket.write(optionReply(option, Rep.INFO, blockSizeInfo()));
                    if (parsed.requests.includes(Info.NAME))
                        socket.write(optionReply(option, Rep.INFO, nameInfo(parsed.name)));
                    socket.write(optionReply(option, Rep.ACK));
                    if (option === Opt.GO)
                        return { name: parsed.name, volume, leftover: reader.queue };
                    continue;
                }
                case Opt.STARTTLS:
                    socket.write(errorReply(option, Rep.ERR_POLICY, "TLS is not offered on this socket"));
                    continue;
                default:
                    socket.write(errorReply(option, Rep.ERR_UNSUP, `option ${option} is not supported`));
            }
        }
    }
    finally {
        reader.detach();
    }
}
function parseInfoRequest(data) {
    if (data.length < 6)
        return "NBD_OPT_INFO/GO data is too short";
    const nameLength = data.readUInt32BE(0);
    if (nameLength > data.length - 6)
        return "export name length exceeds the option data";
    const name = data.subarray(4, 4 + nameLength).toString("utf8");
    const count = data.readUInt16BE(4 + nameLength);
    if (data.length !== 6 + nameLength + 2 * count)
        return "information request count does not match the option data";
    const requests = [];
    for (let i = 0; i < count; i++)
        requests.push(data.readUInt16BE(6 + nameLength + 2 * i));
    return { name, requests };
}
//# sourceMappingURL=handshake.js.map
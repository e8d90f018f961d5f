/**
 * A deliberately small, raw NBD client for protocol tests: it sends exactly
 * the bytes a test asks for (including malformed ones) and reads replies
 * byte-exactly, so the server's answers to bad input can be checked. Real
 * clients (libnbd, qemu, the kernel) are driven elsewhere.
 */
import net from "node:net";
import { IHAVEOPT, NBDMAGIC, OPTION_REPLY_MAGIC, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC, } from "../../src/frontend/nbd/protocol.js";
export class RawNbdClient {
    socket;
    buffered = Buffer.alloc(0);
    waiter;
    ended = false;
    closed;
    constructor(socket) {
        this.socket = socket;
        socket.on("data", (chunk) => {
            this.buffered = Buffer.concat([this.buffered, chunk]);
            this.waiter?.();
        });
        this.closed = new Promise((resolve) => socket.once("close", () => {
            this.ended = true;
            this.waiter?.();
            resolve();
        }));
        socket.on("error", () => undefined);
    }
    static connect(socketPath) {
        return new Promise((resolve, reject) => {
            const socket = net.createConnection(socketPath, () => resolve(new RawNbdClient(socket)));
            socket.once("error", reject);
        });
    }
    /** Reads exactly n bytes; rejects if the server closes first. */
    async read(n, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        while (this.buffered.length < n) {
            if (this.ended)
                throw new Error(`connection closed with ${this.buffered.length}/${n} bytes read`);
            const left = deadline - Date.now();
            if (left <= 0)
                throw new Error(`timed out reading ${n} bytes`);
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, left);
                this.waiter = () => {
                    clearTimeout(timer);
                    resolve();
                };
            });
            this.waiter = undefined;
        }
        const out = this.buffered.subarray(0, n);
        this.buffered = this.buffered.subarray(n);
        return out;
    }
    write(...parts) {
        this.socket.write(Buffer.concat(parts));
    }
    /** Reads the 18-byte greeting and answers with client flags; returns the server's handshake flags. */
    async handshake(clientFlags = 0b11) {
        const greeting = await this.read(18);
        if (greeting.readBigUInt64BE(0) !== NBDMAGIC || greeting.readBigUInt64BE(8) !== IHAVEOPT) {
            throw new Error("bad greeting");
        }
        const flags = Buffer.alloc(4);
        flags.writeUInt32BE(clientFlags);
        this.write(flags);
        return greeting.readUInt16BE(16);
    }
    sendOption(option, data = Buffer.alloc(0), magic = IHAVEOPT, lengthOverride) {
        const head = Buffer.alloc(16);
        head.writeBigUInt64BE(magic, 0);
        head.writeUInt32BE(option, 8);
        head.writeUInt32BE(lengthOverride ?? data.length, 12);
        this.write(head, data);
    }
    async readOptionReply() {
        const head = await this.read(20);
        if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC)
            throw new Error("bad option reply magic");
        const length = head.readUInt32BE(16);
        return { option: head.readUInt32BE(8), type: head.readUInt32BE(12), data: await this.read(length) };
    }
    /** Option data of NBD_OPT_INFO / NBD_OPT_GO. */
    static infoRequest(name, requests = []) {
        const nameBytes = Buffer.from(name, "utf8");
        const data = Buffer.alloc(4 + nameBytes.length + 2 + 2 * requests.length);
        data.writeUInt32BE(nameBytes.length, 0);
        nameBytes.copy(data, 4);
        data.writeUInt16BE(requests.length, 4 + nameBytes.length);
        requests.forEach((r, i) => data.writeUInt16BE(r, 6 + nameBytes.length + 2 * i));
        return data;
    }
    sendRequest(type, options) {
        const head = Buffer.alloc(28);
        head.writeUInt32BE(options.magic ?? REQUEST_MAGIC, 0);
        head.writeUInt16BE(options.flags ?? 0, 4);
        head.writeUInt16BE(type, 6);
        head.writeBigUInt64BE(options.cookie ?? 0n, 8);
        head.writeBigUInt64BE(options.offset ?? 0n, 16);
        head.writeUInt32BE(options.length ?? options.data?.length ?? 0, 24);
        this.write(head, options.data ?? Buffer.alloc(0));
    }
    /** Reads one simple reply; `dataBytes` is the read payload to expect on success. */
    async readSimpleReply(dataBytes = 0) {
        const head = await this.read(16);
        if (head.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC)
            throw new Error("bad simple reply magic");
        const reply = { errno: head.readUInt32BE(4), cookie: head.readBigUInt64BE(8) };
        if (reply.errno === 0 && dataBytes > 0)
            reply.data = await this.read(dataBytes);
        return reply;
    }
    /** Reads one reply of pipelined requests; the cookie tells how much read data follows. */
    async readReplyByCookie(readBytesByCookie) {
        const head = await this.read(16);
        if (head.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC)
            throw new Error("bad simple reply magic");
        const reply = { errno: head.readUInt32BE(4), cookie: head.readBigUInt64BE(8) };
        const dataBytes = readBytesByCookie.get(reply.cookie);
        if (dataBytes === undefined)
            throw new Error(`reply for unknown cookie ${reply.cookie}`);
        if (reply.errno === 0 && dataBytes > 0)
            reply.data = await this.read(dataBytes);
        return reply;
    }
    close() {
        this.socket.destroy();
    }
}
//# sourceMappingURL=nbd-client.js.map
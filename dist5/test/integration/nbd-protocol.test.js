/**
 * The NBD server against malformed, out-of-range and unusual requests, sent
 * byte by byte with a raw client: every one gets the error the protocol
 * prescribes (or a hard disconnect where the protocol allows no answer),
 * and the daemon keeps serving everyone else.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Cmd, CmdFlag, Errno, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, Info, MAX_PAYLOAD_BYTES, Opt, Rep, TFlag, } from "../../src/frontend/nbd/protocol.js";
import { RawNbdClient } from "../helpers/nbd-client.js";
import { createVolume, startNodeWithVolume } from "../helpers/single-node.js";
import { requireTool, run } from "../helpers/tools.js";
const SIZE = 4 * 1024 * 1024;
describe("NBD server: protocol edges", () => {
    let node;
    const clients = [];
    before(async () => {
        node = await startNodeWithVolume({ sizeBytes: SIZE });
        await createVolume(node.daemon, "r1", 2 * 1024 * 1024);
    });
    after(async () => {
        for (const c of clients)
            c.close();
        await node?.daemon.cleanup();
    });
    async function connect() {
        const c = await RawNbdClient.connect(node.daemon.nbdSocket);
        clients.push(c);
        return c;
    }
    /** Negotiates `name` with NBD_OPT_GO; returns the export size and transmission flags. */
    async function open(name = "r0") {
        const c = await connect();
        await c.handshake();
        c.sendOption(Opt.GO, RawNbdClient.infoRequest(name));
        const info = await c.readOptionReply();
        assert.equal(info.type, Rep.INFO);
        assert.equal(info.data.readUInt16BE(0), Info.EXPORT);
        const ack = await c.readOptionReply();
        assert.equal(ack.type, Rep.ACK);
        return { c, size: info.data.readBigUInt64BE(2), flags: info.data.readUInt16BE(10) };
    }
    async function expectHangUp(c) {
        await c.closed;
    }
    it("greets with fixed newstyle and no zeroes, and lists the exports", async () => {
        const c = await connect();
        const flags = await c.handshake();
        assert.equal(flags, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        c.sendOption(Opt.LIST);
        const names = [];
        for (;;) {
            const reply = await c.readOptionReply();
            assert.equal(reply.option, Opt.LIST);
            if (reply.type === Rep.ACK)
                break;
            assert.equal(reply.type, Rep.SERVER);
            const length = reply.data.readUInt32BE(0);
            names.push(reply.data.subarray(4, 4 + length).toString());
        }
        assert.deepEqual(names, ["r0", "r1"]);
        c.sendOption(Opt.LIST, Buffer.from("x"));
        assert.equal((await c.readOptionReply()).type, Rep.ERR_INVALID);
        c.sendOption(Opt.ABORT);
        const ack = await c.readOptionReply();
        assert.equal(ack.type, Rep.ACK);
        await expectHangUp(c);
    });
    it("answers NBD_OPT_INFO truthfully and keeps negotiating", async () => {
        const c = await connect();
        await c.handshake();
        c.sendOption(Opt.INFO, RawNbdClient.infoRequest("r0", [Info.BLOCK_SIZE, Info.NAME]));
        const replies = [];
        for (;;) {
            const r = await c.readOptionReply();
            if (r.type === Rep.ACK)
                break;
            assert.equal(r.type, Rep.INFO);
            replies.push(r.data);
        }
        const byType = new Map(replies.map((d) => [d.readUInt16BE(0), d]));
        const exportInfo = byType.get(Info.EXPORT);
        assert.ok(exportInfo);
        assert.equal(exportInfo.readBigUInt64BE(2), BigInt(SIZE));
        const flags = exportInfo.readUInt16BE(10);
        const expected = TFlag.HAS_FLAGS |
            TFlag.SEND_FLUSH |
            TFlag.SEND_FUA |
            TFlag.SEND_TRIM |
            TFlag.SEND_WRITE_ZEROES |
            TFlag.CAN_MULTI_CONN;
        assert.equal(flags, expected, "read-write, flush, FUA, trim, write zeroes, multi-conn; nothing else");
        const blockSize = byType.get(Info.BLOCK_SIZE);
        assert.ok(blockSize);
        assert.deepEqual([blockSize.readUInt32BE(2), blockSize.readUInt32BE(6), blockSize.readUInt32BE(10)], [1, 4096, MAX_PAYLOAD_BYTES]);
        assert.equal(byType.get(Info.NAME)?.subarray(2).toString(), "r0");
        // Still negotiating: unknown exports and malformed requests get option errors.
        c.sendOption(Opt.INFO, RawNbdClient.infoRequest("nope"));
        assert.equal((await c.readOptionReply()).type, Rep.ERR_UNKNOWN);
        c.sendOption(Opt.GO, Buffer.from([0, 0, 0]));
        assert.equal((await c.readOptionReply()).type, Rep.ERR_INVALID, "too short");
        const badLength = RawNbdClient.infoRequest("r0");
        badLength.writeUInt32BE(100, 0);
        c.sendOption(Opt.GO, badLength);
        assert.equal((await c.readOptionReply()).type, Rep.ERR_INVALID, "name length beyond the data");
        const badCount = RawNbdClient.infoRequest("r0", [Info.NAME]);
        c.sendOption(Opt.INFO, badCount.subarray(0, badCount.length - 1));
        assert.equal((await c.readOptionReply()).type, Rep.ERR_INVALID, "request count does not match");
        c.sendOption(Opt.STRUCTURED_REPLY);
        assert.equal((await c.readOptionReply()).type, Rep.ERR_UNSUP);
        c.sendOption(Opt.LIST_META_CONTEXT, Buffer.alloc(8));
        assert.equal((await c.readOptionReply()).type, Rep.ERR_UNSUP);
        c.sendOption(Opt.STARTTLS);
        assert.equal((await c.readOptionReply()).type, Rep.ERR_POLICY);
        c.sendOption(99);
        assert.equal((await c.readOptionReply()).type, Rep.ERR_UNSUP);
        // ...and a GO after all that still works.
        c.sendOption(Opt.GO, RawNbdClient.infoRequest("r1"));
        assert.equal((await c.readOptionReply()).type, Rep.INFO);
        assert.equal((await c.readOptionReply()).type, Rep.ACK);
        c.sendRequest(Cmd.READ, { cookie: 1n, length: 512 });
        assert.equal((await c.readSimpleReply(512)).errno, 0);
    });
    it("hangs up on handshake violations it cannot answer", async () => {
        const badFlags = await connect();
        await badFlags.handshake(1 << 7);
        await expectHangUp(badFlags);
        const badMagic = await connect();
        await badMagic.handshake();
        badMagic.sendOption(Opt.LIST, Buffer.alloc(0), 0x1234n);
        await expectHangUp(badMagic);
        const huge = await connect();
        await huge.handshake();
        huge.sendOption(Opt.GO, Buffer.alloc(0), undefined, 10 * 1024 * 1024);
        await expectHangUp(huge);
        // NBD_OPT_EXPORT_NAME cannot carry an error: an unknown name is a disconnect.
        const unknown = await connect();
        await unknown.handshake();
        unknown.sendOption(Opt.EXPORT_NAME, Buffer.from("nope"));
        await expectHangUp(unknown);
    });
    it("serves NBD_OPT_EXPORT_NAME, with and without the 124 zero bytes", async () => {
        for (const [clientFlags, replyBytes] of [
            [0b11, 10],
            [0b01, 134],
        ]) {
            const c = await connect();
            await c.handshake(clientFlags);
            c.sendOption(Opt.EXPORT_NAME, Buffer.from("r0"));
            const reply = await c.read(replyBytes);
            assert.equal(reply.readBigUInt64BE(0), BigInt(SIZE));
            assert.equal(reply.readUInt16BE(8) & TFlag.HAS_FLAGS, TFlag.HAS_FLAGS);
            if (replyBytes === 134)
                assert.ok(reply.subarray(10).equals(Buffer.alloc(124)));
            c.sendRequest(Cmd.WRITE, { cookie: 7n, offset: 4096n, data: Buffer.alloc(512, clientFlags) });
            assert.deepEqual(await c.readSimpleReply(), { errno: 0, cookie: 7n });
            c.sendRequest(Cmd.READ, { cookie: 8n, offset: 4096n, length: 512 });
            const read = await c.readSimpleReply(512);
            assert.ok(read.data?.equals(Buffer.alloc(512, clientFlags)));
        }
    });
    it("executes every command, with FUA accepted on all of them", async () => {
        const { c, size, flags } = await open();
        assert.equal(size, BigInt(SIZE));
        assert.equal(flags & TFlag.READ_ONLY, 0);
        const data = Buffer.alloc(8192, 0xa5);
        c.sendRequest(Cmd.WRITE, { cookie: 1n, offset: 65536n, data, flags: CmdFlag.FUA });
        assert.deepEqual(await c.readSimpleReply(), { errno: 0, cookie: 1n });
        c.sendRequest(Cmd.READ, { cookie: 2n, offset: 65536n, length: 8192, flags: CmdFlag.FUA });
        assert.ok((await c.readSimpleReply(8192)).data?.equals(data));
        c.sendRequest(Cmd.WRITE_ZEROES, {
            cookie: 3n,
            offset: 65536n + 1024n,
            length: 2048,
            flags: CmdFlag.NO_HOLE | CmdFlag.FUA,
        });
        assert.equal((await c.readSimpleReply()).errno, 0);
        c.sendRequest(Cmd.READ, { cookie: 4n, offset: 65536n, length: 8192 });
        const expected = Buffer.from(data);
        expected.fill(0, 1024, 3072);
        assert.ok((await c.readSimpleReply(8192)).data?.equals(expected));
        c.sendRequest(Cmd.TRIM, { cookie: 5n, offset: 0n, length: 4096, flags: CmdFlag.FUA });
        assert.equal((await c.readSimpleReply()).errno, 0);
        c.sendRequest(Cmd.FLUSH, { cookie: 6n, flags: CmdFlag.FUA });
        assert.equal((await c.readSimpleReply()).errno, 0);
        c.sendRequest(Cmd.WRITE, { cookie: 7n, offset: 0n, data: Buffer.alloc(0) });
        assert.equal((await c.readSimpleReply()).errno, 0, "an empty write is fine");
        // Soft disconnect: no reply, the server closes.
        c.sendRequest(Cmd.DISC, {});
        await expectHangUp(c);
    });
    it("answers out-of-range requests with EINVAL (reads, trims) and ENOSPC (writes)", async () => {
        const { c } = await open();
        const end = BigInt(SIZE);
        const cases = [
            ["read past the end", Cmd.READ, { offset: end - 512n, length: 1024 }, Errno.EINVAL],
            ["read at the end", Cmd.READ, { offset: end, length: 1 }, Errno.EINVAL],
            ["read at 2^63", Cmd.READ, { offset: 1n << 63n, length: 512 }, Errno.EINVAL],
            ["write past the end", Cmd.WRITE, { offset: end - 100n, data: Buffer.alloc(200) }, Errno.ENOSPC],
            ["write far beyond", Cmd.WRITE, { offset: 1n << 62n, data: Buffer.alloc(16) }, Errno.ENOSPC],
            ["write zeroes past the end", Cmd.WRITE_ZEROES, { offset: end - 1n, length: 2 }, Errno.ENOSPC],
            ["trim past the end", Cmd.TRIM, { offset: end, length: 4096 }, Errno.EINVAL],
        ];
        let cookie = 100n;
        for (const [what, type, req, errno] of cases) {
            cookie += 1n;
            c.sendRequest(type, { cookie, ...req });
            const reply = await c.readSimpleReply(0);
            assert.deepEqual(reply, { errno, cookie }, what);
        }
        // The connection is still in sync: a valid request afterwards works.
        c.sendRequest(Cmd.READ, { cookie: 1n, offset: end - 512n, length: 512 });
        assert.equal((await c.readSimpleReply(512)).errno, 0);
    });
    it("answers unknown commands, unknown flags and oversized requests with EINVAL and stays in sync", async () => {
        const { c } = await open();
        const cases = [
            ["NBD_CMD_CACHE", Cmd.CACHE, { length: 512 }],
            ["NBD_CMD_BLOCK_STATUS without negotiation", Cmd.BLOCK_STATUS, { length: 512 }],
            ["unknown command 200", 200, {}],
            ["DF on a read (not negotiated)", Cmd.READ, { length: 512, flags: CmdFlag.DF }],
            ["unknown flag bit 9", Cmd.WRITE, { data: Buffer.alloc(512), flags: 1 << 9 }],
            ["NO_HOLE on a write", Cmd.WRITE, { data: Buffer.alloc(64), flags: CmdFlag.NO_HOLE }],
            ["read above the maximum block size", Cmd.READ, { length: MAX_PAYLOAD_BYTES + 1 }],
            [
                "write above the maximum block size (payload skipped)",
                Cmd.WRITE,
                { data: Buffer.alloc(MAX_PAYLOAD_BYTES + 4096, 1) },
            ],
        ];
        let cookie = 0n;
        for (const [what, type, req] of cases) {
            cookie += 1n;
            c.sendRequest(type, { cookie, ...req });
            assert.deepEqual(await c.readSimpleReply(0), { errno: Errno.EINVAL, cookie }, what);
        }
        c.sendRequest(Cmd.WRITE, { cookie: 99n, offset: 0n, data: Buffer.alloc(512, 9) });
        assert.deepEqual(await c.readSimpleReply(), { errno: 0, cookie: 99n });
        c.sendRequest(Cmd.READ, { cookie: 100n, offset: 0n, length: 512 });
        assert.ok((await c.readSimpleReply(512)).data?.equals(Buffer.alloc(512, 9)), "the oversized payload was not taken as commands");
    });
    it("drops a client that sends a bad request magic, without affecting others", async () => {
        const other = await open();
        const { c } = await open();
        c.sendRequest(Cmd.READ, { length: 512, magic: 0xdeadbeef });
        await expectHangUp(c);
        other.c.sendRequest(Cmd.READ, { cookie: 5n, length: 512 });
        assert.equal((await other.c.readSimpleReply(512)).errno, 0);
    });
    it("serves pipelined requests from several clients at once, each reply matching its cookie", async () => {
        const conns = await Promise.all([open(), open(), open()]);
        await Promise.all(conns.map(async ({ c }, k) => {
            const lengths = new Map();
            const expected = new Map();
            // 64 writes in flight on one connection, then 64 reads of them.
            for (let i = 0; i < 64; i++) {
                const cookie = BigInt(k * 1000 + i);
                const block = Buffer.alloc(4096, (k * 64 + i) & 0xff);
                c.sendRequest(Cmd.WRITE, {
                    cookie,
                    offset: BigInt((k * 64 + i) * 4096 + 1024 * 1024),
                    data: block,
                });
                lengths.set(cookie, 0);
                expected.set(cookie + 100000n, block);
                lengths.set(cookie + 100000n, 4096);
            }
            for (let i = 0; i < 64; i++) {
                const reply = await c.readReplyByCookie(lengths);
                assert.equal(reply.errno, 0);
            }
            for (let i = 0; i < 64; i++) {
                c.sendRequest(Cmd.READ, {
                    cookie: BigInt(k * 1000 + i) + 100000n,
                    offset: BigInt((k * 64 + i) * 4096 + 1024 * 1024),
                    length: 4096,
                });
            }
            const seen = new Set();
            for (let i = 0; i < 64; i++) {
                const reply = await c.readReplyByCookie(lengths);
                assert.equal(reply.errno, 0);
                assert.ok(reply.data?.equals(expected.get(reply.cookie)), `cookie ${reply.cookie}`);
                seen.add(reply.cookie);
            }
            assert.equal(seen.size, 64);
        }));
    });
    it("is still healthy and serving real clients after all of that", async () => {
        const res = await fetch(`${node.daemon.adminUrl}/healthz`);
        assert.equal(res.status, 200);
        const { stdout } = await run(requireTool("nbdinfo"), ["--size", node.uri]);
        assert.equal(stdout.trim(), String(SIZE));
        assert.equal(node.daemon.exitCode, null);
    });
});
//# sourceMappingURL=nbd-protocol.test.js.map
/**
 * Tools for tests that attack the NBD server: the daemon's resident memory
 * (from /proc), a metric from /metrics, a raw fixed-newstyle negotiation
 * that reaches the transmission phase, and a libnbd client (Debian's
 * python3-libnbd, a real client we did not write) that writes, reads back
 * and verifies data, to show that well-behaved clients keep working.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import net from "node:net";
import { FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, IHAVEOPT, Opt } from "../../src/frontend/nbd/protocol.js";
import { prng } from "./prng.js";
import { SYSTEM_PYTHON, run } from "./tools.js";
/** VmRSS of a process in bytes. */
export async function rssBytes(pid) {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!m)
        throw new Error(`no VmRSS in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
}
export function daemonPid(daemon) {
    const pid = daemon.child?.pid;
    if (pid === undefined)
        throw new Error("daemon has no pid");
    return pid;
}
/** Sum of a metric's samples whose label set contains `labels` (e.g. 'scope="total"'); 0 if absent. */
export async function metricValue(daemon, name, labels = "") {
    const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
        if (!line.startsWith(name))
            continue;
        const m = /^(\w+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (!m || m[1] !== name || !(m[2] ?? "").includes(labels))
            continue;
        sum += Number(m[3]);
    }
    return sum;
}
/** Client flags, then NBD_OPT_GO for `exportName` with no information requests. */
export function goHandshakeBytes(exportName) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
    const name = Buffer.from(exportName, "utf8");
    const data = Buffer.alloc(4 + name.length + 2);
    data.writeUInt32BE(name.length, 0);
    name.copy(data, 4);
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(IHAVEOPT, 0);
    head.writeUInt32BE(Opt.GO, 8);
    head.writeUInt32BE(data.length, 12);
    return Buffer.concat([flags, head, data]);
}
/**
 * Connects to the Unix socket and negotiates `exportName` with NBD_OPT_GO,
 * reading the greeting and option replies itself; resolves once the
 * transmission phase began (after the final ACK), leaving later bytes unread.
 */
export function rawTransmission(socketPath, exportName) {
    return new Promise((resolve, reject) => {
        const socket = net.createConnection(socketPath);
        let got = Buffer.alloc(0);
        let sent = false;
        const fail = (err) => {
            socket.destroy();
            reject(err);
        };
        socket.on("error", fail);
        const onData = (chunk) => {
            got = Buffer.concat([got, chunk]);
            if (!sent && got.length >= 18) {
                sent = true;
                got = got.subarray(18);
                socket.write(goHandshakeBytes(exportName));
            }
            // Option replies: 20-byte header + data; the GO ends with an ACK (type 1).
            while (sent && got.length >= 20) {
                const length = got.readUInt32BE(16);
                if (got.length < 20 + length)
                    return;
                const type = got.readUInt32BE(12);
                got = got.subarray(20 + length);
                if (type === 1) {
                    socket.off("data", onData);
                    socket.off("error", fail);
                    socket.on("error", () => undefined);
                    socket.pause();
                    resolve(socket);
                    return;
                }
                if (type >= 2 ** 31)
                    return fail(new Error(`NBD_OPT_GO refused with reply type ${type}`));
            }
        };
        socket.on("data", onData);
    });
}
const LIBNBD_SCRIPT = `
import hashlib, nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
offset = int(sys.argv[3])
if sys.argv[2] == "write":
    data = sys.stdin.buffer.read()
    h.pwrite(data, offset)
    h.flush()
    if h.pread(len(data), offset) != data:
        sys.exit("read back differs from what was written")
else:
    print(hashlib.sha256(h.pread(int(sys.argv[4]), offset)).hexdigest())
h.shutdown()
`;
/** libnbd writes `data` at `offset`, flushes, reads it back and compares (rejects on any failure). */
export async function libnbdWriteVerify(uri, offset, data, timeoutMs = 10_000) {
    await run(SYSTEM_PYTHON, ["-c", LIBNBD_SCRIPT, uri, "write", String(offset)], { input: data, timeoutMs });
}
/** libnbd reads `length` bytes at `offset`; returns their SHA-256 (hex). */
export async function libnbdReadSha256(uri, offset, length, timeoutMs = 10_000) {
    const args = ["-c", LIBNBD_SCRIPT, uri, "read", String(offset), String(length)];
    return (await run(SYSTEM_PYTHON, args, { timeoutMs })).stdout.trim();
}
export function sha256(data) {
    return createHash("sha256").update(data).digest("hex");
}
/**
 * A libnbd client that works beside a hostile one: it writes 4 MiB that it
 * keeps at offset 0, then writes, reads back and verifies 1 MiB after
 * another behind them (offsets 4-8 MiB) until stopped. Its data comes from
 * `seed`.
 */
export async function startWellBehavedClient(uri, seed) {
    const MiB = 1024 * 1024;
    const random = prng(seed);
    const pattern = (bytes) => {
        const b = Buffer.alloc(bytes);
        for (let i = 0; i < bytes; i += 4)
            b.writeUInt32LE((random() * 2 ** 32) >>> 0, i);
        return b;
    };
    const kept = pattern(4 * MiB);
    await libnbdWriteVerify(uri, 0, kept);
    let running = true;
    let roundTrips = 0;
    const loop = (async () => {
        while (running) {
            await libnbdWriteVerify(uri, 4 * MiB + (roundTrips % 4) * MiB, pattern(MiB));
            roundTrips += 1;
        }
    })();
    return {
        get roundTrips() {
            return roundTrips;
        },
        stop: async () => {
            running = false;
            await loop;
        },
        keptIntact: async () => (await libnbdReadSha256(uri, 0, 4 * MiB)) === sha256(kept),
    };
}
//# sourceMappingURL=nbd-hostile.js.map
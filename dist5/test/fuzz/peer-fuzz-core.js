/**
 * The peer-protocol fuzzer: unsigned and forged requests (any method, path,
 * header subset, declared length, body) and validly signed requests with
 * mutated content (every route's body shape with wrong types, missing and
 * extra fields, boundaries), sometimes altered after signing. Pass: no
 * HTTP 5xx, an answer for every request (node's parser answers too), memory
 * within its bound, and the well-behaved peer keeps working. The daemon's
 * log is checked by the caller (no line at error level).
 *
 * Signed inputs never claim to be the well-behaved peer, never remove a
 * node, and give only closed loopback ports as addresses (see generators.ts).
 */
import { HEADER, sha256Hex, signRequest } from "../../src/peer/auth.js";
import { floodPost, rawHttp, watchRss } from "../helpers/hostile.js";
import { Gen } from "./generators.js";
const ROUTES = [
    "/peer/v1/join",
    "/peer/v1/state/pull",
    "/peer/v1/state/push",
    "/peer/v1/log/list",
    "/peer/v1/log/stream",
    "/peer/v1/sync/window",
    "/peer/v1/sync/digest",
    "/peer/v1/sync/regions",
];
const MAX_FAILURES = 20;
class PeerInputs {
    g;
    target;
    constructor(g, target) {
        this.g = g;
        this.target = target;
    }
    /** From the seed, as everything else here; only the clock (times in signed headers) differs between replays. */
    nonce() {
        return this.g.bytes(16).toString("hex");
    }
    senderHost() {
        return this.g.pick(["node-z", "fuzz-1", "fuzz-2", this.target.host, "a", `f${this.g.int(0, 9)}`]);
    }
    entry(owner) {
        const g = this.g;
        const key = g.pick([
            `node/${owner}/address`,
            `fuzz/${g.string(10)}`,
            `resource/fz${g.int(0, 3)}/${g.pick(["config", "primary", `member/${owner}`])}`,
            g.string(30).replace(/^cluster\/removed/, "x"),
        ]);
        const value = key.endsWith("/address") ? "127.0.0.1:1" : g.json(2);
        const e = {
            key,
            value,
            stampUs: g.pick([Date.now() * 1000, Date.now() * 1000 + g.int(0, 1e6), 0, 1, -1, g.number()]),
            owner: g.chance(0.9) ? owner : g.string(6),
        };
        if (g.chance(0.1))
            e.deleted = true;
        return g.chance(0.9) ? e : g.json(2);
    }
    validBody(route, host) {
        const g = this.g;
        const entries = () => Array.from({ length: g.int(0, 5) }, () => this.entry(host));
        switch (route) {
            case "/peer/v1/join":
                return { host, address: g.pick(["127.0.0.1:1", "[::1]:1", g.string(10)]), entries: entries() };
            case "/peer/v1/state/pull":
                return g.chance(0.5)
                    ? { since: { [this.target.host]: g.pick([0, Date.now() * 1000, g.number()]), [host]: 0 } }
                    : { digest: g.string(64), horizonUs: g.number(), sincePeerUs: g.number() };
            case "/peer/v1/state/push":
                return { entries: entries(), basisUs: g.number(), upToUs: g.number() };
            case "/peer/v1/log/list":
                return {
                    resource: g.pick(["fz0", "keep", g.string(8)]),
                    afterFileNumber: g.number(),
                    waitMs: g.pick([0, 1, 10]),
                };
            case "/peer/v1/log/stream":
                return { resource: g.pick(["fz0", g.string(8)]), file: g.string(20), offsetBytes: g.number() };
            default:
                return {
                    resource: g.pick(["fz0", g.string(8)]),
                    offsetBytes: g.number(),
                    hashes: Array.from({ length: g.int(0, 20) }, () => (g.chance(0.9) ? g.string(64) : g.json(1))),
                };
        }
    }
    mutatedBody(route, host) {
        const g = this.g;
        const body = this.validBody(route, host);
        const keys = Object.keys(body);
        const m = g.int(0, 9);
        if (m === 0 && keys.length > 0)
            delete body[g.pick(keys)];
        else if (m === 1 && keys.length > 0) {
            const k = g.pick(keys);
            body[k] = g.wrongType(body[k]);
        }
        else if (m === 2)
            body[g.pick(["extra", "__proto__", g.string(5)])] = g.json();
        else if (m === 3)
            return Buffer.from(JSON.stringify(g.json(3)) ?? "null");
        else if (m === 4)
            return g.bytes(g.int(0, 500));
        else if (m === 5)
            return Buffer.alloc(0);
        if (m === 6 && route.endsWith("push")) {
            // Many entries: a body near the state cap.
            body.entries = Array.from({ length: g.int(100, 3000) }, () => this.entry(host));
        }
        return Buffer.from(JSON.stringify(body));
    }
    /** A signed request; sometimes altered after signing (must be refused). */
    signed() {
        const g = this.g;
        const route = g.pick(ROUTES);
        const host = this.senderHost();
        const body = this.mutatedBody(route, host);
        const query = g.chance(0.1) ? `?${g.string(10).replace(/[\s#]/g, "")}` : "";
        const fields = {
            method: "POST",
            path: route + query,
            clusterId: route.endsWith("join") && g.chance(0.3) ? "" : this.target.clusterId,
            host,
            timeMs: Date.now() + g.pick([0, 0, 0, -1000, 1000, -400_000, 400_000]),
            stampUs: g.pick([Date.now() * 1000, 1, 0, Date.now() * 1000 + 3_600_000_000]),
            nonce: this.nonce(),
            bodySha256: sha256Hex(body),
        };
        const headers = {
            [HEADER.cluster]: fields.clusterId,
            [HEADER.host]: host,
            [HEADER.timeMs]: fields.timeMs,
            [HEADER.stamp]: fields.stampUs,
            [HEADER.nonce]: fields.nonce,
            [HEADER.signature]: signRequest(this.target.secret, fields),
            "content-type": "application/json",
            "content-length": body.length,
        };
        let sent = body;
        const after = g.int(0, 9);
        if (after === 0 && body.length > 0) {
            sent = Buffer.from(body);
            const at = g.int(0, sent.length - 1);
            sent.writeUInt8(sent.readUInt8(at) ^ 1, at);
        }
        else if (after === 1)
            headers[HEADER.host] = this.senderHost() + "x";
        else if (after === 2)
            headers[HEADER.timeMs] = fields.timeMs + 1;
        return { bytes: this.http("POST", route + query, headers, sent) };
    }
    /** The head of a 63 MiB POST, unsigned or with a forged signature. */
    hugeHead() {
        const g = this.g;
        const forged = g.chance(0.5)
            ? `${HEADER.cluster}: ${this.target.clusterId}\r\n${HEADER.host}: ${this.senderHost()}\r\n${HEADER.timeMs}: ${Date.now()}\r\n` +
                `${HEADER.stamp}: 1\r\n${HEADER.nonce}: ${this.nonce()}\r\n${HEADER.signature}: ${"0".repeat(64)}\r\n`
            : "";
        return `POST ${g.pick(ROUTES)} HTTP/1.1\r\nHost: peer\r\nContent-Length: ${63 * 1024 * 1024}\r\n${forged}\r\n`;
    }
    /** Unsigned, partly signed or forged; any method, path, length and body. */
    unsigned() {
        const g = this.g;
        // Raw bytes end the request with the input (half-close): a valid prefix such as "C" (of
        // CONNECT) is otherwise, rightly, waited on for the rest until the head timeout (20 s).
        if (g.chance(0.05))
            return { bytes: g.bytes(g.int(1, 2000)), halfClose: true };
        const method = g.pick(["POST", "POST", "POST", "GET", "PUT", "DELETE", "OPTIONS", "BREW"]);
        const path = g.chance(0.8)
            ? g.pick(ROUTES)
            : g.pick(["/", "/peer/v1/", `/${g.string(20).replace(/[\s#?]/g, "")}`, "/peer/v1/join/../state/pull"]);
        const body = g.chance(0.5)
            ? g.bytes(g.int(0, 300_000))
            : Buffer.from(JSON.stringify(g.json(3)) ?? "null");
        const headers = { "content-type": "application/json" };
        const all = {
            [HEADER.cluster]: g.pick([this.target.clusterId, "", g.string(10)]),
            [HEADER.host]: this.senderHost(),
            [HEADER.timeMs]: g.pick([Date.now(), Date.now() - 1e9, "x", "", "1e400"]),
            [HEADER.stamp]: g.pick([Date.now() * 1000, "-1", "1.5", "9".repeat(30)]),
            [HEADER.nonce]: g.pick([this.nonce(), "", g.string(100)]),
            [HEADER.signature]: g.pick(["0".repeat(64), g.string(64), ""]),
        };
        for (const [k, v] of Object.entries(all))
            if (g.chance(0.7))
                headers[k] = v;
        const lengthMode = g.int(0, 9);
        if (lengthMode === 0)
            headers["content-length"] = 63 * 1024 * 1024;
        else if (lengthMode === 1)
            headers["transfer-encoding"] = "chunked";
        else if (lengthMode === 2) {
            headers["content-length"] = body.length + g.int(1, 1000);
            return { bytes: this.http(method, path, headers, body), halfClose: true };
        }
        else if (lengthMode === 3)
            headers["content-length"] = g.pick(["-1", "abc", "1e3", "99999999999999999999"]);
        else
            headers["content-length"] = body.length;
        if (headers["transfer-encoding"]) {
            const chunked = Buffer.concat([
                Buffer.from(`${body.length.toString(16)}\r\n`),
                body,
                Buffer.from("\r\n0\r\n\r\n"),
            ]);
            return { bytes: this.http(method, path, headers, chunked) };
        }
        // A declared 63 MiB of which only the start is sent: the answer must not wait for the rest.
        return { bytes: this.http(method, path, headers, body), halfClose: lengthMode === 0 };
    }
    http(method, path, headers, body) {
        const head = Object.entries({ host: "peer", ...headers })
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join("");
        return Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${head}\r\n`, "latin1"), body]);
    }
}
export async function runPeerFuzz(target, options) {
    const g = new Gen(options.seed);
    const inputs = new PeerInputs(g, target);
    const rss = watchRss(target.pid);
    const startRssBytes = rss.peak();
    const statuses = {};
    const failures = [];
    const every = options.wellBehavedEvery ?? 50;
    const fail = (what) => {
        if (failures.length < MAX_FAILURES)
            failures.push(what);
    };
    for (let i = 0; i < options.inputs; i++) {
        if (i === 0 || g.chance(0.002)) {
            // A burst of huge unauthenticated bodies at once: refused on their heads, never buffered.
            const statusesOfBurst = await Promise.all(Array.from({ length: 8 }, () => floodPost(target.peerPort, inputs.hugeHead(), 63 * 1024 * 1024)));
            for (const status of statusesOfBurst)
                statuses[`burst-${status}`] = (statuses[`burst-${status}`] ?? 0) + 1;
            if (rss.peak() > options.maxRssBytes)
                fail(`RSS ${rss.peak()} bytes over ${options.maxRssBytes} after a burst at input ${i}`);
        }
        const { bytes, halfClose } = g.chance(0.5) ? inputs.signed() : inputs.unsigned();
        const describe = () => `input ${i}: ${bytes.subarray(0, 400).toString("latin1")}`;
        const answer = await rawHttp(target.peerPort, bytes, { halfClose, timeoutMs: 15_000 }).catch((err) => {
            fail(`${String(err)} for ${describe()}`);
            return { status: -1, head: "", body: "" };
        });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        // Every request gets an answer, refusals included: a silent close leaves the sender guessing.
        if (answer.status === 0)
            fail(`no answer for ${describe()}`);
        if (answer.status >= 500)
            fail(`HTTP ${answer.status} ${answer.body.slice(0, 200)} for ${describe()}`);
        if (rss.peak() > options.maxRssBytes)
            fail(`RSS ${rss.peak()} bytes over ${options.maxRssBytes} after ${describe()}`);
        if ((i + 1) % every === 0) {
            await target
                .wellBehaved()
                .catch((err) => fail(`well-behaved peer failed after input ${i}: ${String(err)}`));
            options.onProgress?.(i + 1, rss.peak());
        }
        if (failures.length >= MAX_FAILURES)
            break;
    }
    await target
        .wellBehaved()
        .catch((err) => fail(`well-behaved peer failed at the end: ${String(err)}`));
    return { inputs: options.inputs, startRssBytes, peakRssBytes: rss.stop(), statuses, failures };
}
//# sourceMappingURL=peer-fuzz-core.js.map
/**
 * The JSON-RPC fuzzer: every method and parameter of api/openrpc.json,
 * valid values and wrong ones (types, missing and extra parameters,
 * boundaries), envelopes, batches, and bodies (empty, huge, truncated,
 * compressed, corrupt, short of their Content-Length). Pass: no HTTP 500,
 * no -32603, a JSON answer for everything that has one, memory within its
 * bound, and the well-behaved client alongside keeps working. The daemon's
 * log is checked by the caller (no line at error level).
 */
import http from "node:http";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import path from "node:path";
import { loadOpenRpcDocument } from "../../src/rpc/openrpc.js";
import { rawHttp, watchRss } from "../helpers/hostile.js";
import { Gen } from "./generators.js";
const MAX_FAILURES = 20;
function methodSpecs() {
    const doc = loadOpenRpcDocument();
    return doc.methods.map((m) => ({
        name: m.name,
        params: m.params.map((p) => ({ name: p.name, required: p.required === true, schema: p.schema })),
    }));
}
class RpcInputs {
    g;
    target;
    methods = methodSpecs();
    constructor(g, target) {
        this.g = g;
        this.target = target;
    }
    /** A value valid by the schema, from pools that are safe to act on. */
    validValue(method, p) {
        const g = this.g;
        const scratch = this.target.scratchDir;
        switch (p.name) {
            case "name":
                return g.pick(["fz0", "fz1", "fz2", `fz${g.int(0, 99)}`, "a", "z".repeat(63)]);
            case "disk":
                return g.pick([
                    path.join(scratch, "d0.img"),
                    path.join(scratch, "d1.img"),
                    path.join(scratch, "missing.img"),
                    scratch,
                    path.join(scratch, "sub", "..", "d0.img"),
                    path.join(scratch, "x".repeat(g.int(200, 300))),
                ]);
            case "sizeBytes":
                return g.pick([1048576, 4194304, 8388608, 16777216, 2 ** 40, 9007199254736896]);
            case "frontend":
                // Never ublk: the fuzzer must not make kernel devices on a shared machine.
                return "nbd";
            case "clusterId":
                return g.pick(["fz-cluster", "a", `c${g.int(0, 9)}.x_y-z`]);
            case "secret":
                return "s".repeat(g.int(32, 64));
            case "peer":
                // Closed loopback ports only: a join must never reach another machine.
                return g.pick(["127.0.0.1:1", "[::1]:1", "localhost:1", "127.0.0.1:9"]);
            case "host":
                return g.pick(["ghost", this.target.host, "node-z", "a"]);
            case "prefix":
                return g.pick(["", "cluster/", "node/", "resource/", g.string(20)]);
            case "timeoutMs":
                // Short: a valid wait must not stall the run (the mutator never drops it, see below).
                return g.pick([0, 1, 20]);
            default:
                break;
        }
        if (p.schema.enum)
            return g.pick(p.schema.enum);
        if (p.schema.type === "boolean")
            return g.chance(0.5);
        if (p.schema.type === "integer")
            return g.int(p.schema.minimum ?? 0, Math.min(p.schema.maximum ?? 1000, 1000));
        void method;
        return g.string();
    }
    params(spec) {
        const g = this.g;
        const out = {};
        for (const p of spec.params) {
            if (p.name === "timeoutMs" || p.required || g.chance(0.5))
                out[p.name] = this.validValue(spec.name, p);
        }
        const mutation = g.int(0, 9);
        const names = Object.keys(out).filter((n) => n !== "timeoutMs");
        if (mutation === 0 && names.length > 0)
            delete out[g.pick(names)];
        else if (mutation === 1)
            out[g.pick(["extra", "__proto__", "constructor", g.string(6)])] = g.json();
        else if (mutation === 2 && names.length > 0) {
            const n = g.pick(names);
            out[n] = g.wrongType(out[n]);
        }
        else if (mutation === 3)
            return g.pick([[], [out], [1, 2], "params", 7, null, true]);
        else if (mutation === 4)
            return g.json();
        // timeoutMs stays short whatever else happened, so no valid wait blocks for a minute.
        if ("timeoutMs" in out && (typeof out.timeoutMs !== "number" || out.timeoutMs > 20))
            out.timeoutMs = 20;
        return out;
    }
    call() {
        const g = this.g;
        const spec = g.pick(this.methods);
        const r = { jsonrpc: "2.0", method: spec.name };
        const m = g.int(0, 39);
        if (m === 0)
            r.jsonrpc = g.pick(["1.0", 2, null, "2.00"]);
        else if (m === 1)
            r.method = g.pick([g.string(12), "rpc.", "", "node.info ", "__proto__", "constructor"]);
        else if (m === 2)
            r.method = g.wrongType(spec.name);
        else if (m === 3)
            delete r.method;
        if (g.chance(0.9))
            r.params = this.params(spec);
        if (!g.chance(0.1))
            r.id = g.pick([g.int(0, 1e6), `id-${g.int(0, 99)}`, null, 1.5, {}, [], true, -0, 2 ** 53]);
        return r;
    }
    payload() {
        const g = this.g;
        if (g.chance(0.1))
            return Array.from({ length: g.int(0, 12) }, () => (g.chance(0.1) ? g.json(1) : this.call()));
        if (g.chance(0.01)) {
            return Array.from({ length: g.int(99, 110) }, () => ({ jsonrpc: "2.0", id: 1, method: "node.info" }));
        }
        if (g.chance(0.02))
            return g.json(3);
        return this.call();
    }
    /** One HTTP request: headers and body bytes, and whether the body stops short of its length. */
    request() {
        const g = this.g;
        const json = Buffer.from(JSON.stringify(this.payload()) ?? "null", "utf8");
        const headers = { "content-type": "application/json" };
        const k = g.int(0, 99);
        let body = json;
        if (k < 60)
            body = json;
        else if (k < 65)
            body = json.subarray(0, g.int(0, json.length));
        else if (k < 68)
            body = g.bytes(g.int(0, 2000));
        else if (k < 70)
            body = Buffer.alloc(0);
        else if (k < 71)
            body = Buffer.from(JSON.stringify({
                jsonrpc: "2.0",
                id: 1,
                method: "node.info",
                params: { pad: "x".repeat(1_200_000) },
            }));
        else if (k < 76)
            [body, headers["content-encoding"]] = [gzipSync(json), "gzip"];
        else if (k < 79)
            [body, headers["content-encoding"]] = [deflateSync(json), "deflate"];
        else if (k < 82)
            [body, headers["content-encoding"]] = [brotliCompressSync(json), "br"];
        else if (k < 87) {
            const enc = g.pick(["gzip", "deflate", "br"]);
            const packed = enc === "gzip" ? gzipSync(json) : enc === "br" ? brotliCompressSync(json) : deflateSync(json);
            // Corrupt: cut, flipped bytes, or plain garbage under a compression header.
            const corrupt = g.pick([
                packed.subarray(0, g.int(0, packed.length - 1)),
                Buffer.concat([packed.subarray(0, 3), g.bytes(g.int(1, 200))]),
                g.bytes(g.int(1, 300)),
            ]);
            [body, headers["content-encoding"]] = [corrupt, enc];
        }
        else if (k < 89) {
            // A compression bomb: small on the wire, larger than the body cap once inflated.
            [body, headers["content-encoding"]] = [gzipSync(Buffer.alloc(3 * 1024 * 1024, 0x20)), "gzip"];
        }
        else if (k < 92)
            headers["content-type"] = g.pick([
                "text/plain",
                "application/json; charset=latin1",
                "application/json; charset=utf-16",
                "application/x-www-form-urlencoded",
                "",
            ]);
        else if (k < 94)
            headers["content-encoding"] = g.pick(["compress", "x-unknown", "gzip, br", "identity"]);
        else if (k < 97)
            return { headers, body: json, short: true };
        else
            body = Buffer.concat([json.subarray(0, g.int(0, json.length)), Buffer.from([0xff, 0xfe, 0xc3])]);
        return { headers, body };
    }
}
function post(agent, port, token, headers, body) {
    return new Promise((resolve, reject) => {
        const req = http.request({
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/rpc",
            agent,
            headers: { ...headers, authorization: `Bearer ${token}`, "content-length": body.length },
            timeout: 30_000,
        }, (res) => {
            const chunks = [];
            res.on("data", (d) => chunks.push(d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
        // The server may answer (413) and close before the whole body is sent: that is an answer.
        req.on("error", reject);
        req.end(body);
    });
}
function internalErrors(text) {
    try {
        const parsed = JSON.parse(text);
        const list = Array.isArray(parsed) ? parsed : [parsed];
        return list.some((r) => r?.error?.code === -32603);
    }
    catch {
        return false;
    }
}
export async function runRpcFuzz(target, options) {
    const g = new Gen(options.seed);
    const inputs = new RpcInputs(g, target);
    const rss = watchRss(target.pid);
    const startRssBytes = rss.peak();
    const statuses = {};
    const failures = [];
    const every = options.wellBehavedEvery ?? 50;
    let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const fail = (what) => {
        if (failures.length < MAX_FAILURES)
            failures.push(what);
    };
    try {
        for (let i = 0; i < options.inputs; i++) {
            const { headers, body, short } = inputs.request();
            const describe = () => `input ${i}: ${JSON.stringify(headers)} ${body.subarray(0, 300).toString("latin1")}${body.length > 300 ? `... (${body.length} bytes)` : ""}`;
            let status;
            let text;
            if (short) {
                const head = Object.entries({
                    ...headers,
                    host: "x",
                    authorization: `Bearer ${target.token}`,
                    "content-length": body.length + 10,
                })
                    .map(([k, v]) => `${k}: ${v}\r\n`)
                    .join("");
                const answer = await rawHttp(target.adminPort, Buffer.concat([Buffer.from(`POST /rpc HTTP/1.1\r\n${head}\r\n`), body]), { halfClose: true });
                [status, text] = [answer.status, answer.body];
            }
            else {
                try {
                    ({ status, text } = await post(agent, target.adminPort, target.token, headers, body));
                }
                catch {
                    // A connection closed by the server after a refusal: a fresh agent, and no answer to judge.
                    agent.destroy();
                    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
                    [status, text] = [0, ""];
                }
            }
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (status >= 500)
                fail(`HTTP ${status} ${text.slice(0, 200)} for ${describe()}`);
            if (internalErrors(text))
                fail(`-32603 ${text.slice(0, 300)} for ${describe()}`);
            if (status === 200 && text !== "") {
                try {
                    JSON.parse(text);
                }
                catch {
                    fail(`a 200 answer that is not JSON for ${describe()}`);
                }
            }
            if (rss.peak() > options.maxRssBytes)
                fail(`RSS ${rss.peak()} bytes over ${options.maxRssBytes} after ${describe()}`);
            if ((i + 1) % every === 0) {
                await target
                    .wellBehaved()
                    .catch((err) => fail(`well-behaved client failed after input ${i}: ${String(err)}`));
                options.onProgress?.(i + 1, rss.peak());
            }
            if (failures.length >= MAX_FAILURES)
                break;
        }
        await target
            .wellBehaved()
            .catch((err) => fail(`well-behaved client failed at the end: ${String(err)}`));
    }
    finally {
        agent.destroy();
    }
    return { inputs: options.inputs, startRssBytes, peakRssBytes: rss.stop(), statuses, failures };
}
//# sourceMappingURL=rpc-fuzz-core.js.map
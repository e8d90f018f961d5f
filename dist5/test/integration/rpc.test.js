/**
 * The admin API over HTTP with supertest against the real daemon's express
 * app (in process, real resources on real files): every method of this
 * slice, idempotency, the JSON-RPC edges (batches, notifications, bad JSON,
 * invalid requests), params validation, auth and content type, internal
 * errors. Every successful result is checked against its result schema in
 * api/openrpc.json.
 */
import assert from "node:assert/strict";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { compileValidators, loadOpenRpcDocument, OPENRPC_PATH, } from "../../src/rpc/openrpc.js";
import { OPERATOR_ERROR_CODES, RpcCode } from "../../src/rpc/error-codes.js";
import { startInProcess } from "../helpers/in-process.js";
const MIB = 1024 * 1024;
const DOC = loadOpenRpcDocument();
const VALIDATORS = compileValidators(DOC);
describe("admin API (JSON-RPC over HTTP)", () => {
    let node;
    let app;
    let nextId = 1;
    let disk1;
    let disk2;
    before(async () => {
        node = await startInProcess();
        assert.ok(node.daemon.adminApp);
        app = node.daemon.adminApp;
        disk1 = path.join(node.baseDir, "disk1.img");
        disk2 = path.join(node.baseDir, "disk2.img");
        for (const disk of [disk1, disk2]) {
            const h = await open(disk, "w");
            await h.truncate(16 * MIB);
            await h.close();
        }
    });
    after(() => node?.cleanup());
    function post(body, contentType = "application/json") {
        return request(app)
            .post("/rpc")
            .set("Authorization", `Bearer ${node.token}`)
            .set("Content-Type", contentType)
            .send(typeof body === "string" ? body : JSON.stringify(body));
    }
    /** Calls a method; asserts success and that the result matches the method's result schema. */
    async function call(method, params) {
        const id = nextId++;
        const res = await post({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
        assert.equal(res.status, 200);
        const body = res.body;
        assert.equal(body.id, id);
        assert.equal(body.error, undefined, `${method}: ${JSON.stringify(body.error)}`);
        const validators = VALIDATORS.get(method);
        assert.ok(validators, `${method} is in api/openrpc.json`);
        assert.ok(validators.result(body.result), `${method} result violates its schema: ${JSON.stringify(validators.result.errors)}`);
        return body.result;
    }
    async function callError(method, params) {
        const id = nextId++;
        const res = await post({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
        assert.equal(res.status, 200);
        const body = res.body;
        assert.equal(body.id, id);
        assert.ok(body.error, `${method} was expected to fail: ${JSON.stringify(body.result)}`);
        return body.error;
    }
    it("registers exactly the methods of api/openrpc.json, and serves the document as rpc.discover", async () => {
        const documented = DOC.methods.map((m) => m.name).sort();
        const registered = [...(node.daemon.rpcEndpoint?.registeredMethodNames ?? [])].sort();
        assert.deepEqual(registered, documented, "registered methods and the document differ");
        for (const name of [
            "rpc.discover",
            "node.info",
            "resource.create",
            "resource.list",
            "resource.status",
            "resource.logRotate",
            "resource.delete",
        ]) {
            assert.ok(documented.includes(name), `${name} is documented`);
        }
        const discovered = await call("rpc.discover");
        assert.deepEqual(discovered, JSON.parse(await readFile(OPENRPC_PATH, "utf8")));
        // Every error a method lists resolves to a code the server can send.
        const serverCodes = new Set(Object.values(OPERATOR_ERROR_CODES));
        for (const [name, v] of VALIDATORS) {
            for (const e of v.method.errors ?? [])
                assert.ok(serverCodes.has(e.code) || e.code < 0, `${name}: error ${e.code}`);
        }
    });
    it("node.info describes this node", async () => {
        const info = await call("node.info");
        assert.equal(info.host, "alpha");
        assert.equal(info.pid, process.pid);
        assert.equal(info.dataDir, node.config.dataDir);
        assert.equal(info.nbd.socket, node.config.nbd.socket);
        for (const params of [[], {}]) {
            const again = await call("node.info", params);
            assert.deepEqual([again.host, again.pid], ["alpha", process.pid], "params may be omitted, {} or []");
        }
    });
    it("resource.create is idempotent and refuses conflicts with clear errors", async () => {
        const created = await call("resource.create", { name: "r1", disk: disk1, frontend: "nbd" });
        assert.equal(created.changed, true);
        assert.equal(created.resource.sizeBytes, 16 * MIB);
        assert.equal(created.resource.device?.kind, "nbd");
        assert.match(created.resource.device?.uri ?? "", /^nbd\+unix:\/\/\/r1\?socket=\//);
        const again = await call("resource.create", {
            name: "r1",
            disk: disk1,
            frontend: "nbd",
        });
        assert.equal(again.changed, false, "an identical second call changes nothing");
        assert.equal((await call("resource.create", { name: "r1", disk: disk1, sizeBytes: 16 * MIB }))
            .changed, false);
        const conflict = await callError("resource.create", { name: "r1", disk: disk1, sizeBytes: 8 * MIB });
        assert.equal(conflict.code, OPERATOR_ERROR_CODES.RESOURCE_CONFLICT);
        assert.equal(conflict.data?.sizeBytes, 16 * MIB);
        const inUse = await callError("resource.create", { name: "r2", disk: disk1 });
        assert.equal(inUse.code, OPERATOR_ERROR_CODES.DISK_IN_USE);
        const missing = await callError("resource.create", {
            name: "r2",
            disk: path.join(node.baseDir, "nope.img"),
        });
        assert.equal(missing.code, OPERATOR_ERROR_CODES.DISK_INVALID);
        const tooBig = await callError("resource.create", { name: "r2", disk: disk2, sizeBytes: 32 * MIB });
        assert.equal(tooBig.code, OPERATOR_ERROR_CODES.DISK_INVALID);
        const ublk = await callError("resource.create", { name: "r2", disk: disk2, frontend: "ublk" });
        if (!node.daemon.frontends.status().ublk.available)
            assert.equal(ublk.code, OPERATOR_ERROR_CODES.FRONTEND_UNAVAILABLE);
    });
    it("resource.list and resource.status report the resource, its log and its device", async () => {
        const list = await call("resource.list");
        assert.deepEqual(list.resources.map((r) => [r.name, r.role, r.state]), [["r1", "primary", "running"]]);
        const status = await call("resource.status", { name: "r1" });
        assert.equal(status.state, "running");
        assert.match(status.log.currentFile, /^log-000000001-alpha$/);
        assert.equal(status.log.files.length, 1);
        assert.ok(status.log.durable.streamBytes > 0);
        const unknown = await callError("resource.status", { name: "nope" });
        assert.equal(unknown.code, OPERATOR_ERROR_CODES.RESOURCE_NOT_FOUND);
    });
    it("resource.logRotate rotates only a log that holds records", async () => {
        const idle = await call("resource.logRotate", { name: "r1" });
        assert.deepEqual(idle, { changed: false, currentFile: "log-000000001-alpha" });
        const volume = node.daemon.resources.get("r1")?.volume;
        assert.ok(volume);
        await volume.write(0, Buffer.alloc(4096, 1));
        const rotated = await call("resource.logRotate", { name: "r1" });
        assert.equal(rotated.changed, true);
        assert.equal(rotated.finishedFile.name, "log-000000001-alpha");
        assert.ok(rotated.finishedFile.lengthBytes > 4096);
        assert.equal(rotated.currentFile, "log-000000002-alpha");
        assert.equal((await call("resource.logRotate", { name: "r1" })).changed, false);
        assert.equal((await callError("resource.logRotate", { name: "nope" })).code, OPERATOR_ERROR_CODES.RESOURCE_NOT_FOUND);
    });
    it("rejects invalid params with -32602 and the ajv details in data", async () => {
        const cases = [
            ["resource.create", { name: "r2" }, "required", "/"],
            ["resource.create", { name: "R2!", disk: disk2 }, "pattern", "/name"],
            ["resource.create", { name: "r2", disk: "relative.img" }, "pattern", "/disk"],
            ["resource.create", { name: "r2", disk: disk2, sizeBytes: 1000 }, "minimum", "/sizeBytes"],
            ["resource.create", { name: "r2", disk: disk2, sizeBytes: MIB + 1 }, "multipleOf", "/sizeBytes"],
            ["resource.create", { name: "r2", disk: disk2, sizeBytes: "1M" }, "type", "/sizeBytes"],
            ["resource.create", { name: "r2", disk: disk2, frontend: "iscsi" }, "enum", "/frontend"],
            ["resource.create", { name: "r2", disk: disk2, extra: 1 }, "additionalProperties", "/"],
            ["resource.create", ["r2", disk2], "type", "/"],
            ["resource.status", {}, "required", "/"],
            ["resource.status", { name: 5 }, "type", "/name"],
            ["resource.logRotate", { name: "x".repeat(64) }, "pattern", "/name"],
            ["resource.delete", { name: null }, "type", "/name"],
            ["resource.list", { verbose: true }, "additionalProperties", "/"],
            ["node.info", { x: 1 }, "additionalProperties", "/"],
            ["rpc.discover", [1], "type", "/"],
        ];
        for (const [method, params, keyword, where] of cases) {
            const err = await callError(method, params);
            assert.equal(err.code, RpcCode.InvalidParams, `${method} ${JSON.stringify(params)}`);
            const errors = err.data?.errors;
            assert.ok(Array.isArray(errors) && errors.length > 0, "ajv details in data.errors");
            assert.ok(errors.some((e) => e.keyword === keyword && e.path === where && typeof e.message === "string"), `${method} ${JSON.stringify(params)}: ${JSON.stringify(errors)}`);
        }
        assert.deepEqual((await call("resource.list")).resources.length, 1, "nothing was created by the invalid calls");
    });
    it("answers unknown methods with -32601 and bad JSON with -32700", async () => {
        assert.equal((await callError("resource.explode")).code, RpcCode.MethodNotFound);
        assert.equal((await callError("__proto__")).code, RpcCode.MethodNotFound);
        const res = await post('{"jsonrpc": "2.0", "method": ');
        assert.equal(res.status, 200);
        assert.equal(res.body.error?.code, RpcCode.ParseError);
        assert.equal(res.body.id, null);
    });
    it("gets every invalid request its own -32600, in batches too; a batch always gets an array", async () => {
        for (const bad of [
            { jsonrpc: "1.0", method: "node.info", id: 1 },
            { jsonrpc: "2.0", method: 5, id: 2 },
            { jsonrpc: "2.0", method: "node.info", id: { a: 1 } },
            { jsonrpc: "2.0", method: "node.info", id: 3, params: "x" },
            "just a string",
            42,
        ]) {
            const res = await post(JSON.stringify(bad));
            assert.equal(res.status, 200);
            assert.equal(res.body.error?.code, RpcCode.InvalidRequest, JSON.stringify(bad));
        }
        const single = await post([{ jsonrpc: "2.0", id: 7, method: "node.info" }]);
        assert.ok(Array.isArray(single.body), "a batch of one gets an array");
        assert.equal(single.body.length, 1);
        assert.equal(single.body[0]?.id, 7);
        const mixed = await post([
            null,
            1,
            {},
            [],
            { jsonrpc: "2.0", id: "ok", method: "resource.list" },
            { jsonrpc: "2.0", method: "node.info" },
        ]);
        assert.equal(mixed.status, 200);
        const replies = mixed.body;
        assert.ok(Array.isArray(replies));
        assert.equal(replies.length, 5, "four invalid members and one call; the notification gets no reply");
        assert.deepEqual(replies.slice(0, 4).map((r) => [r.id, r.error?.code]), [
            [null, RpcCode.InvalidRequest],
            [null, RpcCode.InvalidRequest],
            [null, RpcCode.InvalidRequest],
            [null, RpcCode.InvalidRequest],
        ]);
        assert.equal(replies[4]?.id, "ok");
        assert.ok(VALIDATORS.get("resource.list")?.result(replies[4]?.result));
        const empty = await post([]);
        assert.equal(empty.body.error?.code, RpcCode.InvalidRequest, "an empty batch is one -32600");
        const tooLong = await post(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "node.info" })));
        assert.equal(tooLong.body.error?.code, RpcCode.InvalidRequest);
    });
    it("answers notification-only requests with 204 and no body", async () => {
        const one = await post({ jsonrpc: "2.0", method: "node.info" });
        assert.equal(one.status, 204);
        assert.equal(one.text, "");
        const batch = await post([
            { jsonrpc: "2.0", method: "node.info" },
            { jsonrpc: "2.0", method: "resource.list", params: {} },
        ]);
        assert.equal(batch.status, 204);
        // A notification with bad params still does nothing and gets no answer.
        const created = await post({
            jsonrpc: "2.0",
            method: "resource.create",
            params: { name: "zz", disk: "x" },
        });
        assert.equal(created.status, 204);
        assert.equal(node.daemon.resources.get("zz"), undefined);
    });
    it("requires the bearer token, JSON and POST", async () => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "node.info" });
        const none = await request(app).post("/rpc").set("Content-Type", "application/json").send(body);
        assert.equal(none.status, 401);
        assert.equal(none.body.error?.code, RpcCode.Unauthorized);
        assert.match(none.headers["www-authenticate"] ?? "", /^Bearer/);
        for (const auth of [
            `Bearer ${node.token}x`,
            `Bearer ${node.token.slice(1)}`,
            node.token,
            "Basic abc",
            "Bearer ",
        ]) {
            const res = await request(app)
                .post("/rpc")
                .set("Authorization", auth)
                .set("Content-Type", "application/json")
                .send(body);
            assert.equal(res.status, 401, auth);
        }
        const text = await post(body, "text/plain");
        assert.equal(text.status, 415);
        assert.equal(text.body.error?.code, RpcCode.InvalidRequest);
        assert.match(text.body.error?.message ?? "", /Content-Type must be application\/json/);
        const get = await request(app).get("/rpc").set("Authorization", `Bearer ${node.token}`);
        assert.equal(get.status, 405);
        assert.equal(get.headers.allow, "POST");
        const big = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "node.info", params: { pad: "x".repeat(2 * MIB) } }));
        assert.equal(big.status, 413);
        const charset = await post(body, "application/json; charset=utf-8");
        assert.equal(charset.status, 200);
    });
    it("turns an unexpected failure into -32603 with only a correlation id, and logs the details", async () => {
        // A file where the resource's directory must go: creating it fails deep inside (ENOTDIR).
        await mkdir(path.join(node.config.dataDir, "resources"), { recursive: true });
        await writeFile(path.join(node.config.dataDir, "resources", "blocked"), "in the way");
        const res = await post({
            jsonrpc: "2.0",
            id: 99,
            method: "resource.create",
            params: { name: "blocked", disk: disk2 },
        });
        assert.equal(res.status, 200);
        const err = res.body.error;
        assert.equal(err?.code, RpcCode.InternalError);
        assert.equal(err?.message, "Internal error");
        assert.deepEqual(Object.keys(err?.data ?? {}), ["correlationId"]);
        const correlationId = err?.data?.correlationId;
        assert.match(correlationId, /^[0-9a-f-]{36}$/);
        assert.ok(!res.text.includes(node.baseDir), "no paths leak");
        assert.ok(!/ENOTDIR|EEXIST|stack/i.test(res.text), "no error text leaks");
        const logged = node.logs.find((l) => l.correlationId === correlationId);
        assert.ok(logged, "the real error is logged under the correlation id");
        assert.match(JSON.stringify(logged.err), /blocked/);
    });
    it("resource.delete is idempotent; a deleted export disappears", async () => {
        const deleted = await call("resource.delete", { name: "r1" });
        assert.equal(deleted.changed, true);
        assert.equal((await call("resource.delete", { name: "r1" })).changed, false);
        assert.deepEqual((await call("resource.list")).resources, []);
        assert.equal(node.daemon.deviceOf("r1"), undefined);
        // The disk can be used again.
        assert.equal((await call("resource.create", { name: "r3", disk: disk1 })).changed, true);
    });
    it("serves /healthz and /metrics without a token", async () => {
        const health = await request(app).get("/healthz");
        assert.equal(health.status, 200);
        assert.equal(health.body.status, "ok");
        const metrics = await request(app).get("/metrics");
        assert.equal(metrics.status, 200);
        assert.match(metrics.headers["content-type"] ?? "", /^text\/plain/);
        assert.match(metrics.text, /^marsd_build_info\{/m);
        assert.equal((await request(app).get("/nope")).status, 404);
    });
    it("refuses mutations once the daemon is stopping", async () => {
        const stopping = node.daemon.stop();
        const err = await callError("resource.create", { name: "r4", disk: disk2 });
        assert.equal(err.code, OPERATOR_ERROR_CODES.SHUTTING_DOWN);
        await stopping;
        const health = await request(app).get("/healthz");
        assert.equal(health.status, 503);
    });
});
//# sourceMappingURL=rpc.test.js.map
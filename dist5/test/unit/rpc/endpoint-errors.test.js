/**
 * The real RpcEndpoint turns what a method throws into its answer: a kind
 * of the catalogue into its own number with `data.reason`, and only a bug
 * (INTERNAL, or an error from outside the catalogue) into -32603 with a
 * correlation id and nothing else. The methods here throw the errors the
 * real components raise (a stopped volume's ClosedError, a secondary's
 * ReadOnlyError, the frontend set's refusal), through the real
 * api/openrpc.json validators.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { FrontendSet } from "../../../src/frontend/frontend-set.js";
import { PeerCallError } from "../../../src/peer/client.js";
import { systemClock } from "../../../src/platform/clock.js";
import { systemRandom } from "../../../src/platform/random.js";
import { TransportError } from "../../../src/platform/transport.js";
import { ReadOnlyError } from "../../../src/resource/block-volume.js";
import { RpcEndpoint } from "../../../src/rpc/endpoint.js";
import { ERROR_RPC_CODES, RpcCode } from "../../../src/rpc/error-codes.js";
import { compileValidators, loadOpenRpcDocument } from "../../../src/rpc/openrpc.js";
import { invariant } from "../../../src/util/assert.js";
import { ClosedError, InternalError, OperatorError } from "../../../src/util/errors.js";
function endpointThrowing(thrown) {
    const logs = [];
    const sink = new Writable({
        write(chunk, _encoding, done) {
            logs.push(JSON.parse(chunk.toString("utf8")));
            done();
        },
    });
    const methods = {
        "node.info": () => {
            throw thrown();
        },
    };
    const endpoint = new RpcEndpoint(compileValidators(loadOpenRpcDocument()), methods, pino({ level: "debug" }, sink), systemClock, systemRandom);
    return {
        logs,
        call: async () => {
            const reply = await endpoint.handle(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "node.info" }), {});
            return reply.body;
        },
    };
}
describe("RpcEndpoint error answers", () => {
    it("answers a ClosedError raised inside a method with CLOSED's number, not -32603", async () => {
        const { call } = endpointThrowing(() => new ClosedError("volume r1 is closed"));
        const answer = await call();
        assert.deepEqual(answer.error, {
            code: ERROR_RPC_CODES.CLOSED,
            message: "volume r1 is closed",
            data: { reason: "CLOSED" },
        });
        assert.notEqual(answer.error?.code, RpcCode.InternalError);
    });
    it("answers a ReadOnlyError with READ_ONLY's number", async () => {
        const { call } = endpointThrowing(() => new ReadOnlyError("r1 is not primary here"));
        const answer = await call();
        assert.equal(answer.error?.code, ERROR_RPC_CODES.READ_ONLY);
        assert.deepEqual(answer.error?.data, { reason: "READ_ONLY" });
    });
    it("answers the frontend set's refusal (no frontend at all) with FRONTEND_UNAVAILABLE", async () => {
        const none = new FrontendSet();
        const { call } = endpointThrowing(() => {
            try {
                none.resolve("auto");
            }
            catch (err) {
                return err;
            }
            return new Error("resolve returned a frontend from an empty set");
        });
        const answer = await call();
        assert.equal(answer.error?.code, ERROR_RPC_CODES.FRONTEND_UNAVAILABLE);
        assert.equal(answer.error?.message, "no frontend is available");
    });
    it("keeps an operator error's details and gives a wire family's own code in data.code", async () => {
        const conflict = await endpointThrowing(() => new OperatorError("RESOURCE_CONFLICT", "r1 exists", { disk: "/dev/x" })).call();
        assert.deepEqual(conflict.error?.data, { reason: "RESOURCE_CONFLICT", disk: "/dev/x" });
        const reset = await endpointThrowing(() => new TransportError("reset", "connection reset")).call();
        assert.equal(reset.error?.code, ERROR_RPC_CODES.TRANSPORT_FAILED);
        assert.deepEqual(reset.error?.data, { reason: "TRANSPORT_FAILED", code: "reset" });
        const refused = await endpointThrowing(() => new PeerCallError(403, "removed", "bravo was removed")).call();
        assert.equal(refused.error?.code, ERROR_RPC_CODES.PEER_CALL_FAILED);
        assert.deepEqual(refused.error?.data, { reason: "PEER_CALL_FAILED", code: "removed" });
    });
    for (const [what, thrown] of [
        ["an InternalError", () => new InternalError("invariant broke at /secret/path")],
        ["an error outside the catalogue", () => new Error("ENOTDIR at /secret/path")],
        [
            "a broken invariant",
            () => {
                try {
                    invariant(false, "queue order at /secret/path");
                }
                catch (err) {
                    return err;
                }
                return new Error("invariant(false) did not throw");
            },
        ],
    ]) {
        it(`answers ${what} with -32603 and only a correlation id, and logs it under that id`, async () => {
            const { call, logs } = endpointThrowing(thrown);
            const answer = await call();
            assert.equal(answer.error?.code, RpcCode.InternalError);
            assert.equal(answer.error?.message, "Internal error");
            assert.deepEqual(Object.keys(answer.error?.data ?? {}), ["correlationId"]);
            assert.ok(!JSON.stringify(answer).includes("/secret/path"), "no internals leak");
            const correlationId = answer.error?.data?.correlationId;
            const logged = logs.find((l) => l.correlationId === correlationId);
            assert.match(JSON.stringify(logged), /\/secret\/path/);
        });
    }
});
//# sourceMappingURL=endpoint-errors.test.js.map
/**
 * JSON-RPC 2.0 processing, with the edges done right where the json-rpc-2.0
 * package alone deviates from the spec (see docs/api.md):
 *
 * - a batch always gets an array back, even a batch of one;
 * - every invalid member of a batch gets its own -32600 (null, numbers,
 *   object ids...) instead of failing the whole batch;
 * - params are validated against api/openrpc.json (-32602 with the ajv
 *   details in `data`);
 * - an unexpected exception becomes -32603 "Internal error" with only a
 *   correlation id in `data`; the real error is logged under that id;
 * - batch members run one after the other, so mutating calls in one batch
 *   cannot race.
 */
import { JSONRPCErrorException, JSONRPCServer, createJSONRPCErrorResponse, } from "json-rpc-2.0";
import { InternalError, MarsError, OperatorError } from "../util/errors.js";
import { ERROR_RPC_CODES, RpcCode } from "./error-codes.js";
import { describeErrors } from "./openrpc.js";
export const MAX_BATCH_LENGTH = 100;
function invalidRequest(id, reason) {
    return createJSONRPCErrorResponse(id, RpcCode.InvalidRequest, "Invalid Request", { reason });
}
function isValidId(id) {
    return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}
/** Checks the request object's shape; returns a reason when it is not a valid request. */
function requestProblem(value) {
    if (typeof value !== "object" || value === null || Array.isArray(value))
        return "a request must be a JSON object";
    const r = value;
    if (r.jsonrpc !== "2.0")
        return 'member "jsonrpc" must be exactly "2.0"';
    if (typeof r.method !== "string")
        return 'member "method" must be a string';
    if ("id" in r && !isValidId(r.id))
        return 'member "id" must be a string, a number or null';
    if ("params" in r && (typeof r.params !== "object" || r.params === null)) {
        return 'member "params" must be an object or an array';
    }
    return undefined;
}
export class RpcEndpoint {
    validators;
    logger;
    time;
    random;
    metrics;
    server;
    /** Every method name registered, whether or not the document lists it. */
    registeredMethodNames;
    constructor(validators, methods, logger, time, 
    /** Draws the correlation ids of internal errors. */
    random, metrics) {
        this.validators = validators;
        this.logger = logger;
        this.time = time;
        this.random = random;
        this.metrics = metrics;
        // The package reports every error a method throws to console.warn by
        // default, outside the structured log. Expected errors are answered
        // (-32602, operator errors); unexpected ones are logged by toRpcError
        // with their correlation id. So this is only debug detail.
        this.server = new JSONRPCServer({
            errorListener: (message, data) => logger.debug({ err: data }, message),
        });
        this.registeredMethodNames = Object.keys(methods).sort();
        for (const [name, handler] of Object.entries(methods)) {
            this.server.addMethod(name, async (params, ctx) => {
                try {
                    return await handler(this.checkParams(name, params), ctx);
                }
                catch (err) {
                    throw this.toRpcError(err, name);
                }
            });
        }
    }
    get methodNames() {
        return [...this.validators.keys()].filter((name) => this.server.hasMethod(name));
    }
    /** Processes a request body (text). */
    async handle(bodyText, ctx) {
        let body;
        try {
            body = JSON.parse(bodyText);
        }
        catch (err) {
            return {
                body: createJSONRPCErrorResponse(null, RpcCode.ParseError, "Parse error", {
                    reason: err.message,
                }),
            };
        }
        if (!Array.isArray(body)) {
            const reply = await this.handleOne(body, ctx);
            return reply ? { body: reply } : {};
        }
        if (body.length === 0)
            return { body: invalidRequest(null, "an empty batch is not a request") };
        if (body.length > MAX_BATCH_LENGTH) {
            return { body: invalidRequest(null, `a batch may hold at most ${MAX_BATCH_LENGTH} requests`) };
        }
        const replies = [];
        for (const member of body) {
            const reply = await this.handleOne(member, ctx);
            if (reply)
                replies.push(reply);
        }
        return replies.length > 0 ? { body: replies } : {};
    }
    async handleOne(value, ctx) {
        const problem = requestProblem(value);
        if (problem) {
            const id = value?.id;
            return invalidRequest(isValidId(id) ? id : null, problem);
        }
        const request = value;
        const started = this.time.monotonicMs();
        const reply = await this.server.receive(request, ctx);
        const known = this.validators.has(request.method);
        const code = reply && "error" in reply && reply.error ? reply.error.code : 0;
        this.metrics?.rpcRequests.labels(known ? request.method : "unknown", String(code)).inc();
        if (known)
            this.metrics?.rpcDuration.labels(request.method).observe((this.time.monotonicMs() - started) / 1000);
        return reply;
    }
    checkParams(method, params) {
        const v = this.validators.get(method);
        if (!v)
            throw new InternalError(`method ${method} is registered but missing from api/openrpc.json`);
        let byName = params ?? {};
        if (Array.isArray(byName)) {
            if (byName.length > 0) {
                throw new JSONRPCErrorException("Invalid params", RpcCode.InvalidParams, {
                    errors: [
                        { path: "/", keyword: "type", message: "params must be passed by name (an object)", params: {} },
                    ],
                });
            }
            byName = {};
        }
        if (!v.params(byName)) {
            throw new JSONRPCErrorException("Invalid params", RpcCode.InvalidParams, {
                errors: describeErrors(v.params.errors),
            });
        }
        return byName;
    }
    toRpcError(err, method) {
        if (err instanceof JSONRPCErrorException)
            return err;
        // Every kind of the catalogue has its number; only a bug (INTERNAL, or
        // an error from outside the catalogue) answers -32603.
        if (err instanceof MarsError && err.kind !== "INTERNAL") {
            return new JSONRPCErrorException(err.message, ERROR_RPC_CODES[err.kind], {
                reason: err.kind,
                ...(err.code !== err.kind ? { code: err.code } : {}),
                ...(err instanceof OperatorError ? err.details : {}),
            });
        }
        const correlationId = this.random.uuid();
        this.logger.error({ err, method, correlationId }, "internal error in RPC method");
        return new JSONRPCErrorException("Internal error", RpcCode.InternalError, { correlationId });
    }
}
//# sourceMappingURL=endpoint.js.map
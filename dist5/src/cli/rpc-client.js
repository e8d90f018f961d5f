/**
 * A minimal JSON-RPC client for the admin API (used by marsadm and the
 * tests). Errors from the daemon become RpcCallError with code and data.
 * It runs outside the daemon (and any simulation), so it uses the system's
 * clock and files directly.
 */
import { systemClock } from "../platform/clock.js";
import { nodeStorage } from "../platform/storage/node-file.js";
import { MalformedFileError, MarsError } from "../util/errors.js";
export class RpcCallError extends Error {
    code;
    data;
    constructor(code, message, data) {
        super(message);
        this.code = code;
        this.data = data;
        this.name = "RpcCallError";
    }
}
/** The daemon did not answer within the call's timeout (it may still be working on it). */
export class RpcTimeoutError extends MarsError {
    constructor(message, options) {
        super("RPC_TIMEOUT", message, options);
    }
}
export class RpcClient {
    url;
    token;
    nextId = 1;
    constructor(url, token) {
        this.url = url;
        this.token = token;
    }
    static async fromTokenFile(url, tokenFile) {
        const token = Buffer.from(await nodeStorage.readFile(tokenFile))
            .toString("utf8")
            .trim();
        if (!/^[\x21-\x7e]{16,1024}$/.test(token))
            throw new MalformedFileError(`${tokenFile} does not hold an admin token`);
        return new RpcClient(url, token);
    }
    async call(method, params = {}, timeoutMs = 120_000) {
        const id = this.nextId++;
        const signal = systemClock.timeoutSignal(timeoutMs);
        let text;
        let res;
        try {
            res = await fetch(new URL("/rpc", this.url), {
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
                body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
                signal,
            });
            text = await res.text();
        }
        catch (err) {
            // The bare abort says neither what nor where; name both (an operator sees this message).
            if (signal.aborted) {
                throw new RpcTimeoutError(`${method} got no answer from ${this.url} within ${timeoutMs} ms`, {
                    cause: err,
                });
            }
            throw err;
        }
        let body;
        try {
            body = JSON.parse(text);
        }
        catch {
            throw new RpcCallError(-32700, `HTTP ${res.status}: ${text.slice(0, 200)}`);
        }
        if (body.error)
            throw new RpcCallError(body.error.code, body.error.message, body.error.data);
        return body.result;
    }
}
//# sourceMappingURL=rpc-client.js.map
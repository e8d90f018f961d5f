/**
 * api/openrpc.json is the contract. This module loads it once, inlines its
 * component references and compiles one ajv validator per method for the
 * params (by-name: an object with exactly the listed properties) and one
 * for the result (used by the tests to hold every answer to the contract).
 */
import path from "node:path";
import { Ajv } from "ajv";
import { PROJECT_ROOT, readJsonAsset } from "../platform/assets.js";
import { InternalError } from "../util/errors.js";
export const OPENRPC_PATH = path.join(PROJECT_ROOT, "api", "openrpc.json");
export function loadOpenRpcDocument(file = OPENRPC_PATH) {
    return readJsonAsset(file);
}
/** Replaces every {"$ref": "#/components/..."} by the referenced object (the document has no cycles). */
export function inlineRefs(value, doc, depth = 0) {
    if (depth > 32)
        throw new InternalError("openrpc.json: $ref nesting too deep (cycle?)");
    if (Array.isArray(value))
        return value.map((v) => inlineRefs(v, doc, depth));
    if (value === null || typeof value !== "object")
        return value;
    const ref = value.$ref;
    if (typeof ref === "string") {
        const target = ref
            .replace(/^#\//, "")
            .split("/")
            .reduce((node, key) => node?.[key], doc);
        if (target === undefined)
            throw new InternalError(`openrpc.json: unresolved $ref ${ref}`);
        return inlineRefs(target, doc, depth + 1);
    }
    const out = {};
    for (const [k, v] of Object.entries(value))
        out[k] = inlineRefs(v, doc, depth);
    return out;
}
export function compileValidators(doc) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    const validators = new Map();
    for (const raw of doc.methods) {
        const method = inlineRefs(raw, doc);
        const paramsSchema = {
            type: "object",
            additionalProperties: false,
            properties: Object.fromEntries(method.params.map((p) => [p.name, p.schema])),
            required: method.params.filter((p) => p.required).map((p) => p.name),
        };
        validators.set(method.name, {
            method,
            params: ajv.compile(paramsSchema),
            result: ajv.compile(method.result.schema),
        });
    }
    return validators;
}
/** ajv errors in the shape sent as `data` of a -32602 answer. */
export function describeErrors(errors) {
    return (errors ?? []).map((e) => ({
        path: e.instancePath || "/",
        keyword: e.keyword,
        message: e.message ?? "invalid",
        params: e.params,
    }));
}
//# sourceMappingURL=openrpc.js.map
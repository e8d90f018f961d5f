/**
 * api/openrpc.json is the contract. This module loads it once, inlines its
 * component references and compiles one ajv validator per method for the
 * params (by-name: an object with exactly the listed properties) and one
 * for the result (used by the tests to hold every answer to the contract).
 */
import path from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { PROJECT_ROOT, readJsonAsset } from "../platform/assets.js";
import { InternalError } from "../util/errors.js";

interface ContentDescriptor {
  name: string;
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface OpenRpcMethod {
  name: string;
  params: ContentDescriptor[];
  result: ContentDescriptor;
  errors?: Array<{ code: number; message: string }>;
}

export interface OpenRpcDocument {
  openrpc: string;
  info: Record<string, unknown>;
  methods: OpenRpcMethod[];
  components: { schemas: Record<string, unknown>; errors: Record<string, { code: number; message: string }> };
}

export const OPENRPC_PATH = path.join(PROJECT_ROOT, "api", "openrpc.json");

export function loadOpenRpcDocument(file = OPENRPC_PATH): OpenRpcDocument {
  return readJsonAsset(file) as OpenRpcDocument;
}

/** Replaces every {"$ref": "#/components/..."} by the referenced object (the document has no cycles). */
export function inlineRefs(value: unknown, doc: OpenRpcDocument, depth = 0): unknown {
  if (depth > 32) throw new InternalError("openrpc.json: $ref nesting too deep (cycle?)");
  if (Array.isArray(value)) return value.map((v) => inlineRefs(v, doc, depth));
  if (value === null || typeof value !== "object") return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === "string") {
    const target = ref
      .replace(/^#\//, "")
      .split("/")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
    if (target === undefined) throw new InternalError(`openrpc.json: unresolved $ref ${ref}`);
    return inlineRefs(target, doc, depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = inlineRefs(v, doc, depth);
  return out;
}

export interface MethodValidators {
  params: ValidateFunction;
  result: ValidateFunction;
  method: OpenRpcMethod;
}

export function compileValidators(doc: OpenRpcDocument): Map<string, MethodValidators> {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  const validators = new Map<string, MethodValidators>();
  for (const raw of doc.methods) {
    const method = inlineRefs(raw, doc) as OpenRpcMethod;
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
export function describeErrors(errors: ErrorObject[] | null | undefined) {
  return (errors ?? []).map((e) => ({
    path: e.instancePath || "/",
    keyword: e.keyword,
    message: e.message ?? "invalid",
    params: e.params,
  }));
}

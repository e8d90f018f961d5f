/**
 * The admin HTTP listener: POST /rpc (JSON-RPC, bearer token), GET
 * /metrics (Prometheus text format) and GET /healthz. Transport problems
 * get HTTP status codes (401, 405, 413, 415); everything that reached the
 * JSON-RPC layer is HTTP 200 with a JSON-RPC answer, or 204 for
 * notifications.
 */
import { timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import { RpcCode } from "./error-codes.js";
import type { RpcEndpoint } from "./endpoint.js";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface AdminAppOptions<Ctx> {
  endpoint: RpcEndpoint<Ctx>;
  context: Ctx;
  /** The admin bearer token. */
  token: string;
  metrics: Metrics;
  logger: Logger;
  /** Readiness, for /healthz. */
  health: () => { ok: boolean; details: Record<string, unknown> };
}

function transportError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: "2.0", id: null, error: { code, message } });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? "");
  if (!m) return false;
  const given = Buffer.from(m[1] as string, "utf8");
  const expected = Buffer.from(token, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createAdminApp<Ctx>(options: AdminAppOptions<Ctx>): express.Express {
  const app = express();
  app.disable("x-powered-by");

  app.get("/healthz", (_req, res) => {
    const { ok, details } = options.health();
    res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", ...details });
  });

  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", options.metrics.registry.contentType);
    res.end(await options.metrics.registry.metrics());
  });

  app.all("/rpc", (req, res, next) => {
    if (req.method !== "POST") {
      res.set("Allow", "POST");
      transportError(res, 405, RpcCode.InvalidRequest, "JSON-RPC requests must be sent with POST");
      return;
    }
    if (!tokenMatches(req.get("authorization"), options.token)) {
      res.set("WWW-Authenticate", 'Bearer realm="marsd"');
      transportError(
        res,
        401,
        RpcCode.Unauthorized,
        "Unauthorized: send the admin token as 'Authorization: Bearer <token>'",
      );
      return;
    }
    if (!req.is("application/json")) {
      transportError(res, 415, RpcCode.InvalidRequest, "Content-Type must be application/json");
      return;
    }
    next();
  });

  app.post(
    "/rpc",
    express.text({ type: () => true, limit: MAX_BODY_BYTES }),
    async (req: Request, res: Response) => {
      const text = typeof req.body === "string" ? req.body : "";
      const reply = await options.endpoint.handle(text, options.context);
      if (reply.body === undefined) res.status(204).end();
      else res.status(200).json(reply.body);
    },
  );

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: string }).type;
    if (type === "entity.too.large") {
      transportError(res, 413, RpcCode.InvalidRequest, `request body exceeds ${MAX_BODY_BYTES} bytes`);
      return;
    }
    if (type === "encoding.unsupported" || type === "charset.unsupported") {
      transportError(res, 415, RpcCode.InvalidRequest, "unsupported request encoding");
      return;
    }
    options.logger.error({ err }, "admin request failed");
    transportError(res, 500, RpcCode.InternalError, "Internal error");
  });

  app.use((_req, res) => res.status(404).json({ error: "not found" }));
  return app;
}

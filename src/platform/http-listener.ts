/**
 * The admin API's HTTP listener (node:http), kept here so nothing outside
 * src/platform touches node:http. The caller gives the request handler
 * (the express app) and the bounds; this module owns the server.
 *
 * Contract:
 * - Beyond `maxConnections` open connections Node closes new ones at
 *   once, so a flood cannot grow memory per connection.
 * - An idle kept-alive connection is closed after `keepAliveTimeoutMs`.
 * - `onClientError` gets every request Node could not parse, with the raw
 *   socket to answer on (or destroy); `onConnectionCount` the number of
 *   open connections after each change (for the metric).
 * - `close(graceMs)` stops accepting, closes idle connections at once and
 *   every other one after `graceMs` (requests still in flight get that
 *   long to finish); it resolves when the last connection has closed.
 */
import http from "node:http";
import type { Duplex } from "node:stream";

export interface HttpListenerOptions {
  host: string;
  /** 0 picks a free port (see HttpListener.port). */
  port: number;
  maxConnections: number;
  keepAliveTimeoutMs: number;
  onClientError: (err: Error & { code?: string }, socket: Duplex) => void;
  onConnectionCount: (open: number) => void;
}

export interface HttpListener {
  /** The bound port. */
  readonly port: number;
  close(graceMs: number): Promise<void>;
}

export type HttpHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export async function listenHttp(handler: HttpHandler, options: HttpListenerOptions): Promise<HttpListener> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.maxConnections = options.maxConnections;
  server.on("clientError", options.onClientError);
  let open = 0;
  server.on("connection", (socket) => {
    options.onConnectionCount(++open);
    socket.once("close", () => options.onConnectionCount(--open));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * The NBD server: listens on a Unix socket (always) and optionally TCP,
 * negotiates with each client and hands the connection to a transmission
 * session for the chosen export (one export per running primary resource,
 * named after it).
 */
import { chmod, rm } from "node:fs/promises";
import net from "node:net";
import type { Logger } from "pino";
import type { Metrics } from "../../metrics/metrics.js";
import { negotiate, ProtocolError, type ExportRegistry } from "./handshake.js";
import { TransmissionSession } from "./transmission.js";

export interface NbdServerOptions {
  /** Path of the Unix socket. */
  socketPath: string;
  /** Optional TCP listener, "host:port". */
  tcpListen?: string;
  /** Bound on in-flight requests per connection. */
  maxInFlightPerConnection: number;
  /** Bound on concurrent connections (both listeners together). */
  maxConnections: number;
  /** A client must finish negotiating within this time. */
  handshakeTimeoutMs: number;
  registry: ExportRegistry;
  metrics: Metrics;
  logger: Logger;
}

export const DEFAULT_NBD_LIMITS = {
  maxInFlightPerConnection: 128,
  maxConnections: 256,
  handshakeTimeoutMs: 30_000,
};

export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`"${value}" is not host:port`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export class NbdServer {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<TransmissionSession>();
  private shuttingDown = false;
  private tcpAddress: { host: string; port: number } | undefined;

  constructor(private readonly options: NbdServerOptions) {
    options.metrics.nbdInflightLimitRequests.set(options.maxInFlightPerConnection);
  }

  async start(): Promise<void> {
    const { options } = this;
    await rm(options.socketPath, { force: true });
    const unixServer = this.makeServer();
    await new Promise<void>((resolve, reject) => {
      unixServer.once("error", reject);
      unixServer.listen(options.socketPath, () => resolve());
    });
    await chmod(options.socketPath, 0o660);
    this.servers.push(unixServer);
    if (options.tcpListen) {
      const { host, port } = parseHostPort(options.tcpListen);
      const tcpServer = this.makeServer();
      await new Promise<void>((resolve, reject) => {
        tcpServer.once("error", reject);
        tcpServer.listen(port, host, () => resolve());
      });
      const address = tcpServer.address() as net.AddressInfo;
      this.tcpAddress = { host, port: address.port };
      this.servers.push(tcpServer);
    }
  }

  /** The standard NBD URIs of an export (nbdinfo, qemu and libnbd accept them). */
  uris(exportName: string): { unix: string; tcp?: string } {
    const name = encodeURIComponent(exportName);
    const unix = `nbd+unix:///${name}?socket=${encodeURIComponent(this.options.socketPath).replace(/%2F/g, "/")}`;
    if (!this.tcpAddress) return { unix };
    const host = this.tcpAddress.host.includes(":") ? `[${this.tcpAddress.host}]` : this.tcpAddress.host;
    return { unix, tcp: `nbd://${host}:${this.tcpAddress.port}/${name}` };
  }

  /** Ends every connection to one export (resource deleted or no longer primary). */
  async closeExport(exportName: string): Promise<void> {
    await Promise.all([...this.sessions].filter((s) => s.exportName === exportName).map((s) => s.shutdown()));
  }

  /** Stops listening, lets in-flight requests finish, closes all connections. */
  async close(graceMs = 10_000): Promise<void> {
    this.shuttingDown = true;
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const drained = Promise.all([...this.sessions].map((s) => s.shutdown()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
    await rm(this.options.socketPath, { force: true });
  }

  private makeServer(): net.Server {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections;
    return server;
  }

  private accept(socket: net.Socket): void {
    const { options } = this;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", (err) => options.logger.debug({ err }, "nbd socket error"));
    const timer = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs);
    negotiate(socket, options.registry, () => this.shuttingDown)
      .then((chosen) => {
        clearTimeout(timer);
        if (!chosen) {
          socket.end();
          return;
        }
        const session = new TransmissionSession(
          socket,
          chosen.name,
          chosen.volume,
          chosen.leftover,
          options.metrics,
          {
            maxInFlight: options.maxInFlightPerConnection,
            onClose: () => this.sessions.delete(session),
            logError: (err, context) => options.logger.error({ err, ...context }, "nbd request failed"),
          },
        );
        this.sessions.add(session);
        if (socket.destroyed) this.sessions.delete(session);
      })
      .catch((err: unknown) => {
        clearTimeout(timer);
        if (err instanceof ProtocolError) options.logger.info({ reason: err.message }, "nbd client dropped");
        else options.logger.error({ err }, "nbd negotiation failed");
        socket.destroy();
      });
  }
}

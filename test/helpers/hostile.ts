/**
 * Tools for tests that act as an attacker or a careless client against a
 * real daemon: its RSS from /proc, a TCP proxy that records what a client
 * sends (to replay the real bytes later), raw HTTP over a socket (for bodies
 * no HTTP client would send), the error-level lines of a daemon's log, and
 * the node keys of daemons (to speak as a member, or as a member that
 * claims another's name).
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { IDENTITY_FILE, NODE_KEY_FILE } from "../../src/cluster/identity.js";
import type { PeerClient } from "../../src/peer/client.js";
import { PairKeys, nodeKeyFromSeed, type NodeKeyPair } from "../../src/peer/node-key.js";

/** Resident set size of a process, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the peak. */
export function watchRss(pid: number, intervalMs = 20): { stop(): number; peak(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone; the test notices that itself
    }
  }, intervalMs);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Pino lines at error level or above (level >= 50) in a daemon's output. */
export function errorLines(output: string): string[] {
  return output.split("\n").filter((line) => {
    const m = /"level":(\d+)/.exec(line);
    return m !== null && Number(m[1]) >= 50;
  });
}

/** A forwarding TCP proxy that keeps every byte each client connection sent. */
export class RecordingProxy {
  /** Client-to-server bytes, one entry per connection, in arrival order. */
  readonly sent: Buffer[][] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<RecordingProxy> {
    const holder: { proxy?: RecordingProxy } = {};
    const server = net.createServer((client) => {
      const proxy = holder.proxy as RecordingProxy;
      const chunks: Buffer[] = [];
      proxy.sent.push(chunks);
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on("close", () => proxy.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    holder.proxy = new RecordingProxy(server, (server.address() as net.AddressInfo).port);
    return holder.proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Every complete HTTP request recorded (head and Content-Length body), as raw bytes. */
  requests(): Array<{ head: string; raw: Buffer }> {
    const out: Array<{ head: string; raw: Buffer }> = [];
    for (const chunks of this.sent) {
      const data = Buffer.concat(chunks);
      let at = 0;
      for (;;) {
        const end = data.indexOf("\r\n\r\n", at);
        if (end < 0) break;
        const head = data.subarray(at, end).toString("latin1");
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const stop = end + 4 + length;
        if (stop > data.length) break;
        out.push({ head, raw: data.subarray(at, stop) });
        at = stop;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends raw bytes on a fresh connection and reads one HTTP answer. With
 * `halfClose`, the sending side is shut after the bytes (a body that ends
 * short of its Content-Length). Resolves status 0 if the server closed the
 * connection without answering.
 */
export function rawHttp(
  port: number,
  bytes: Buffer,
  options: { halfClose?: boolean; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let done = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = split < 0 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split < 0 ? "" : text.slice(split + 4) });
      socket.destroy();
    };
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // One answer with Content-Length is complete when its body is.
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, Math.max(split, 0)));
      if (split < 0) return;
      // A streamed answer (no Content-Length) is judged by its head: it may go on for long.
      if (!length || Buffer.concat(chunks).length >= split + 4 + Number(length[1])) finish();
    });
    socket.on("end", finish);
    socket.on("error", () => finish());
    socket.write(bytes, () => {
      if (options.halfClose) socket.end();
    });
  });
}

/**
 * POSTs `bodyBytes` (after the raw `head`) as fast as the server takes them, until
 * all is sent or the server closes. Resolves the HTTP status (0: none).
 */
export function floodPost(port: number, head: string, bodyBytes: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    let answer = "";
    let closed = false;
    socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    const finish = (): void => {
      closed = true;
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    };
    socket.on("close", finish);
    socket.on("error", () => undefined);
    const pump = (): void => {
      while (!closed && sent < bodyBytes) {
        const n = Math.min(chunk.length, bodyBytes - sent);
        sent += n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          socket.once("drain", pump);
          return;
        }
      }
      if (!closed) socket.end();
    };
    socket.write(head, pump);
  });
}

/** A daemon's node key pair, read from its data directory (cluster/node-key.json). */
export function nodeKeyOf(dataDir: string): NodeKeyPair {
  const file = JSON.parse(readFileSync(path.join(dataDir, "cluster", NODE_KEY_FILE), "utf8")) as {
    privateKey: string;
  };
  return nodeKeyFromSeed(file.privateKey);
}

/** The cluster id a daemon belongs to (cluster/identity.json). */
export function clusterIdOf(dataDir: string): string {
  return (
    JSON.parse(readFileSync(path.join(dataDir, "cluster", IDENTITY_FILE), "utf8")) as { clusterId: string }
  ).clusterId;
}

/**
 * Makes `client` sign with the node key of the daemon whose data directory
 * is `keyOf` (default: its own host's), towards the daemons in `peers`
 * (host -> data directory). With another member's key and the client's own
 * host name, it is that member claiming to be the client's host.
 */
export function useNodeKeys(
  client: PeerClient,
  self: { host: string; keyOf: string },
  peers: Record<string, string>,
  clusterId: string,
): void {
  const publicKeys = new Map(Object.entries(peers).map(([host, dir]) => [host, nodeKeyOf(dir).publicKey]));
  const keys = new PairKeys(
    nodeKeyOf(self.keyOf),
    self.host,
    (host) => publicKeys.get(host),
    () => clusterId,
  );
  client.useKeys((peer) => keys.toPeer(peer));
}

import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { LamportClock } from "../../../src/cluster/clock.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { PeerClient } from "../../../src/peer/client.js";

describe("peer client connections", () => {
  let server: http.Server;
  let address = "";
  let connections = 0;

  before(async () => {
    server = http.createServer((_req, res) => res.end("ok"));
    server.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Connections the server accepted for `requests` sequential requests. */
  async function connectionsFor(requests: number, keepAlive: boolean | undefined): Promise<number> {
    const client = new PeerClient({
      host: "alpha",
      clock: new LamportClock(),
      metrics: new Metrics({ defaultMetrics: false }),
      timeoutMs: 5_000,
      maxResponseBytes: 1024,
      maxSocketsPerPeer: 4,
      keepAlive,
    });
    const before = connections;
    for (let i = 0; i < requests; i++) {
      const { response } = await client.open({ clusterId: "c", secret: "s" }, address, "GET", "/");
      for await (const chunk of response) void chunk;
    }
    return connections - before;
  }

  it("reuses one connection per peer by default", async () => {
    assert.equal(await connectionsFor(3, undefined), 1);
  });

  it("opens a connection per request with keepAlive: false (one process simulating many nodes)", async () => {
    assert.equal(await connectionsFor(3, false), 3);
  });
});

/**
 * Listing the next log file (`POST /peer/v1/log/list`) and the fetcher that
 * asks for it, on virtual time: the real LogServer, PeerServer, PeerClient,
 * LocalLogs and Fetcher over the simulator's clock, network and disk.
 *
 * Simulator seed 90284 ran out of memory: a node taking over had listed the
 * next file (its fetch from the old primary had just started: length 0, no
 * file on disk yet); the list long-poll of another secondary ended at once
 * on that file but answered without it, and the secondary asked again at
 * once, forever, at one virtual instant. The long-poll now waits for a file
 * it can offer, and a fetcher whose list finds nothing asks at most once per
 * listWaitMs whatever the source answers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { RecordKind } from "../../../src/log/record.js";
import { DEFAULT_WRITER_LIMITS, LogWriter } from "../../../src/log/writer.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { PeerClient } from "../../../src/peer/client.js";
import { PeerServer } from "../../../src/peer/server.js";
import { seededRandom } from "../../../src/platform/random.js";
import { makeDirectoryDurable } from "../../../src/platform/storage/atomic-file.js";
import { Fetcher, type FetchProgress } from "../../../src/replication/fetcher.js";
import { LocalLogs } from "../../../src/replication/local-logs.js";
import { LogServer, type LogListEntry } from "../../../src/replication/log-server.js";
import { fileHeader } from "../../helpers/log-fixtures.js";
import { SimClock } from "../../sim/sim-clock.js";
import { SimNetwork } from "../../sim/sim-network.js";
import { SimStorage } from "../../sim/sim-storage.js";
import { SimTransport } from "../../sim/sim-transport.js";

const credentials = { clusterId: "cluster-1", secret: "s".repeat(40) };
const LOGS = "/var/lib/marsd/resources/r0";
const LIST_WAIT_MS = 1_000;
const logger = pino({ level: "silent" });

/**
 * `host` serves r0's logs from `logs` at "<host>:7000"; every list request it gets is counted.
 * While `running()` is false, r0 is not served (as a failed resource is not).
 */
async function serveLogs(
  sim: SimClock,
  network: SimNetwork,
  storage: SimStorage,
  host: string,
  logs: LocalLogs,
  running: () => boolean = () => true,
) {
  const metrics = new Metrics({ defaultMetrics: false });
  const server = new PeerServer({
    listen: { host, port: 7000 },
    transport: new SimTransport(network, host),
    auth: {
      clusterId: () => credentials.clusterId,
      secret: () => credentials.secret,
      isRemoved: () => false,
    },
    clock: new LamportClock({ wall: sim }),
    time: sim,
    storage,
    metrics,
    logger,
    timeWindowMs: 60_000,
    maxRequestBodyBytes: 64 * 1024,
    maxControlBodyBytes: 1024,
    maxUnauthenticatedRequests: 4,
    maxUnauthenticatedBytes: 1024 * 1024,
    replayLeaseMs: 1_000,
  });
  const asked = { lists: 0 };
  new LogServer({
    server,
    storage,
    time: sim,
    metrics,
    logger,
    lookup: (name) => {
      if (name !== "r0" || !running()) return undefined;
      asked.lists += 1;
      return { logs };
    },
    chunkBytes: 64 * 1024,
    heartbeatMs: 500,
    maxWaitMs: 60_000,
  });
  const listening = server.start();
  await sim.runUntil(() => server.port > 0, 1_000);
  await listening;
  return { asked, close: () => void server.close() };
}

/** A client on `host`. */
function clientOn(sim: SimClock, network: SimNetwork, metrics: Metrics, host: string): PeerClient {
  return new PeerClient({
    host,
    clock: new LamportClock({ wall: sim }),
    time: sim,
    random: seededRandom(2),
    metrics,
    transport: new SimTransport(network, host),
    timeoutMs: 60_000,
    maxResponseBytes: 1024 * 1024,
  });
}

/** Alpha serves r0's logs from `logs`; bravo's client asks. Every list request alpha gets is counted. */
async function cluster(linkLatencyMs: number) {
  const sim = new SimClock({ startWallMs: 1_700_000_000_000 });
  const network = new SimNetwork({ time: sim, seed: 1 });
  network.setLink("alpha", "bravo", { latencyMs: linkLatencyMs });
  network.setLink("bravo", "alpha", { latencyMs: linkLatencyMs });
  const storage = new SimStorage({ seed: 1 });
  await makeDirectoryDurable(LOGS, storage);
  const logs = new LocalLogs(LOGS, storage);
  const metrics = new Metrics({ defaultMetrics: false });
  const { asked, close } = await serveLogs(sim, network, storage, "alpha", logs);
  const client = clientOn(sim, network, metrics, "bravo");
  /** Writes log file `fileNumber` of alpha (a durable header) and returns its name and durable length. */
  const writeFile = async (fileNumber: number) => {
    const name = `log-${String(fileNumber).padStart(9, "0")}-alpha`;
    // The disk has no latency: its operations complete without virtual time passing.
    const writer = await LogWriter.create(
      storage,
      `${LOGS}/${name}`,
      fileHeader(fileNumber),
      new LamportClock({ wall: sim }),
      sim,
      { ...DEFAULT_WRITER_LIMITS, preallocateBytes: 0 },
    );
    return { name, lengthBytes: writer.durableOffsetBytes };
  };
  return { sim, storage, logs, metrics, client, asked, writeFile, close };
}

type Cluster = Awaited<ReturnType<typeof cluster>>;

/** A list request from bravo; `at` is the virtual time its answer came. */
function list(c: Cluster, afterFileNumber: number) {
  const answer: { files?: LogListEntry[]; at?: number } = {};
  void c.client
    .call<{ files: LogListEntry[] }>(
      credentials,
      "alpha:7000",
      "POST",
      "/peer/v1/log/list",
      { resource: "r0", afterFileNumber, waitMs: LIST_WAIT_MS },
      "alpha",
    )
    .then((r) => {
      answer.files = r.body.files;
      answer.at = c.sim.monotonicMs();
    });
  return answer;
}

describe("log list long-poll", () => {
  it("waits out a file whose fetch has just started here, and answers once it has data", async () => {
    const c = await cluster(0);
    try {
      // Alpha is taking over: it listed the old primary's next file and started fetching it,
      // nothing of it is here yet (length 0, not created).
      c.logs.add("log-000000002-alpha", 0);
      const startMs = c.sim.monotonicMs();
      const early = list(c, 1);
      await c.sim.advance(LIST_WAIT_MS - 10);
      assert.equal(early.files, undefined, "answered before the wait was over, with nothing to offer");
      await c.sim.advance(100);
      assert.deepEqual(early.files, []);
      assert.ok((early.at as number) - startMs >= LIST_WAIT_MS);
      assert.equal(c.asked.lists, 1);

      // The next request waits too, until the copy's first bytes are here: then it is offered.
      const later = list(c, 1);
      await c.sim.advance(300);
      assert.equal(later.files, undefined);
      const { name, lengthBytes } = await c.writeFile(2);
      c.logs.grow(name, lengthBytes);
      await c.sim.advance(10);
      const offered = later.files as LogListEntry[] | undefined;
      assert.deepEqual(
        offered?.map((f) => [f.name, f.lengthBytes]),
        [[name, lengthBytes]],
      );
    } finally {
      c.close();
    }
  });

  it("answers at once when a file after the one asked about has data", async () => {
    const c = await cluster(0);
    try {
      const { name, lengthBytes } = await c.writeFile(2);
      c.logs.add(name, lengthBytes);
      const answer = list(c, 1);
      await c.sim.advance(1);
      assert.deepEqual(
        answer.files?.map((f) => f.name),
        [name],
      );
    } finally {
      c.close();
    }
  });
});

describe("fetcher waiting for the next file", () => {
  it("asks at most once per listWaitMs when the source answers at once without it", async () => {
    const c = await cluster(5);
    // Alpha holds a later file but not number 2 (the one after ours): its list answers at once,
    // and offers nothing our fetcher may take.
    const { name, lengthBytes } = await c.writeFile(3);
    c.logs.add(name, lengthBytes);
    const saved: FetchProgress[] = [];
    const fetcher = new Fetcher(
      {
        resource: "r0",
        host: "bravo",
        logs: new LocalLogs("/bravo/r0", c.storage),
        storage: c.storage,
        time: c.sim,
        client: c.client,
        credentials: () => credentials,
        addressOf: (host) => (host === "alpha" ? "alpha:7000" : undefined),
        designatedPrimary: () => "alpha",
        holdersOf: () => [],
        saveProgress: (p) => {
          saved.push(p);
          return Promise.resolve();
        },
        metrics: c.metrics,
        logger,
        syncEveryBytes: 1024 * 1024,
        listWaitMs: LIST_WAIT_MS,
        retryMaxMs: 2_000,
      },
      { file: "log-000000001-alpha", verifiedBytes: 100, nextSeq: 1, finished: true },
    );
    try {
      fetcher.start();
      await c.sim.advance(10_000);
      // One list per listWaitMs (plus the first), not one per round trip (about 1000 in 10 s).
      assert.ok(c.asked.lists >= 5, `${c.asked.lists} lists: the fetcher stopped asking`);
      assert.ok(c.asked.lists <= 11, `${c.asked.lists} lists in 10 s: the fetcher polls in a loop`);
      assert.equal(fetcher.current.file, "log-000000001-alpha");
      assert.deepEqual(saved, []);
    } finally {
      const stopping = fetcher.stop();
      await c.sim.advance(100);
      await stopping;
      c.close();
    }
  });
});

describe("fetcher of a node taking over", () => {
  // Simulator seed 83: bravo wrote file 11 and handed over to charlie, which wrote 12; a forced
  // failover to alpha then failed half-way, and alpha, designated but still a secondary, waits
  // by the planned rule for charlie's writes. Alpha's fetcher listed the file after 11 at bravo
  // (11's writer) only: bravo lists no 12 with data, so alpha never fetched 12 and the take-over
  // never completed. It now lists first at a member that published that it holds the next file.
  /** Three nodes' log directories on one simulated disk and network. */
  async function threeNodes() {
    const sim = new SimClock({ startWallMs: 1_700_000_000_000 });
    const network = new SimNetwork({ time: sim, seed: 1 });
    const storage = new SimStorage({ seed: 1 });
    const logsOf = async (host: string) => {
      await makeDirectoryDurable(`/${host}/r0`, storage);
      return new LocalLogs(`/${host}/r0`, storage);
    };
    /** Writes a file's durable header and `records` 4 KiB writes into `logs` and lists it there. */
    const write = async (
      logs: LocalLogs,
      fileNumber: number,
      host: string,
      prevVersion?: string,
      records = 0,
    ) => {
      const name = `log-${String(fileNumber).padStart(9, "0")}-${host}`;
      const header = { ...fileHeader(fileNumber), host, ...(prevVersion ? { prevVersion } : {}) };
      const writer = await LogWriter.create(
        storage,
        `${logs.dir}/${name}`,
        header,
        new LamportClock({ wall: sim }),
        sim,
        { ...DEFAULT_WRITER_LIMITS, preallocateBytes: 0 },
      );
      if (records > 0) {
        const appended = writer.append(
          Array.from({ length: records }, (_, i) => ({
            kind: RecordKind.Write,
            offsetBytes: i * 4096,
            lengthBytes: 4096,
            payload: new Uint8Array(4096).fill(i + 1),
          })),
        );
        await sim.advance(100);
        await appended;
      }
      logs.add(name, writer.durableOffsetBytes);
      return name;
    };
    return {
      sim,
      network,
      storage,
      write,
      alphaLogs: await logsOf("alpha"),
      bravoLogs: await logsOf("bravo"),
      charlieLogs: await logsOf("charlie"),
    };
  }

  for (const holders of [["charlie"], ["bravo", "charlie"]]) {
    // Simulator seed 1070040: the first member whose history has file 5 had deleted it since
    // (it had cut the others loose); the second still held it. Each one is asked in turn.
    it(`lists the next file at the members that held it, not only at the current file's writer (${holders.join(", ")})`, async () => {
      const { sim, network, storage, write, alphaLogs, bravoLogs, charlieLogs } = await threeNodes();
      const eleven = await write(alphaLogs, 11, "bravo");
      await write(bravoLogs, 11, "bravo");
      const twelve = await write(charlieLogs, 12, "charlie", (await alphaLogs.version(eleven)).version);
      const bravo = await serveLogs(sim, network, storage, "bravo", bravoLogs);
      const charlie = await serveLogs(sim, network, storage, "charlie", charlieLogs);
      const metrics = new Metrics({ defaultMetrics: false });
      const saved: FetchProgress[] = [];
      const fetcher = new Fetcher(
        {
          resource: "r0",
          host: "alpha",
          logs: alphaLogs,
          storage,
          time: sim,
          client: clientOn(sim, network, metrics, "alpha"),
          credentials: () => credentials,
          addressOf: (host) => (host === "bravo" || host === "charlie" ? `${host}:7000` : undefined),
          designatedPrimary: () => "alpha",
          holdersOf: (fileNumber) => (fileNumber === 12 ? holders : []),
          saveProgress: (p) => {
            saved.push(p);
            return Promise.resolve();
          },
          metrics,
          logger,
          syncEveryBytes: 1024 * 1024,
          listWaitMs: LIST_WAIT_MS,
          retryMaxMs: 2_000,
        },
        { file: eleven, verifiedBytes: alphaLogs.get(eleven)?.lengthBytes ?? 0, nextSeq: 1, finished: true },
      );
      try {
        fetcher.start();
        await sim.advance(5 * LIST_WAIT_MS);
        assert.equal(fetcher.current.file, twelve, `still at ${fetcher.current.file}`);
        assert.ok(saved.some((p) => p.file === twelve));
      } finally {
        const stopping = fetcher.stop();
        await sim.advance(100);
        await stopping;
        bravo.close();
        charlie.close();
      }
    });
  }

  /** Stops `fetcher` (a list it waits on ends in virtual time) and the log servers. */
  async function stopAll(
    c: Awaited<ReturnType<typeof threeNodes>>,
    fetcher: Fetcher,
    servers: Array<{ close: () => void }>,
  ) {
    const stopping = fetcher.stop();
    await c.sim.advance(2 * LIST_WAIT_MS);
    await stopping;
    for (const server of servers) server.close();
  }

  /** Charlie's fetcher, designated (taking over), at the start of `file`; `holder` published that it holds it. */
  function charlieTakingOver(c: Awaited<ReturnType<typeof threeNodes>>, file: string, holder: string) {
    const metrics = new Metrics({ defaultMetrics: false });
    return new Fetcher(
      {
        resource: "r0",
        host: "charlie",
        logs: c.charlieLogs,
        storage: c.storage,
        time: c.sim,
        client: clientOn(c.sim, c.network, metrics, "charlie"),
        credentials: () => credentials,
        addressOf: (host) => (host === "alpha" || host === "bravo" ? `${host}:7000` : undefined),
        designatedPrimary: () => "charlie",
        holdersOf: (fileNumber) => (fileNumber === 12 ? [holder] : []),
        saveProgress: () => Promise.resolve(),
        metrics,
        logger,
        syncEveryBytes: 1024 * 1024,
        listWaitMs: LIST_WAIT_MS,
        retryMaxMs: 2_000,
      },
      { file, verifiedBytes: 0, nextSeq: 0, finished: false },
    );
  }

  // Simulator seed 920155: bravo, primary, had cut charlie loose and deleted files 17-19; alpha,
  // forced later, kept them. A handover designated charlie, whose fetcher asked only bravo (the
  // files' writer) for 17 and was told "no log file" for ever: nobody served. A node taking over
  // now fetches a file its writer no longer has from a member that published that it holds it.
  it("fetches the current file from a member that holds it when its writer no longer has it", async () => {
    const c = await threeNodes();
    const twelve = await c.write(c.alphaLogs, 12, "bravo", undefined, 3);
    c.alphaLogs.markFinished(twelve);
    const bravo = await serveLogs(c.sim, c.network, c.storage, "bravo", c.bravoLogs);
    const alpha = await serveLogs(c.sim, c.network, c.storage, "alpha", c.alphaLogs);
    const fetcher = charlieTakingOver(c, twelve, "alpha");
    try {
      fetcher.start();
      await c.sim.advance(5 * LIST_WAIT_MS);
      const why = `fetcher ${fetcher.stateValue}: ${fetcher.lastError ?? ""}`;
      assert.ok((c.alphaLogs.get(twelve)?.lengthBytes ?? 0) > 3 * 4096);
      assert.equal(c.charlieLogs.get(twelve)?.lengthBytes, c.alphaLogs.get(twelve)?.lengthBytes, why);
      assert.ok(c.charlieLogs.isFinished(twelve), why);
    } finally {
      await stopAll(c, fetcher, [alpha, bravo]);
    }
  });

  // Simulator seed 930103 (with the fallback above): alpha, the writer, was recovering from a
  // failure and said "no log file"; bravo, taking over, streamed from charlie, whose unfinished
  // copy followed bravo: each waited for the other for ever. Once a holder has nothing more and
  // its copy is not finished, the fetcher goes back to the writer.
  it("goes back to the writer once a holder's unfinished copy has nothing more", async () => {
    const c = await threeNodes();
    const twelve = await c.write(c.alphaLogs, 12, "alpha", undefined, 3);
    const lengthBytes = c.alphaLogs.get(twelve)?.lengthBytes ?? 0;
    // Bravo holds the same bytes, not finished there; alpha does not serve r0 (recovering).
    const copy = await c.storage.open(c.bravoLogs.pathOf(twelve), "create");
    await copy.writev([await c.storage.readFile(c.alphaLogs.pathOf(twelve))], 0);
    await copy.datasync();
    await copy.close();
    c.bravoLogs.add(twelve, lengthBytes);
    let alphaRunning = false;
    const bravo = await serveLogs(c.sim, c.network, c.storage, "bravo", c.bravoLogs);
    const alpha = await serveLogs(c.sim, c.network, c.storage, "alpha", c.alphaLogs, () => alphaRunning);
    const fetcher = charlieTakingOver(c, twelve, "bravo");
    try {
      fetcher.start();
      await c.sim.advance(2 * LIST_WAIT_MS);
      assert.equal(c.charlieLogs.get(twelve)?.lengthBytes, lengthBytes, "bravo's copy not fetched");
      // Alpha has recovered, its file finished.
      c.alphaLogs.markFinished(twelve);
      alphaRunning = true;
      await c.sim.advance(5 * LIST_WAIT_MS);
      assert.ok(
        c.charlieLogs.isFinished(twelve),
        `fetcher ${fetcher.stateValue}: ${fetcher.lastError ?? ""}`,
      );
    } finally {
      await stopAll(c, fetcher, [alpha, bravo]);
    }
  });
});

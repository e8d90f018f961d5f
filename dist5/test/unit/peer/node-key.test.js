import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { readOrCreateNodeKey } from "../../../src/cluster/identity.js";
import { LamportClock } from "../../../src/log/lamport-clock.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { PeerClient } from "../../../src/peer/client.js";
import { PairKeys, derivePairKey, generateNodeKey } from "../../../src/peer/node-key.js";
import { PeerServer } from "../../../src/peer/server.js";
import { FrameDecoder, FrameEncoder, FrameType } from "../../../src/replication/frames.js";
import { certificateNames } from "../../../src/platform/node-transport.js";
import { systemClock } from "../../../src/platform/clock.js";
import { seededRandom, systemRandom } from "../../../src/platform/random.js";
import { NodeTransport } from "../../../src/platform/node-transport.js";
import { nodeStorage } from "../../../src/platform/storage/node-file.js";
const CLUSTER = { clusterId: "cluster-1", secret: "s".repeat(40) };
const SEED = Number(process.env.MARSD_TEST_SEED ?? 16);
console.log(`node-key tests: seed ${SEED} (MARSD_TEST_SEED=${SEED} replays)`);
describe("node keys and pair keys", () => {
    const random = seededRandom(SEED);
    const [a, b, c] = [generateNodeKey(random), generateNodeKey(random), generateNodeKey(random)];
    it("both ends of a pair derive the same key; every other pair, cluster or key gives another", () => {
        const ab = derivePairKey(a, "alpha", "bravo", b.publicKey, "cl");
        assert.equal(ab, derivePairKey(b, "bravo", "alpha", a.publicKey, "cl"));
        assert.match(ab ?? "", /^[0-9a-f]{64}$/);
        const others = [
            derivePairKey(c, "charlie", "bravo", b.publicKey, "cl"),
            // charlie's key pair, claiming alpha's name: still not alpha's key with bravo.
            derivePairKey(c, "alpha", "bravo", b.publicKey, "cl"),
            derivePairKey(a, "alpha", "bravo", b.publicKey, "other-cluster"),
            derivePairKey(a, "alpha", "bravo", c.publicKey, "cl"),
        ];
        for (const other of others)
            assert.notEqual(other, ab);
    });
    it("a malformed or low-order public key gives no key", () => {
        assert.equal(derivePairKey(a, "alpha", "bravo", "not-a-key", "cl"), undefined);
        assert.equal(derivePairKey(a, "alpha", "bravo", Buffer.alloc(32).toString("base64url"), "cl"), undefined);
    });
    it("is made once, kept 0600, and read back the same", async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), "marsd-node-key-"));
        try {
            const made = await readOrCreateNodeKey(nodeStorage, dir, seededRandom(SEED));
            assert.equal(statSync(path.join(dir, "node-key.json")).mode & 0o777, 0o600);
            const again = await readOrCreateNodeKey(nodeStorage, dir, seededRandom(SEED + 1));
            assert.equal(again.publicKey, made.publicKey);
            assert.equal(again.fingerprint, made.fingerprint);
        }
        finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
    it("a certificate's names are its CN and SAN DNS names", () => {
        const cert = {
            subject: { CN: "node-a" },
            subjectaltname: "DNS:node-a, DNS:node-a.example, IP Address:127.0.0.1",
        };
        assert.deepEqual(certificateNames(cert), ["node-a", "node-a.example"]);
        assert.deepEqual(certificateNames(undefined), []);
    });
});
/**
 * alpha serves; bravo is an honest member, charlie a member that tries to
 * speak for bravo; dave has a key alpha never registered. Over a real
 * loopback transport.
 */
describe("requests signed with pair keys", { timeout: 10_000 }, () => {
    const random = seededRandom(SEED + 2);
    const keys = {
        alpha: generateNodeKey(random),
        bravo: generateNodeKey(random),
        charlie: generateNodeKey(random),
        dave: generateNodeKey(random),
    };
    const registered = {
        alpha: keys.alpha.publicKey,
        bravo: keys.bravo.publicKey,
        charlie: keys.charlie.publicKey,
    };
    const pairKeysOf = (host, own = keys[host]) => new PairKeys(own, host, (h) => registered[h], () => CLUSTER.clusterId);
    const alphaKeys = pairKeysOf("alpha");
    const metrics = new Metrics({ defaultMetrics: false });
    let server;
    let address = "";
    const clients = [];
    const client = (host, pairKeys) => {
        const c = new PeerClient({
            host,
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            random: systemRandom,
            metrics,
            transport: new NodeTransport({ maxSocketsPerAddress: 2 }),
            timeoutMs: 5_000,
            maxResponseBytes: 1024 * 1024,
        });
        if (pairKeys)
            c.useKeys((peer) => pairKeys.toPeer(peer));
        clients.push(c);
        return c;
    };
    const rejected = async (reason) => {
        const m = await metrics.registry.getSingleMetric("marsd_peer_rejected_requests_total")?.get();
        return m?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
    };
    const echo = (c) => c.call(CLUSTER, address, "POST", "/peer/v1/echo", { hi: 1 }, "alpha");
    before(async () => {
        server = new PeerServer({
            listen: { host: "127.0.0.1", port: 0 },
            transport: new NodeTransport({ maxSocketsPerAddress: 2 }),
            auth: {
                clusterId: () => CLUSTER.clusterId,
                secret: () => CLUSTER.secret,
                isRemoved: () => false,
                requestKey: (host) => alphaKeys.fromPeer(host),
            },
            clock: new LamportClock({ wall: systemClock }),
            time: systemClock,
            storage: nodeStorage,
            metrics,
            logger: pino({ level: "silent" }),
            timeWindowMs: 60_000,
            maxRequestBodyBytes: 64 * 1024,
            maxControlBodyBytes: 4096,
            maxUnauthenticatedRequests: 4,
            maxUnauthenticatedBytes: 1024 * 1024,
            replayLeaseMs: 1_000,
        });
        server.route("POST /peer/v1/echo", (req) => ({ from: req.host }));
        server.routeStream("POST /peer/v1/frames", async (req, res, _secret, requestKey) => {
            res.startStream(200, {});
            const encoder = new FrameEncoder(requestKey, req.nonce);
            await res.write(encoder.encode(FrameType.Data, 0, 5, Buffer.from("hello")));
            await res.end();
        });
        await server.start();
        address = `127.0.0.1:${server.port}`;
    });
    after(async () => {
        for (const c of clients)
            c.close();
        await server.close();
    });
    it("a member's request signed with its pair key is answered, the answer verified with the same key", async () => {
        const answer = await echo(client("bravo", pairKeysOf("bravo")));
        assert.deepEqual(answer.body, { from: "bravo" });
    });
    it("a member signing as another host with its own key is refused as wrong-host-key, and counted", async () => {
        const before = await rejected("wrong-host-key");
        // charlie's key pair, bravo's name.
        const forger = client("bravo", pairKeysOf("charlie", keys.charlie));
        await assert.rejects(echo(forger), (err) => err.status === 401 && err.code === "wrong-host-key");
        assert.equal(await rejected("wrong-host-key"), before + 1);
    });
    it("naming the other host's fingerprint does not help: the signature fails", async () => {
        const before = await rejected("signature");
        const charlieWithAlpha = pairKeysOf("charlie").toPeer("alpha");
        assert.ok(charlieWithAlpha);
        const forger = client("bravo", pairKeysOf("charlie"));
        forger.useKeys(() => ({ key: charlieWithAlpha.key, fingerprint: keys.bravo.fingerprint }));
        await assert.rejects(echo(forger), (err) => err.code === "signature");
        assert.equal(await rejected("signature"), before + 1);
    });
    it("the cluster secret does not sign for a host with a key; it still does for a host without one", async () => {
        await assert.rejects(echo(client("bravo")), (err) => err.code === "wrong-host-key");
        const outsider = await echo(client("outsider"));
        assert.deepEqual(outsider.body, { from: "outsider" });
    });
    it("a key the receiver never registered is refused as unknown-host", async () => {
        const dave = pairKeysOf("dave");
        // dave knows alpha's key; alpha does not know dave's.
        await assert.rejects(echo(client("dave", dave)), (err) => err.code === "unknown-host");
    });
    it("the client refuses to sign for a peer whose key it does not know", async () => {
        const bravo = client("bravo", pairKeysOf("bravo"));
        await assert.rejects(bravo.call(CLUSTER, address, "POST", "/peer/v1/echo", {}, "nobody"), (err) => err.code === "unknown-host" && err.status === 0);
    });
    it("stream frames are keyed with the pair key: the sender checks them, another key fails", async () => {
        const bravo = client("bravo", pairKeysOf("bravo"));
        const { response, nonce, frameKey } = await bravo.open(CLUSTER, address, "POST", "/peer/v1/frames", Buffer.from("{}"), "alpha");
        const bytes = await response.body.readAll(1024);
        const frames = new FrameDecoder(frameKey, nonce).push(bytes);
        assert.equal(frames[0]?.payload.toString(), "hello");
        // charlie's pair key with alpha, or the cluster secret every member knows: refused.
        const charlieKey = pairKeysOf("charlie").toPeer("alpha")?.key;
        assert.throws(() => new FrameDecoder(charlieKey, nonce).push(bytes), /frame authentication failed/);
        assert.throws(() => new FrameDecoder(CLUSTER.secret, nonce).push(bytes), /frame authentication failed/);
        // One flipped byte in the payload: refused.
        const tampered = Buffer.from(bytes);
        tampered[24] = tampered[24] ^ 1;
        assert.throws(() => new FrameDecoder(frameKey, nonce).push(tampered), /frame authentication failed/);
    });
});
//# sourceMappingURL=node-key.test.js.map
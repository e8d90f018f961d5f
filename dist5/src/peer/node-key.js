/**
 * Per-node keys: what binds a peer request to the host that sent it.
 *
 * Contract:
 * - Every node has its own X25519 key pair, made once from the injected
 *   Random (crypto-grade in production) and kept in its data directory
 *   (src/cluster/identity.ts). Its public key is published in the cluster
 *   state under the node's own name (`node/<host>/key`), registered at join.
 * - Two members A and B derive a key only they can know:
 *     pairKey(A, B) = HKDF-SHA256(X25519(a, B), salt = cluster id,
 *                                 info = "marsd peer v1\n" + sorted host pair)
 *   Requests between them, their answers and the frames of their streams
 *   are HMAC'd with it: per request and per frame the cost stays one HMAC;
 *   the Diffie-Hellman runs once per peer key (cached here).
 * - A member signing as another host has no pair key for that host (it
 *   holds neither private key), so the receiver's verification fails.
 *
 * The cluster secret is every member's: it only proves the right to join
 * (and signs the requests of hosts that have no key yet, see request-auth.ts).
 */
import { createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, } from "node:crypto";
/** DER prefixes that wrap a raw 32-byte X25519 key (RFC 8410). */
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const RAW_KEY_BYTES = 32;
const PAIR_KEY_BYTES = 32;
const PAIR_KEY_INFO = "marsd peer v1\n";
/** A new key pair from `random` (crypto-grade outside tests: the key authenticates this node). */
export function generateNodeKey(random) {
    return nodeKeyFromSeed(random.bytes(RAW_KEY_BYTES).toString("base64url"));
}
/** The key pair of a raw private key as the key file keeps it; throws on a malformed one. */
export function nodeKeyFromSeed(privateSeed) {
    const raw = Buffer.from(privateSeed, "base64url");
    if (raw.length !== RAW_KEY_BYTES)
        throw new RangeError("a node key has 32 bytes");
    const privateKey = createPrivateKey({
        key: Buffer.concat([PKCS8_X25519_PREFIX, raw]),
        format: "der",
        type: "pkcs8",
    });
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    const publicKey = spki.subarray(spki.length - RAW_KEY_BYTES).toString("base64url");
    return { privateSeed, privateKey, publicKey, fingerprint: keyFingerprint(publicKey) };
}
/** Whether `value` is a published public key (32 bytes, base64url). */
export function isPublicKey(value) {
    return (typeof value === "string" &&
        /^[A-Za-z0-9_-]{43}$/.test(value) &&
        Buffer.from(value, "base64url").length === RAW_KEY_BYTES);
}
/** A short, stable name of a public key (for headers and logs). */
export function keyFingerprint(publicKey) {
    return createHash("sha256").update(publicKey).digest("hex").slice(0, 32);
}
/**
 * The key between `self` (with its key pair) and `peer` (with its public
 * key), within `clusterId`. Symmetric: both ends derive the same. Undefined
 * for a public key that gives no shared secret (malformed, low order).
 */
export function derivePairKey(own, self, peer, peerPublicKey, clusterId) {
    if (!isPublicKey(peerPublicKey))
        return undefined;
    let shared;
    try {
        const publicKey = createPublicKey({
            key: Buffer.concat([SPKI_X25519_PREFIX, Buffer.from(peerPublicKey, "base64url")]),
            format: "der",
            type: "spki",
        });
        shared = diffieHellman({ privateKey: own.privateKey, publicKey });
    }
    catch {
        return undefined;
    }
    // An all-zero result comes from a low-order point: it would be a key anybody knows.
    if (shared.every((b) => b === 0))
        return undefined;
    const pair = [self, peer].sort().join("\n");
    return Buffer.from(hkdfSync("sha256", shared, clusterId, PAIR_KEY_INFO + pair, PAIR_KEY_BYTES)).toString("hex");
}
/**
 * This node's pair keys with the other members, derived on first use and
 * cached per (cluster, peer, peer's public key): a key registered anew (after
 * a removal and rejoin) or another cluster derives a new one.
 */
export class PairKeys {
    own;
    self;
    publicKeyOf;
    clusterId;
    cache = new Map();
    constructor(own, self, 
    /** The public key registered for a host, if any. */
    publicKeyOf, clusterId) {
        this.own = own;
        this.self = self;
        this.publicKeyOf = publicKeyOf;
        this.clusterId = clusterId;
    }
    /** The key to sign our requests to `peer` with (it names our fingerprint); undefined if `peer` has no key. */
    toPeer(peer) {
        const key = this.keyWith(peer);
        return key === undefined ? undefined : { key, fingerprint: this.own.fingerprint };
    }
    /** The key to verify a request that claims to come from `peer` (it names the peer's fingerprint). */
    fromPeer(peer) {
        const key = this.keyWith(peer);
        const publicKey = this.publicKeyOf(peer);
        return key !== undefined && publicKey !== undefined
            ? { key, fingerprint: keyFingerprint(publicKey) }
            : undefined;
    }
    keyWith(peer) {
        const clusterId = this.clusterId();
        const publicKey = this.publicKeyOf(peer);
        if (!clusterId || publicKey === undefined || peer === this.self)
            return undefined;
        const id = `${clusterId}\n${publicKey}`;
        const cached = this.cache.get(peer);
        if (cached?.id === id)
            return cached.key;
        const key = derivePairKey(this.own, this.self, peer, publicKey, clusterId);
        if (key === undefined)
            return undefined;
        this.cache.set(peer, { id, key });
        return key;
    }
}
//# sourceMappingURL=node-key.js.map
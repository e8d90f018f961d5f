/**
 * Which cluster this node belongs to, and the cluster secret; and this
 * node's own key pair (src/peer/node-key.ts). Kept apart from the replicated
 * state (neither the secret nor the private key is ever replicated) in files
 * only root can read (0600, in the 0700 cluster directory), written
 * atomically and durably.
 *
 * The node key outlives cluster membership: it is made on first start and
 * kept when the node leaves, so a node that leaves and joins again keeps
 * its identity. Losing it (a wiped data directory) makes a new node to the
 * cluster: its old name must be removed (leave --force) before it joins again.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { generateNodeKey, nodeKeyFromSeed } from "../peer/node-key.js";
import { MalformedFileError } from "../util/errors.js";
export const IDENTITY_FILE = "identity.json";
export const CLUSTER_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const MIN_SECRET_LENGTH = 32;
export async function readIdentity(storage, dir) {
    const raw = (await readJsonFile(path.join(dir, IDENTITY_FILE), storage));
    if (!raw)
        return undefined;
    if (raw.format !== 1 ||
        typeof raw.clusterId !== "string" ||
        typeof raw.secret !== "string" ||
        !Number.isSafeInteger(raw.joinedStampUs)) {
        throw new MalformedFileError(`${path.join(dir, IDENTITY_FILE)} is malformed`);
    }
    return raw;
}
export async function writeIdentity(storage, dir, identity) {
    await writeFileAtomic(path.join(dir, IDENTITY_FILE), JSON.stringify(identity) + "\n", storage);
}
export async function removeIdentity(storage, dir) {
    await storage.remove(path.join(dir, IDENTITY_FILE));
}
/** `random` must be crypto-grade (systemRandom) outside tests: the secret authenticates every peer. */
export function generateSecret(random) {
    return random.bytes(32).toString("base64url");
}
export function generateClusterId(host, random) {
    return `${host}-${random.bytes(4).toString("hex")}`.slice(0, 63);
}
export const NODE_KEY_FILE = "node-key.json";
/**
 * This node's key pair: read from `dir`, or made from `random` (crypto-grade
 * outside tests) and written durably on first start.
 */
export async function readOrCreateNodeKey(storage, dir, random) {
    const file = path.join(dir, NODE_KEY_FILE);
    const raw = (await readJsonFile(file, storage));
    if (raw) {
        if (raw.format !== 1 || typeof raw.privateKey !== "string")
            throw new MalformedFileError(`${file} is malformed`);
        try {
            return nodeKeyFromSeed(raw.privateKey);
        }
        catch {
            throw new MalformedFileError(`${file} holds no valid node key`);
        }
    }
    const key = generateNodeKey(random);
    const content = { format: 1, privateKey: key.privateSeed };
    await writeFileAtomic(file, JSON.stringify(content) + "\n", storage);
    return key;
}
//# sourceMappingURL=identity.js.map
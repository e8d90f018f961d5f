/**
 * Which cluster this node belongs to, and the cluster secret. Kept apart
 * from the replicated state (the secret is never replicated) in a file only
 * root can read.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { Random } from "../platform/random.js";
import type { Storage } from "../platform/storage/types.js";
import { MalformedFileError } from "../util/errors.js";

export interface ClusterIdentity {
  format: 1;
  clusterId: string;
  secret: string;
  joinedStampUs: number;
}

export const IDENTITY_FILE = "identity.json";
export const CLUSTER_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const MIN_SECRET_LENGTH = 32;

export async function readIdentity(storage: Storage, dir: string): Promise<ClusterIdentity | undefined> {
  const raw = (await readJsonFile(path.join(dir, IDENTITY_FILE), storage)) as
    Partial<ClusterIdentity> | undefined;
  if (!raw) return undefined;
  if (
    raw.format !== 1 ||
    typeof raw.clusterId !== "string" ||
    typeof raw.secret !== "string" ||
    !Number.isSafeInteger(raw.joinedStampUs)
  ) {
    throw new MalformedFileError(`${path.join(dir, IDENTITY_FILE)} is malformed`);
  }
  return raw as ClusterIdentity;
}

export async function writeIdentity(storage: Storage, dir: string, identity: ClusterIdentity): Promise<void> {
  await writeFileAtomic(path.join(dir, IDENTITY_FILE), JSON.stringify(identity) + "\n", storage);
}

export async function removeIdentity(storage: Storage, dir: string): Promise<void> {
  await storage.remove(path.join(dir, IDENTITY_FILE));
}

/** `random` must be crypto-grade (systemRandom) outside tests: the secret authenticates every peer. */
export function generateSecret(random: Random): string {
  return random.bytes(32).toString("base64url");
}

export function generateClusterId(host: string, random: Random): string {
  return `${host}-${random.bytes(4).toString("hex")}`.slice(0, 63);
}

/**
 * A resource's local configuration, persisted as resource.json in its
 * directory under <dataDir>/resources/<name>/.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import type { Storage } from "../platform/storage/types.js";
import { LogCorruptError } from "../util/errors.js";
import { isDiskIdentity, type DiskIdentity } from "./disk.js";

/** The block-device frontends a resource can be exported through (src/frontend implements them). */
export type FrontendKind = "nbd" | "ublk";
/** A resource's frontend: one of them, or "auto" (ublk where the kernel has it, else NBD). */
export type FrontendChoice = "auto" | FrontendKind;

const FRONTEND_CHOICES: readonly string[] = ["auto", "nbd", "ublk"];

export const RESOURCE_NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,62}$";
const RESOURCE_NAME = new RegExp(RESOURCE_NAME_PATTERN);

export interface ResourceConfig {
  format: 1;
  name: string;
  /** Path of the backing disk: a regular file or a block device. */
  disk: string;
  /**
   * What the disk was at create/join (see disk.ts): a disk replaced behind
   * our back is detected when the resource is opened. Absent in resources
   * created before it was recorded.
   */
  diskIdentity?: DiskIdentity;
  /** Size of the volume; at most the size of the disk. */
  sizeBytes: number;
  /** Which frontend exports the volume when this node is primary. */
  frontend: FrontendChoice;
  createdStampUs: number;
}

export const RESOURCE_CONFIG_FILE = "resource.json";

export function isValidResourceName(name: string): boolean {
  return RESOURCE_NAME.test(name);
}

export function resourceDir(dataDir: string, name: string): string {
  return path.join(dataDir, "resources", name);
}

export async function readResourceConfig(dir: string, storage: Storage): Promise<ResourceConfig | undefined> {
  const raw = (await readJsonFile(path.join(dir, RESOURCE_CONFIG_FILE), storage)) as
    Partial<ResourceConfig> | undefined;
  if (raw === undefined) return undefined;
  raw.frontend ??= "auto";
  if (
    !FRONTEND_CHOICES.includes(raw.frontend) ||
    raw.format !== 1 ||
    typeof raw.name !== "string" ||
    !isValidResourceName(raw.name) ||
    typeof raw.disk !== "string" ||
    (raw.diskIdentity !== undefined && !isDiskIdentity(raw.diskIdentity)) ||
    !Number.isSafeInteger(raw.sizeBytes) ||
    !Number.isSafeInteger(raw.createdStampUs)
  ) {
    throw new LogCorruptError(`${path.join(dir, RESOURCE_CONFIG_FILE)} is malformed`);
  }
  return raw as ResourceConfig;
}

export function writeResourceConfig(dir: string, config: ResourceConfig, storage: Storage): Promise<void> {
  return writeFileAtomic(
    path.join(dir, RESOURCE_CONFIG_FILE),
    JSON.stringify(config, null, 2) + "\n",
    storage,
  );
}

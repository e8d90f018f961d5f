/**
 * A resource's local configuration, persisted as resource.json in its
 * directory under <dataDir>/resources/<name>/.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { LogCorruptError } from "../util/errors.js";
import { isDiskIdentity } from "./disk.js";
const FRONTEND_CHOICES = ["auto", "nbd", "ublk"];
export const RESOURCE_NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,62}$";
const RESOURCE_NAME = new RegExp(RESOURCE_NAME_PATTERN);
export const RESOURCE_CONFIG_FILE = "resource.json";
export function isValidResourceName(name) {
    return RESOURCE_NAME.test(name);
}
export function resourceDir(dataDir, name) {
    return path.join(dataDir, "resources", name);
}
export async function readResourceConfig(dir, storage) {
    const raw = (await readJsonFile(path.join(dir, RESOURCE_CONFIG_FILE), storage));
    if (raw === undefined)
        return undefined;
    raw.frontend ??= "auto";
    if (!FRONTEND_CHOICES.includes(raw.frontend) ||
        raw.format !== 1 ||
        typeof raw.name !== "string" ||
        !isValidResourceName(raw.name) ||
        typeof raw.disk !== "string" ||
        (raw.diskIdentity !== undefined && !isDiskIdentity(raw.diskIdentity)) ||
        !Number.isSafeInteger(raw.sizeBytes) ||
        !Number.isSafeInteger(raw.createdStampUs)) {
        throw new LogCorruptError(`${path.join(dir, RESOURCE_CONFIG_FILE)} is malformed`);
    }
    return raw;
}
export function writeResourceConfig(dir, config, storage) {
    return writeFileAtomic(path.join(dir, RESOURCE_CONFIG_FILE), JSON.stringify(config, null, 2) + "\n", storage);
}
//# sourceMappingURL=resource-config.js.map
/**
 * What a restarted daemon needs to find its ublk device again: the device
 * id and the owner tag we gave the kernel at ADD_DEV. Kept in the
 * resource's directory, written atomically before the device is started,
 * so that even a crash between ADD_DEV and START_DEV leaves a trace.
 */
import path from "node:path";
import { readJsonFile, writeFileAtomic } from "../../platform/storage/atomic-file.js";
import type { Storage } from "../../platform/storage/types.js";
import { MalformedFileError } from "../../util/errors.js";

export const UBLK_STATE_FILE = "ublk.json";

export interface UblkDeviceState {
  deviceId: number;
  ownerTag: number;
}

export async function readUblkState(
  storage: Storage,
  stateDir: string,
): Promise<UblkDeviceState | undefined> {
  const file = path.join(stateDir, UBLK_STATE_FILE);
  let raw: unknown;
  try {
    raw = await readJsonFile(file, storage);
  } catch (err) {
    // Unparseable: treated as absent (a new device is created); the caller logs it.
    throw new MalformedFileError(`${file} is unreadable`, { cause: err });
  }
  if (raw === undefined) return undefined;
  const s = raw as Partial<UblkDeviceState>;
  if (
    typeof s !== "object" ||
    s === null ||
    !Number.isSafeInteger(s.deviceId) ||
    (s.deviceId as number) < 0 ||
    !Number.isSafeInteger(s.ownerTag)
  ) {
    throw new MalformedFileError(`${file} does not hold a device id and owner tag`);
  }
  return { deviceId: s.deviceId as number, ownerTag: s.ownerTag as number };
}

export async function writeUblkState(
  storage: Storage,
  stateDir: string,
  state: UblkDeviceState,
): Promise<void> {
  await writeFileAtomic(path.join(stateDir, UBLK_STATE_FILE), JSON.stringify(state) + "\n", storage);
}

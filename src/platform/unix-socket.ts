/**
 * File-system side of a Unix-domain listener (the NBD socket): the path
 * must be free before listen(2), and its mode decides who may connect.
 * Kept here so nothing outside src/platform touches node:fs.
 */
import { chmod, rm } from "node:fs/promises";

/** Removes a socket file left by an earlier process (listen fails on an existing path); absent is fine. */
export async function removeSocketFile(socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
}

/** chmod(2) of the socket file: connecting needs write permission on it. */
export async function setSocketFileMode(socketPath: string, mode: number): Promise<void> {
  await chmod(socketPath, mode);
}

/** Temporary directories for tests, removed when the test (or suite) ends. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface TempDir {
  path: string;
  join(...parts: string[]): string;
  remove(): Promise<void>;
}

export async function makeTempDir(prefix = "marsd-unit-"): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    path: dir,
    join: (...parts) => path.join(dir, ...parts),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

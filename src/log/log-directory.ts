/** Finding the log files of a resource in its directory. */
import path from "node:path";
import type { Storage } from "../platform/storage/types.js";
import { compareLogNames, parseLogName, type LogName } from "./log-name.js";

export interface LogFileEntry extends LogName {
  fileName: string;
  path: string;
}

/** All log files in `dir`, ordered by number (then host). Other files are ignored. */
export async function listLogFiles(storage: Storage, dir: string): Promise<LogFileEntry[]> {
  const names = await storage.list(dir);
  const entries: LogFileEntry[] = [];
  for (const fileName of names) {
    const parsed = parseLogName(fileName);
    if (parsed) entries.push({ ...parsed, fileName, path: path.join(dir, fileName) });
  }
  return entries.sort(compareLogNames);
}

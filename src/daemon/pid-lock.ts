/**
 * One daemon per data dir. Two daemons writing the same logs would corrupt
 * them, so start-up takes a pid lock: the file is created exclusively; a
 * lock left by a process that no longer exists (kill -9, power loss) is
 * taken over.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { isErrno } from "../util/errors.js";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, "EPERM");
  }
}

export async function acquirePidLock(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, "wx", 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(`data dir is in use by marsd pid ${pid} (${file})`);
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`cannot take the pid lock ${file}`);
}

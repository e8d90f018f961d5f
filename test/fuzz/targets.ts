/**
 * Sets up the daemons the fuzzers run against, the same way for the CI
 * tests and the long runs: a scratch directory of disks the fuzzer may name,
 * a resource it must not touch, and the well-behaved client that checks
 * that resource while the fuzzer runs.
 */
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import type { DaemonProcess } from "../helpers/daemon-process.js";
import { createVolume } from "../helpers/single-node.js";
import type { RpcFuzzTarget } from "./rpc-fuzz-core.js";

export async function prepareRpcTarget(node: DaemonProcess): Promise<RpcFuzzTarget> {
  const scratchDir = path.join(node.baseDir, "fuzz-scratch");
  await mkdir(path.join(scratchDir, "sub"), { recursive: true });
  for (const name of ["d0.img", "d1.img"]) {
    await writeFile(path.join(scratchDir, name), "");
    await truncate(path.join(scratchDir, name), 8 * 1024 * 1024);
  }
  await createVolume(node, "keep", 8 * 1024 * 1024);
  const token = (await readFile(path.join(node.dataDir, "admin.token"), "utf8")).trim();
  return {
    adminPort: node.adminPort,
    token,
    pid: node.child?.pid as number,
    scratchDir,
    reservedNames: ["keep"],
    host: node.host,
    wellBehaved: async () => {
      const status = await node.rpc.call<{ state: string }>("resource.status", { name: "keep" });
      if (status.state !== "running") throw new Error(`resource keep is ${status.state}`);
    },
  };
}

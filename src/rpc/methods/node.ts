/** node.* methods. */
import { BUILD } from "../../platform/build-info.js";
import type { NodeServices } from "../context.js";
import type { MethodTable } from "../endpoint.js";

export const nodeMethods: MethodTable<NodeServices> = {
  "node.info": (_params, node) => ({
    host: node.config.host,
    version: BUILD.version,
    commit: BUILD.commit,
    nodeVersion: process.version,
    pid: process.pid,
    dataDir: node.config.dataDir,
    uptimeSeconds: node.uptimeSeconds(),
    lamportStampUs: node.clock.latest(),
    frontends: node.frontends.status(),
    nbd: {
      socket: node.config.nbd.socket,
      ...(node.config.nbd.tcpListen ? { tcpListen: node.config.nbd.tcpListen } : {}),
    },
  }),
};

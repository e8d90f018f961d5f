/** node.* methods. */
import { BUILD } from "../../platform/build-info.js";
export const nodeMethods = {
    "node.setBandwidth": (params, node) => {
        const p = params;
        // A limit for a resource this node does not have is most likely a typo.
        if (p.resource !== undefined)
            node.resources.require(p.resource);
        let changed = false;
        if (p.syncBytesPerSec !== undefined)
            changed = node.transfers.setBandwidth("sync", p.resource, p.syncBytesPerSec) || changed;
        if (p.fetchBytesPerSec !== undefined)
            changed = node.transfers.setBandwidth("fetch", p.resource, p.fetchBytesPerSec) || changed;
        return { changed, ...node.transfers.bandwidth() };
    },
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
//# sourceMappingURL=node.js.map
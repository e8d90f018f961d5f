/**
 * One real marsd process with one file-backed resource exported over NBD:
 * the set-up most integration tests share. The peer listener goes to a
 * free loopback port so tests never collide on the default one.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { DaemonProcess } from "./daemon-process.js";
export async function startNode(options = {}) {
    return DaemonProcess.start(options);
}
/** Creates a sparse disk file and a resource on it; returns the export's URI. */
export async function createVolume(daemon, name = "r0", sizeBytes = 64 * 1024 * 1024) {
    const disk = path.join(daemon.baseDir, `${name}.img`);
    const handle = await open(disk, "w");
    await handle.truncate(sizeBytes);
    await handle.close();
    const created = await daemon.rpc.call("resource.create", { name, disk, frontend: "nbd" });
    const uri = created.resource.device?.uri;
    if (!uri)
        throw new Error(`resource ${name} was created without an NBD device`);
    return { daemon, name, disk, sizeBytes, uri };
}
export async function startNodeWithVolume(options = {}) {
    const daemon = await startNode(options);
    try {
        return await createVolume(daemon, options.name, options.sizeBytes);
    }
    catch (err) {
        await daemon.cleanup();
        throw err;
    }
}
//# sourceMappingURL=single-node.js.map
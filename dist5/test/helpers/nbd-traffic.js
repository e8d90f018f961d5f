/**
 * NBD traffic for integration tests that need a daemon to be written to
 * while something else happens: a qemu-io writer that runs until stopped,
 * and a request the daemon must answer with an error.
 */
import assert from "node:assert/strict";
import { Cmd, Errno, Opt, Rep } from "../../src/frontend/nbd/protocol.js";
import { RawNbdClient } from "./nbd-client.js";
import { prng } from "./prng.js";
import { requireTool, run } from "./tools.js";
const BLOCK_BYTES = 64 * 1024;
/**
 * Writes 64 KiB blocks (seeded places and patterns) to `host`'s export
 * `name` with qemu-io, one after the other, until stopped. Failed runs are
 * collected, not thrown: the caller decides whether an export may go away.
 */
export function startQemuIoWriter(cluster, host, name, sizeBytes, seed) {
    const qemuIo = requireTool("qemu-io");
    const random = prng(seed);
    let running = true;
    let writes = 0;
    const errors = [];
    const done = (async () => {
        while (running) {
            const block = Math.floor(random() * (sizeBytes / BLOCK_BYTES));
            const pattern = 1 + Math.floor(random() * 250);
            const uri = cluster.node(host).daemon.nbdUri(name);
            await run(qemuIo, ["-f", "raw", uri, "-c", `write -P ${pattern} ${block * BLOCK_BYTES} ${BLOCK_BYTES}`])
                .then(() => (writes += 1))
                .catch((err) => errors.push(err.message));
        }
    })();
    return {
        get writes() {
            return writes;
        },
        errors,
        async stop() {
            running = false;
            await done;
            return writes;
        },
    };
}
/** A read past the end of the export: the daemon must answer with an error (and count it). */
export async function readPastEnd(cluster, host, name, sizeBytes) {
    const c = await RawNbdClient.connect(cluster.node(host).daemon.nbdSocket);
    try {
        await c.handshake();
        c.sendOption(Opt.GO, RawNbdClient.infoRequest(name));
        assert.equal((await c.readOptionReply()).type, Rep.INFO);
        assert.equal((await c.readOptionReply()).type, Rep.ACK);
        c.sendRequest(Cmd.READ, { cookie: 7n, offset: BigInt(sizeBytes), length: 4096 });
        assert.notEqual((await c.readSimpleReply()).errno, Errno.OK);
    }
    finally {
        c.close();
    }
}
//# sourceMappingURL=nbd-traffic.js.map
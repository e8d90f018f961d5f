/**
 * Real daemons with a configuration of their own each (TestCluster gives
 * every node the same one), for peer TLS and identity tests: certificates
 * made with the openssl CLI (a CA; per host a key and a certificate whose
 * CN and SAN DNS name are the host, plus SAN IP 127.0.0.1, the address
 * nodes dial on loopback), and nodes that reach chosen peers through a
 * proxy of the test's.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DaemonProcess, reservePorts, waitFor } from "./daemon-process.js";
import { requireTool } from "./tools.js";
function openssl(args) {
    execFileSync(requireTool("openssl"), args, { stdio: ["ignore", "ignore", "pipe"] });
}
/** A new CA (EC P-256, valid two days) in `dir`. */
export function makeCa(dir, name) {
    const ca = { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
    openssl([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        ca.keyFile,
        "-out",
        ca.certFile,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
    ]);
    return ca;
}
/** A key and a certificate for `host`, signed by `ca`, for both TLS ends (server and client). */
export async function issueCertificate(dir, ca, host, trusted = ca) {
    const base = path.join(dir, `${host}-${path.basename(ca.certFile, ".crt")}`);
    const ext = `${base}.ext`;
    await writeFile(ext, `subjectAltName=DNS:${host},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n`);
    openssl([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${host}`,
    ]);
    openssl([
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        ca.certFile,
        "-CAkey",
        ca.keyFile,
        "-CAcreateserial",
        "-out",
        `${base}.crt`,
        "-days",
        "2",
        "-extfile",
        ext,
    ]);
    return { certFile: `${base}.crt`, keyFile: `${base}.key`, caFile: trusted.certFile };
}
/** Daemons on loopback, each with its own configuration; no cluster formed yet. */
export class PerNodeCluster {
    baseDir;
    nodes = [];
    constructor(baseDir) {
        this.baseDir = baseDir;
    }
    static async start(options) {
        const cluster = new PerNodeCluster(await mkdtemp(path.join(os.tmpdir(), "marsd-pernode-")));
        const reserved = await reservePorts(2 * options.hosts.length);
        await reserved.release();
        const addressOf = (peer) => `127.0.0.1:${reserved.ports[options.hosts.indexOf(peer)]}`;
        try {
            await Promise.all(options.hosts.map(async (host, i) => {
                const peerPort = reserved.ports[i];
                const tls = options.tls?.(host);
                const addressOverrides = (await options.overrides?.(host, addressOf)) ?? {};
                const configFile = path.join(cluster.baseDir, `${host}.json`);
                const extra = options.config ?? {};
                await writeFile(configFile, JSON.stringify({
                    ...extra,
                    replication: { statusPublishMs: 200, heartbeatMs: 500, listWaitMs: 2000 },
                    peer: {
                        addressOverrides,
                        syncIntervalMs: 300,
                        retryMaxMs: 1000,
                        aliveWindowMs: 3000,
                        requestTimeoutMs: 5000,
                        ...(tls ? { tls } : {}),
                        ...(extra.peer ?? {}),
                    },
                }));
                const address = `127.0.0.1:${peerPort}`;
                const daemon = await DaemonProcess.start({
                    host,
                    baseDir: path.join(cluster.baseDir, host),
                    adminPort: reserved.ports[options.hosts.length + i],
                    extraArgs: ["--config", configFile, "--peer-listen", address, "--peer-advertise", address],
                });
                cluster.nodes[i] = { host, daemon, peerPort, address };
            }));
        }
        catch (err) {
            await cluster.cleanup();
            throw err;
        }
        return cluster;
    }
    node(host) {
        const n = this.nodes.find((x) => x?.host === host);
        if (!n)
            throw new Error(`no node ${host}`);
        return n;
    }
    /** The first host creates a cluster, the others join through it; waits until all see all. */
    async form(hosts = this.nodes.map((n) => n.host)) {
        const first = this.node(hosts[0]);
        const created = await first.daemon.rpc.call("cluster.create");
        for (const host of hosts.slice(1)) {
            await this.node(host).daemon.rpc.call("cluster.join", { peer: first.address, secret: created.secret });
        }
        await waitFor("every node sees every member", async () => {
            for (const host of hosts) {
                const s = await this.node(host).daemon.rpc.call("cluster.status");
                if (s.members.length !== hosts.length)
                    return false;
            }
            return true;
        });
        return created;
    }
    async cleanup() {
        await Promise.all(this.nodes.filter(Boolean).map((n) => n.daemon.cleanup()));
        await rm(this.baseDir, { recursive: true, force: true });
    }
}
//# sourceMappingURL=tls-cluster.js.map
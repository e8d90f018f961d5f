/**
 * Cluster membership and the replication of the cluster state: the service
 * façade the rest of the daemon uses.
 *
 * Spreading a change: the writer pushes its new entries straight to every
 * member (one message per member, so traffic per change grows linearly with
 * the cluster, never quadratically). Every member also pulls deltas from
 * every other member every `syncIntervalMs` (anti-entropy: catches up after
 * restarts, lost pushes and partitions, and relays writes of owners it
 * cannot reach itself).
 *
 * Membership: a member is a host with a live `node/<host>/address` entry
 * that is not marked `cluster/removed/<host>`. Joining proves knowledge of
 * the cluster secret to any member; leaving (or the forced removal of a
 * dead node) marks the host removed, after which its requests are refused
 * and its entries dropped everywhere.
 *
 * Identity: every node's own key pair is registered at join and never
 * changes while it is a member (node-keys.ts, src/peer/node-key.ts).
 *
 * This file wires the parts and keeps one PeerLink per other member; the
 * jobs live in membership.ts (create, join, leave), state-routes.ts (the
 * join, pull and push routes), state-pusher.ts (pushing our writes) and
 * identity.ts (the identity file).
 */
import path from "node:path";
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import { readIdentity, readOrCreateNodeKey } from "./identity.js";
import { ClusterKeys } from "./node-keys.js";
import { Keys, hostOfKey } from "./keys.js";
import { Membership } from "./membership.js";
import { PeerLink } from "./peer-link.js";
import { StatePusher } from "./state-pusher.js";
import { StateRoutes } from "./state-routes.js";
import { StateStore } from "./state-store.js";
export class ClusterService {
    deps;
    state;
    links = new Map();
    pusher;
    routes;
    membership;
    /** Our node key, the keys registered for the others, and our pair keys with them. */
    keys;
    gcTimer;
    stopped = false;
    pullListeners = [];
    /** Asked before this node leaves: a reason why it may not (e.g. it is still in a resource). */
    leaveBlocker = () => undefined;
    constructor(deps, state, dir) {
        this.deps = deps;
        this.state = state;
        this.pusher = new StatePusher({
            state,
            pushConcurrency: deps.settings.pushConcurrency,
            links: () => [...this.links.values()],
            inCluster: () => this.membership.identity !== undefined,
            stopped: () => this.stopped,
        });
        this.routes = new StateRoutes({
            host: deps.settings.host,
            state,
            identity: () => this.membership.identity,
            isRemoved: (host) => this.isRemoved(host),
            isAlive: (host) => this.isAlive(host),
            refuseFromRemoved: this.refuseEntry,
            noteContact: (host) => this.links.get(host)?.noteContact(),
        });
        this.membership = new Membership({
            host: deps.settings.host,
            advertise: deps.settings.advertise,
            dir,
            clock: deps.clock,
            random: deps.random,
            storage: deps.storage,
            logger: deps.logger,
            client: deps.client,
            state,
            pusher: this.pusher,
            members: () => this.members(),
            isRemoved: (host) => this.isRemoved(host),
            refuseFromRemoved: this.refuseEntry,
            publicKey: () => this.keys.publicKey,
            links: () => [...this.links.values()],
            dropLinks: () => {
                for (const link of this.links.values())
                    link.stop();
                this.links.clear();
            },
            adopted: async () => {
                this.reconcileLinks();
                this.pusher.schedule();
                // Catch up at once instead of waiting for the first periodic pull.
                await this.catchUp();
            },
            leaveBlocker: () => this.leaveBlocker(),
        });
    }
    static async open(deps) {
        const dir = path.join(deps.dataDir, "cluster");
        await makeDirectoryDurable(dir, deps.storage, { mode: 0o700 });
        const state = await StateStore.load(dir, deps.settings.host, deps.clock, deps.logger, deps.storage, deps.random);
        const service = new ClusterService(deps, state, dir);
        service.membership.identity = await readIdentity(deps.storage, dir);
        service.keys = new ClusterKeys({
            host: deps.settings.host,
            own: await readOrCreateNodeKey(deps.storage, dir, deps.random),
            state,
            clusterId: () => service.clusterId(),
            isRemoved: (host) => service.isRemoved(host),
            logger: deps.logger,
        });
        deps.client.useKeys((peer) => service.keys.toPeer(peer));
        return service;
    }
    get host() {
        return this.deps.settings.host;
    }
    // --- PeerAuthSource -------------------------------------------------------
    clusterId() {
        return this.membership.identity?.clusterId;
    }
    secret() {
        return this.membership.identity?.secret;
    }
    isRemoved(host) {
        return this.state.value(Keys.removed(host)) === true;
    }
    /** The key that verifies requests from `host`, and the fingerprint registered for it. */
    requestKey(host) {
        return this.keys.requestKey(host);
    }
    /** Entries of a removed host are refused (only removal records pass), so stale relays cannot resurrect it. */
    refuseFromRemoved = (entry) => !entry.key.startsWith("cluster/removed/") && this.isRemoved(entry.owner);
    /** What every merge refuses: entries of removed hosts, and any change of a registered node key. */
    refuseEntry = (entry) => this.refuseFromRemoved(entry) || this.keys.refuses(entry);
    credentials() {
        const identity = this.membership.identity;
        return identity && { clusterId: identity.clusterId, secret: identity.secret };
    }
    // --- lifecycle ------------------------------------------------------------
    start() {
        this.routes.register(this.deps.server);
        this.state.on("change", (entry, source) => this.onChange(entry, source));
        // A member from before per-node keys (or whose key file was lost) registers its key now.
        if (this.membership.identity)
            this.keys.registerOwn();
        this.reconcileLinks();
        this.gcTimer = this.deps.time.setRepeating(60_000, () => this.collectGarbage()).unref();
        this.deps.metrics.clusterGaugeSource = () => this.gauges();
        if (this.membership.identity)
            this.pusher.schedule();
    }
    async stop() {
        this.stopped = true;
        this.gcTimer?.cancel();
        for (const link of this.links.values())
            link.stop();
        this.links.clear();
        await this.pusher.settled();
        await this.state.close();
    }
    // --- membership -----------------------------------------------------------
    /** Hosts that are members, including this one (when in a cluster). */
    members() {
        const hosts = new Set();
        for (const e of this.state.list("node/")) {
            const host = hostOfKey(e.key);
            if (host && e.key === Keys.nodeAddress(host) && !this.isRemoved(host))
                hosts.add(host);
        }
        return [...hosts].sort();
    }
    addressOf(host) {
        return this.deps.settings.addressOverrides[host] ?? this.state.value(Keys.nodeAddress(host));
    }
    /** Whether we heard from `host` within the alive window (always true for ourselves). */
    isAlive(host) {
        if (host === this.host)
            return true;
        const ageMs = this.links.get(host)?.contactAgeMs();
        return ageMs !== undefined && ageMs <= this.deps.settings.aliveWindowMs;
    }
    /**
     * Whether a pull from `host` was answered since this process started: we
     * then know every entry it held (a restarted primary confirms its
     * designation this way before it exports anything).
     */
    exchangedSinceStart(host) {
        return host === this.host || this.links.get(host)?.exchangedSinceStart === true;
    }
    /** `listener` runs after every answered pull, with the peer's name. */
    /**
     * Pulls from every reachable member now and resolves when each pull ended
     * (failures included): for an operation that depends on an entry another
     * node may have written a moment ago (joining a resource just created).
     */
    async catchUp() {
        await Promise.allSettled([...this.links.values()].map((l) => l.pullNow()));
    }
    onStateExchanged(listener) {
        this.pullListeners.push(listener);
    }
    link(host) {
        return this.links.get(host);
    }
    create(params) {
        return this.membership.create(params);
    }
    join(params) {
        return this.membership.join(params);
    }
    leave(params) {
        return this.membership.leave(params);
    }
    status() {
        const members = this.members().map((host) => {
            const link = this.links.get(host);
            const self = host === this.host;
            const s = { host, address: this.addressOf(host) ?? "", self, alive: this.isAlive(host) };
            const contactAgeMs = link?.contactAgeMs();
            if (contactAgeMs !== undefined)
                s.lastContactAgeMs = Math.round(contactAgeMs);
            if (link?.rttMs !== undefined)
                s.rttMs = link.rttMs;
            if (link?.clockSkewMs !== undefined)
                s.clockSkewMs = Math.round(link.clockSkewMs);
            if (link?.lastError !== undefined)
                s.lastError = link.lastError;
            return s;
        });
        return {
            host: this.host,
            ...(this.membership.identity ? { clusterId: this.membership.identity.clusterId } : {}),
            lamportStampUs: this.deps.clock.latest(),
            lamportAheadOfWallUs: this.deps.clock.aheadOfWallUs(),
            members,
        };
    }
    /** Writes a key of ours and spreads it; resolves once it is persisted locally. */
    async set(key, value) {
        const changed = this.state.set(key, value) !== undefined;
        await this.state.flush();
        return changed;
    }
    async delete(key) {
        const changed = this.state.delete(key) !== undefined;
        await this.state.flush();
        return changed;
    }
    // --- internals ------------------------------------------------------------
    onChange(entry, source) {
        this.deps.metrics.clusterStateChanges.labels(source).inc();
        if (entry.key.startsWith("node/") || entry.key.startsWith("cluster/removed/")) {
            const host = hostOfKey(entry.key);
            if (host && entry.key === Keys.removed(host) && entry.value === true && host !== this.host) {
                const dropped = this.state.forgetOwner(host);
                this.deps.logger.info({ host, dropped }, "dropped the state of a removed node");
            }
            this.reconcileLinks();
        }
        if (source === "local")
            this.pusher.schedule();
    }
    reconcileLinks() {
        if (this.stopped)
            return;
        const wanted = new Set(this.membership.identity ? this.members().filter((h) => h !== this.host) : []);
        for (const [host, link] of this.links) {
            if (!wanted.has(host)) {
                link.stop();
                this.links.delete(host);
                // A former member is not an unreachable peer: its series go with it.
                this.deps.metrics.peerLastContact.remove(host);
                this.deps.metrics.peerClockSkew.remove(host);
            }
        }
        for (const host of wanted) {
            const address = this.addressOf(host);
            if (!address)
                continue;
            const existing = this.links.get(host);
            if (existing) {
                existing.address = address;
                continue;
            }
            const link = new PeerLink(host, address, this.host, this.deps.client, () => this.credentials(), this.state, { syncIntervalMs: this.deps.settings.syncIntervalMs, retryMaxMs: this.deps.settings.retryMaxMs }, this.deps.time, this.deps.random, this.deps.metrics, this.deps.logger, this.refuseEntry, (h) => {
                for (const listener of this.pullListeners)
                    listener(h);
            });
            this.links.set(host, link);
            link.start();
        }
    }
    collectGarbage() {
        const collected = this.state.collectTombstones(this.members(), this.routes.seenBy, this.deps.settings.tombstoneMinAgeMs * 1000);
        if (collected > 0)
            this.deps.logger.debug({ collected }, "collected tombstones");
    }
    /** Gauges computed when /metrics is scraped, not on every change. */
    gauges() {
        return {
            members: this.membership.identity ? this.members().length : 0,
            entries: this.state.size,
            tombstones: this.state.tombstoneCount,
            lamportAheadUs: this.deps.clock.aheadOfWallUs(),
        };
    }
}
//# sourceMappingURL=cluster.js.map
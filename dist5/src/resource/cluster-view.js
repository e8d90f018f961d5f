/**
 * One resource's view of the cluster state: reads and writes of the keys
 * under `resource/<res>/` (src/cluster/keys.ts), and nothing else.
 *
 * Contract:
 * - Reads are of what this node knows now (the state store's replica); a
 *   malformed value reads as absent, never as an error.
 * - An evicted member (removed by force while dead) is not a member: it
 *   neither pins log files nor counts for a take-over, and its version
 *   entries are ignored.
 * - Writes go only to keys this node owns (its own `host/<host>/...`
 *   entries) or to the shared designation; `designate` waits until the
 *   store made the change durable.
 */
import { Keys } from "../cluster/keys.js";
import { formatLogName, parseLogName } from "../log/log-name.js";
import { isVersionEntry, versionKeyPart } from "../replication/version.js";
import { isPublishedStatus } from "./status-model.js";
const MEMBER_KEY = /^resource\/[^/]+\/host\/([^/]+)\/member$/;
const VERSION_KEY = /^resource\/[^/]+\/host\/([^/]+)\/version\/(\d+)$/;
const CUT_KEY = /^resource\/[^/]+\/host\/([^/]+)\/cut\/(\d+)$/;
const LOOSE_KEY = /^resource\/[^/]+\/host\/([^/]+)\/loose\/([^/]+)$/;
function isLooseValue(v) {
    const e = v;
    return (typeof e === "object" &&
        e !== null &&
        Number.isSafeInteger(e.sinceMs) &&
        typeof e.reason === "string" &&
        Number.isSafeInteger(e.lagBytes) &&
        (e.resumeFile === undefined || typeof e.resumeFile === "string"));
}
function isSharedConfig(value) {
    const v = value;
    return (typeof v === "object" &&
        v !== null &&
        Number.isSafeInteger(v.sizeBytes) &&
        typeof v.createdBy === "string" &&
        Number.isSafeInteger(v.createdStampUs));
}
/** The cluster's configuration of resource `name`, if it exists. */
export function readSharedConfig(state, name) {
    const v = state.value(Keys.resourceConfig(name));
    return isSharedConfig(v) ? v : undefined;
}
/** Hosts with a live member entry for resource `name`, not evicted (in the store's order). */
export function membersOf(state, name) {
    const hosts = [];
    for (const e of state.list(`resource/${name}/host/`)) {
        const m = MEMBER_KEY.exec(e.key);
        if (m && state.value(Keys.resourceEvicted(name, m[1])) !== true)
            hosts.push(m[1]);
    }
    return hosts;
}
/** Withdraws everything `host` published about resource `name` (membership, status, versions). */
export function withdrawMember(state, name, host) {
    for (const e of state.list(`resource/${name}/host/${host}/`))
        state.delete(e.key);
}
/** Withdraws resource `name` from the cluster: its configuration and its designated primary. */
export function withdrawResource(state, name) {
    state.delete(Keys.resourceConfig(name));
    state.delete(Keys.resourcePrimary(name));
}
export class ClusterView {
    state;
    resource;
    host;
    constructor(state, resource, host) {
        this.state = state;
        this.resource = resource;
        this.host = host;
    }
    designatedPrimary() {
        const value = this.state.value(Keys.resourcePrimary(this.resource));
        return typeof value === "string" ? value : undefined;
    }
    /**
     * What a changed key under `resource/<res>/` is about: the designated
     * primary, a member's history (its versions, status or membership), or
     * neither.
     */
    changeKind(key) {
        if (key === Keys.resourcePrimary(this.resource))
            return "designation";
        if (LOOSE_KEY.test(key))
            return "loose";
        if (key.includes("/version/") || key.endsWith("/status") || key.endsWith("/member"))
            return "history";
        return undefined;
    }
    /**
     * Sets (or clears, with null) the designated primary and waits until the
     * change is durable. Writing the value our view holds already is no
     * change: the view may be stale (a forced failover elsewhere we have not
     * heard of), and a new stamp would let a decision made blind override it
     * (the simulator, seed 226, lost the forced primary's writes that way).
     */
    async designate(host) {
        this.state.set(Keys.resourcePrimary(this.resource), host);
        await this.state.flush();
    }
    /** Hosts holding a replica (member entry present, not evicted). */
    members() {
        const hosts = [];
        for (const e of this.state.list(`resource/${this.resource}/host/`)) {
            const m = MEMBER_KEY.exec(e.key);
            if (m && !this.isEvicted(m[1]))
                hosts.push(m[1]);
        }
        return hosts.sort();
    }
    isEvicted(host) {
        return this.state.value(Keys.resourceEvicted(this.resource, host)) === true;
    }
    publishedStatusOf(host) {
        const v = this.state.value(Keys.resourceHost(this.resource, host, "status"));
        return isPublishedStatus(v) ? v : undefined;
    }
    /**
     * Publishes our status. Returns false (nothing written) when it equals
     * what is there and `always` is not set.
     */
    publishStatus(status, always) {
        const key = Keys.resourceHost(this.resource, this.host, "status");
        const previous = this.state.value(key);
        const discrete = !previous ||
            previous.role !== status.role ||
            previous.diskState !== status.diskState ||
            previous.replState !== status.replState;
        if (!always && !discrete && JSON.stringify(previous) === JSON.stringify(status))
            return false;
        this.state.set(key, status);
        return true;
    }
    /** Version entries of every member: host -> file number -> entry. */
    versionEntries() {
        const out = new Map();
        for (const e of this.state.list(`resource/${this.resource}/host/`)) {
            const m = VERSION_KEY.exec(e.key);
            if (!m || !isVersionEntry(e.value) || this.isEvicted(m[1]))
                continue;
            const host = m[1];
            let byNumber = out.get(host);
            if (!byNumber)
                out.set(host, (byNumber = new Map()));
            byNumber.set(Number(m[2]), e.value);
        }
        return out;
    }
    /** Publishes the version of one of our files (the chain the take-over and fork rules read). */
    publishVersion(entry) {
        const n = parseLogName(entry.file)?.fileNumber;
        if (n === undefined)
            return;
        this.state.set(Keys.resourceHost(this.resource, this.host, `version/${versionKeyPart(n)}`), entry);
    }
    /**
     * Records that a forced failover here cut the history: at `entry` (the
     * version it finished the last file with) and with `firstFile`, the file
     * it started. From now on the history goes through these; a planned
     * take-over on a branch the cut left behind waits (plannedTakeOverBlocker).
     * Kept for good: one small entry per forced failover.
     */
    publishCut(entry, firstFile) {
        const n = parseLogName(entry.file)?.fileNumber;
        if (n === undefined)
            return;
        this.state.set(Keys.resourceHost(this.resource, this.host, `cut/${versionKeyPart(n)}`), {
            version: entry.version,
            firstFile,
        });
    }
    /** Every member cut loose, by whichever node cut it (a later handover keeps the earlier entries). */
    looseEntries() {
        const out = [];
        for (const e of this.state.list(`resource/${this.resource}/host/`)) {
            const m = LOOSE_KEY.exec(e.key);
            if (!m || !isLooseValue(e.value) || this.isEvicted(m[2]))
                continue;
            out.push({ ...e.value, by: m[1], member: m[2] });
        }
        return out;
    }
    /** Records (or updates) that we cut `entry.member` loose; resolves once durable. */
    async publishLoose(entry) {
        const { member, ...value } = entry;
        this.state.set(Keys.resourceHost(this.resource, this.host, `loose/${member}`), value);
        await this.state.flush();
    }
    /** The member caught up again (or left): it pins log files again. */
    withdrawLoose(member) {
        this.state.delete(Keys.resourceHost(this.resource, this.host, `loose/${member}`));
    }
    /** The versions and first files of forced failovers' cuts, each with the stamp of its cut. */
    cutStamps() {
        const out = new Map();
        for (const e of this.state.list(`resource/${this.resource}/host/`)) {
            if (!CUT_KEY.test(e.key))
                continue;
            const value = e.value;
            for (const key of [value?.version, value?.firstFile]) {
                if (typeof key === "string")
                    out.set(key, Math.max(out.get(key) ?? 0, e.stampUs));
            }
        }
        return out;
    }
    /** Withdraws our version entries from `fileNumber` on (a split brain's loser rolling back). */
    withdrawVersionsFrom(fileNumber) {
        const prefix = `resource/${this.resource}/host/${this.host}/version/`;
        for (const e of this.state.list(prefix)) {
            const n = Number(e.key.slice(prefix.length));
            if (Number.isSafeInteger(n) && n >= fileNumber)
                this.state.delete(e.key);
        }
    }
    /**
     * Drops our version entries of files every member is past, keeping the
     * one right before the floor: the chain must still link to what we hold.
     * Without this the cluster state would grow by a few entries per file
     * forever.
     */
    pruneVersions(floorFileNumber) {
        const prefix = `resource/${this.resource}/host/${this.host}/version/`;
        for (const e of this.state.list(prefix)) {
            const n = Number(e.key.slice(prefix.length));
            if (Number.isSafeInteger(n) && n < floorFileNumber - 1)
                this.state.delete(e.key);
        }
    }
    /**
     * Every member's history as this node knows it (src/replication/history.ts):
     * our own from what we hold now (`own`), the others' from their version
     * entries and the positions in their published status.
     */
    memberHistories(own) {
        const versions = this.versionEntries();
        const hosts = new Set(this.members());
        hosts.add(this.host);
        return [...hosts].sort().map((host) => {
            if (host === this.host) {
                return {
                    host,
                    versions: versions.get(host) ?? new Map(),
                    positions: own.positions.map((p) => ({
                        fileNumber: p.fileNumber,
                        file: formatLogName(p),
                        offsetBytes: p.offsetBytes,
                    })),
                    role: own.role,
                };
            }
            const status = this.publishedStatusOf(host);
            const positions = [];
            for (const p of [status?.durable, status?.applied]) {
                const fileNumber = p ? parseLogName(p.file)?.fileNumber : undefined;
                if (p && fileNumber !== undefined)
                    positions.push({ fileNumber, file: p.file, offsetBytes: p.offsetBytes });
            }
            return {
                host,
                versions: versions.get(host) ?? new Map(),
                positions,
                ...(status ? { role: status.role } : {}),
            };
        });
    }
}
//# sourceMappingURL=cluster-view.js.map
import { PeerCallError } from "../peer/client.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import { CLUSTER_ID_PATTERN, MIN_SECRET_LENGTH, generateClusterId, generateSecret, removeIdentity, writeIdentity, } from "./identity.js";
import { Keys } from "./keys.js";
export class Membership {
    deps;
    identity;
    constructor(deps) {
        this.deps = deps;
    }
    async create(params) {
        if (this.identity) {
            const same = (params.clusterId === undefined || params.clusterId === this.identity.clusterId) &&
                (params.secret === undefined || params.secret === this.identity.secret);
            if (!same) {
                throw new OperatorError("CLUSTER_CONFLICT", `this node already belongs to cluster ${this.identity.clusterId}`);
            }
            return { changed: false, clusterId: this.identity.clusterId, secret: this.identity.secret };
        }
        const clusterId = params.clusterId ?? generateClusterId(this.deps.host, this.deps.random);
        const secret = params.secret ?? generateSecret(this.deps.random);
        checkIdentityParams(clusterId, secret);
        await this.adopt({ format: 1, clusterId, secret, joinedStampUs: this.deps.clock.now() });
        this.deps.logger.info({ clusterId }, "created cluster");
        return { changed: true, clusterId, secret };
    }
    async join(params) {
        const { host, state } = this.deps;
        if (params.secret.length < MIN_SECRET_LENGTH) {
            throw new OperatorError("CLUSTER_CONFLICT", `the cluster secret must have at least ${MIN_SECRET_LENGTH} characters`);
        }
        if (this.identity) {
            // Already a member: answer from what we know, so a re-run (Ansible)
            // succeeds even while the named peer is down. Only the secret can be
            // compared; a different cluster with the same secret is not plausible.
            if (this.identity.secret !== params.secret) {
                throw new OperatorError("CLUSTER_CONFLICT", `this node already belongs to cluster ${this.identity.clusterId} (with another secret)`);
            }
            return { changed: false, clusterId: this.identity.clusterId };
        }
        const request = {
            host,
            address: this.deps.advertise,
            entries: state.ownEntriesAfter(0).filter((e) => e.key.startsWith("node/")),
        };
        const own = (key, value) => {
            if (!request.entries.some((e) => e.key === key))
                request.entries.push({ key, value, stampUs: this.deps.clock.now(), owner: host });
        };
        own(Keys.nodeAddress(host), this.deps.advertise);
        // Proven with the cluster secret: the member we join through registers our key.
        own(Keys.nodeKey(host), this.deps.publicKey());
        let answer;
        try {
            const result = await this.deps.client.call({ clusterId: "", secret: params.secret }, params.peer, "POST", "/peer/v1/join", request);
            answer = result.body;
        }
        catch (err) {
            throw new OperatorError("PEER_UNREACHABLE", `joining through ${params.peer} failed: ${errorMessage(err)}`);
        }
        if (typeof answer.clusterId !== "string" ||
            !CLUSTER_ID_PATTERN.test(answer.clusterId) ||
            !Array.isArray(answer.entries)) {
            throw new OperatorError("PEER_UNREACHABLE", `${params.peer} gave a malformed join answer`);
        }
        state.merge(answer.entries, "join", this.deps.refuseFromRemoved);
        for (const [owner, stamp] of Object.entries(answer.complete ?? {})) {
            if (owner !== host)
                state.noteComplete(owner, stamp);
        }
        await this.adopt({
            format: 1,
            clusterId: answer.clusterId,
            secret: params.secret,
            joinedStampUs: this.deps.clock.now(),
        });
        this.deps.logger.info({ clusterId: answer.clusterId, via: params.peer }, "joined cluster");
        return { changed: true, clusterId: answer.clusterId };
    }
    async leave(params) {
        const { host, state } = this.deps;
        if (!this.identity)
            return { changed: false };
        const target = params.host ?? host;
        if (target !== host) {
            if (!params.force) {
                throw new OperatorError("CLUSTER_CONFLICT", `removing another node (${target}) needs force: true`);
            }
            if (!this.deps.members().includes(target))
                return { changed: false };
            state.set(Keys.removed(target), true);
            await state.flush();
            this.deps.logger.warn({ host: target }, "removed a node from the cluster");
            return { changed: true };
        }
        const blocker = this.deps.leaveBlocker();
        if (blocker)
            throw new OperatorError("CLUSTER_CONFLICT", `this node cannot leave: ${blocker}`);
        state.set(Keys.removed(host), true);
        await state.flush();
        const peers = this.deps.links();
        const payload = this.deps.pusher.payload(0);
        // The regular push may have told a peer first; its refusal ("removed") is then the acknowledgement.
        const results = await Promise.allSettled(peers.map((l) => l.push(payload).catch((err) => {
            if (!(err instanceof PeerCallError && err.code === "removed"))
                throw err;
        })));
        if (peers.length > 0 && !results.some((r) => r.status === "fulfilled") && !params.force) {
            // Nobody heard it: stay a member rather than vanish silently.
            state.set(Keys.removed(host), false);
            await state.flush();
            const reasons = results.map((r, i) => `${peers[i]?.host}: ${r.status === "rejected" ? errorMessage(r.reason) : "ok"}`);
            throw new OperatorError("PEER_UNREACHABLE", `no member could be told that this node leaves (${reasons.join("; ")}); use force to leave anyway`);
        }
        this.deps.dropLinks();
        this.identity = undefined;
        await removeIdentity(this.deps.storage, this.deps.dir);
        await state.clear();
        this.deps.pusher.reset();
        this.deps.logger.info("left the cluster");
        return { changed: true };
    }
    async adopt(identity) {
        const { host, state } = this.deps;
        await writeIdentity(this.deps.storage, this.deps.dir, identity);
        this.identity = identity;
        if (this.deps.isRemoved(host))
            state.set(Keys.removed(host), false);
        state.set(Keys.nodeAddress(host), this.deps.advertise);
        if (state.value(Keys.nodeKey(host)) !== this.deps.publicKey())
            state.set(Keys.nodeKey(host), this.deps.publicKey());
        await state.flush();
        await this.deps.adopted();
    }
}
function checkIdentityParams(clusterId, secret) {
    if (!CLUSTER_ID_PATTERN.test(clusterId))
        throw new OperatorError("CLUSTER_CONFLICT", `invalid cluster id ${clusterId}`);
    if (secret.length < MIN_SECRET_LENGTH) {
        throw new OperatorError("CLUSTER_CONFLICT", `the cluster secret must have at least ${MIN_SECRET_LENGTH} characters`);
    }
}
//# sourceMappingURL=membership.js.map
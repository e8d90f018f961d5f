import { PairKeys, isPublicKey } from "../peer/node-key.js";
import { Keys } from "./keys.js";
export class ClusterKeys {
    deps;
    pairKeys;
    constructor(deps) {
        this.deps = deps;
        this.pairKeys = new PairKeys(deps.own, deps.host, (host) => this.registeredKey(host), deps.clusterId);
    }
    get publicKey() {
        return this.deps.own.publicKey;
    }
    /** Our key with `peer`, for the requests we send it (undefined: no key of it known). */
    toPeer(peer) {
        return this.pairKeys.toPeer(peer);
    }
    /** The key that verifies requests from `host`, and the fingerprint registered for it. */
    requestKey(host) {
        return this.deps.isRemoved(host) ? undefined : this.pairKeys.fromPeer(host);
    }
    /** True for an entry that would change (or delete) a registered node key, or register a malformed one. */
    refuses(entry) {
        if (entry.key !== Keys.nodeKey(entry.owner))
            return false;
        const registered = this.deps.state.value(entry.key);
        const refused = entry.deleted === true ||
            !isPublicKey(entry.value) ||
            (registered !== undefined && registered !== entry.value);
        if (refused && registered !== entry.value) {
            this.deps.logger.warn({ host: entry.owner }, "refused a change of a registered node key");
        }
        return refused;
    }
    /** Registers our key if the state lacks it (a member from before per-node keys). */
    registerOwn() {
        const { state, host, logger } = this.deps;
        const current = state.value(Keys.nodeKey(host));
        if (current === this.publicKey)
            return;
        if (current !== undefined) {
            logger.error("this node's key differs from the one registered for it: members refuse it until it is removed (leave with force) and joins again");
        }
        state.set(Keys.nodeKey(host), this.publicKey);
    }
    registeredKey(host) {
        const value = this.deps.state.value(Keys.nodeKey(host));
        return isPublicKey(value) ? value : undefined;
    }
}
//# sourceMappingURL=node-keys.js.map
import { PeerError } from "../peer/server.js";
import { Keys } from "./keys.js";
export class StateRoutes {
    deps;
    /** Each member's completeness map as it last told us (in its pulls): for tombstone collection. */
    seenBy = new Map();
    constructor(deps) {
        this.deps = deps;
    }
    register(server) {
        server.route("POST /peer/v1/join", (req) => this.onJoin(req), "state");
        server.route("POST /peer/v1/state/pull", (req) => this.onPull(req));
        server.route("POST /peer/v1/state/push", (req) => this.onPush(req), "state");
    }
    /** What our answers are complete up to, per owner. */
    completeness() {
        const complete = this.deps.state.seen();
        // Every entry we wrote is here, and anything we write later gets a higher stamp. (Not
        // "now": a value that moves only when we write keeps everyone's maps, and digests, equal.)
        complete[this.deps.host] = this.deps.state.ownMaxStampUs();
        return complete;
    }
    onJoin(req) {
        const { state, host } = this.deps;
        const body = parseJson(req.body);
        if (!body || body.host !== req.host || typeof body.address !== "string" || !Array.isArray(body.entries)) {
            throw new PeerError(400, "bad-request", "malformed join request");
        }
        const identity = this.deps.identity();
        if (!identity)
            throw new PeerError(409, "not-in-cluster", "this node is not in a cluster");
        const existing = state.value(Keys.nodeAddress(req.host));
        if (existing &&
            existing !== body.address &&
            !this.deps.isRemoved(req.host) &&
            this.deps.isAlive(req.host) &&
            req.host !== host) {
            throw new PeerError(409, "host-in-use", `a live member is already called ${req.host} (at ${existing})`);
        }
        if (req.host === host)
            throw new PeerError(409, "host-in-use", `${req.host} is this node's own name`);
        const keyEntry = body.entries.find((e) => e && typeof e === "object" && e.key === Keys.nodeKey(req.host));
        const registered = this.deps.isRemoved(req.host)
            ? undefined
            : state.value(Keys.nodeKey(req.host));
        if (registered !== undefined && registered !== keyEntry?.value) {
            throw new PeerError(409, "wrong-host-key", `${req.host} is registered with another node key; remove it first (cluster.leave with force on a member)`);
        }
        if (this.deps.isRemoved(req.host))
            state.set(Keys.removed(req.host), false);
        if (registered === undefined) {
            state.merge(body.entries.filter((e) => e && typeof e === "object" && e.owner === req.host), req.host, this.deps.refuseFromRemoved);
        }
        this.deps.noteContact(req.host);
        return {
            clusterId: identity.clusterId,
            entries: state.entriesSince({}),
            complete: this.completeness(),
        };
    }
    onPull(req) {
        const { state, host } = this.deps;
        const body = parseJson(req.body);
        this.deps.noteContact(req.host);
        if (body &&
            typeof body.digest === "string" &&
            typeof body.horizonUs === "number" &&
            typeof body.sincePeerUs === "number") {
            // Short form: if we agree on every other owner, only our own newer writes are missing there.
            if (body.digest !== state.seenDigest([req.host, host], body.horizonUs))
                return { mismatch: true };
            this.seenBy.set(req.host, { ...state.seen(), [host]: body.sincePeerUs });
            return {
                entries: state.ownEntriesAfter(body.sincePeerUs),
                complete: { [host]: state.ownMaxStampUs() },
            };
        }
        if (!body || typeof body.since !== "object" || body.since === null) {
            throw new PeerError(400, "bad-request", "malformed pull request");
        }
        const since = {};
        for (const [owner, stamp] of Object.entries(body.since))
            if (typeof stamp === "number")
                since[owner] = stamp;
        this.seenBy.set(req.host, since);
        return { entries: state.entriesSince(since), complete: this.completeness() };
    }
    onPush(req) {
        const { state } = this.deps;
        const body = parseJson(req.body);
        if (!body ||
            !Array.isArray(body.entries) ||
            typeof body.basisUs !== "number" ||
            typeof body.upToUs !== "number") {
            throw new PeerError(400, "bad-request", "malformed push");
        }
        // A node pushes only what it wrote itself.
        state.merge(body.entries.filter((e) => e && typeof e === "object" && e.owner === req.host), req.host, this.deps.refuseFromRemoved);
        // Contiguous with what we hold: we now hold everything the sender wrote up to upToUs.
        if (body.basisUs <= (state.seen()[req.host] ?? 0))
            state.noteComplete(req.host, body.upToUs);
        this.deps.noteContact(req.host);
        return { ok: true };
    }
}
function parseJson(body) {
    try {
        const value = JSON.parse(body.toString("utf8"));
        return typeof value === "object" && value !== null ? value : undefined;
    }
    catch {
        return undefined;
    }
}
//# sourceMappingURL=state-routes.js.map
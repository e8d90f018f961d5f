import { OperatorError } from "../util/errors.js";
export class FrontendSet {
    available = new Map();
    unavailable = new Map();
    /** Which frontend serves which resource. */
    attached = new Map();
    add(frontend) {
        this.available.set(frontend.kind, frontend);
        this.unavailable.delete(frontend.kind);
    }
    /** Records why a frontend cannot be offered on this node (shown in errors and node.info). */
    markUnavailable(kind, reason) {
        if (!this.available.has(kind))
            this.unavailable.set(kind, reason);
    }
    status() {
        const entry = (kind) => this.available.has(kind)
            ? { available: true }
            : { available: false, reason: this.unavailable.get(kind) ?? "not built into this daemon" };
        return { nbd: entry("nbd"), ublk: entry("ublk") };
    }
    /** Resolves a choice to a frontend, or throws a clear error. */
    resolve(choice) {
        if (choice === "auto") {
            const frontend = this.available.get("ublk") ?? this.available.get("nbd");
            if (!frontend)
                throw new OperatorError("FRONTEND_UNAVAILABLE", "no frontend is available");
            return frontend;
        }
        const frontend = this.available.get(choice);
        if (!frontend) {
            throw new OperatorError("FRONTEND_UNAVAILABLE", `the ${choice} frontend is not available on this node: ${this.unavailable.get(choice) ?? "not built in"}`);
        }
        return frontend;
    }
    async attach(volume, choice, stateDir) {
        const frontend = this.resolve(choice);
        const device = await frontend.attach(volume, stateDir);
        this.attached.set(volume.name, frontend);
        return device;
    }
    async detach(name) {
        const frontend = this.attached.get(name);
        this.attached.delete(name);
        await frontend?.detach(name);
    }
    device(name) {
        return this.attached.get(name)?.device(name);
    }
    /** Detaches everything (clean daemon stop). */
    async detachAll() {
        await Promise.all([...this.attached.keys()].map((name) => this.detach(name)));
    }
}
//# sourceMappingURL=frontend-set.js.map
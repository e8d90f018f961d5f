import { invalidate, invalidationStart } from "./invalidate.js";
import { applyResolution, planResolution, regionsSince } from "./split-brain.js";
import { startVerify } from "./verify.js";
export class Repairs {
    core;
    hooks;
    enqueue;
    constructor(core, hooks, enqueue) {
        this.core = core;
        this.hooks = hooks;
        this.enqueue = enqueue;
    }
    /** resource.invalidate: resync from the primary. */
    async invalidate() {
        const start = await invalidationStart(this.core);
        return this.changed(await this.enqueue(() => invalidate(this.core, this.hooks, start)));
    }
    /** resource.resolveSplitBrain: the winner keeps its history, a loser rolls back. */
    async resolveSplitBrain(winner) {
        const plan = await planResolution(this.core, winner);
        if (!plan)
            return { changed: false };
        return this.changed(await this.enqueue(() => applyResolution(this.core, this.hooks, plan)));
    }
    /** What a split brain's loser asks the winner for (regionsSince). */
    historyRegions(fromFileNumber) {
        return this.core.state === "running"
            ? regionsSince(this.core, fromFileNumber, true)
            : Promise.resolve(undefined);
    }
    /** resource.verify: starts an online verify here, in the background. */
    verify(repair) {
        startVerify(this.core, this.hooks, this.enqueue, { repair });
        return { started: true };
    }
    changed(changed) {
        if (changed)
            this.hooks.publishStatus(true);
        return { changed };
    }
}
//# sourceMappingURL=repairs.js.map
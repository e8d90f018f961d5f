/**
 * The operator's repairs of one resource, each a module of its own:
 * invalidate (invalidate.ts), split-brain resolution (split-brain.ts) and
 * online verify (verify.ts). This only binds them to the resource's core,
 * its hooks and its serialised role changes, so Resource stays a facade.
 */
import type { HistoryRegionsAnswer } from "../replication/sync-regions.js";
import { invalidate, invalidationStart } from "./invalidate.js";
import type { ResourceCore, RoleHooks } from "./resource-core.js";
import { applyResolution, planResolution, regionsSince } from "./split-brain.js";
import { startVerify } from "./verify.js";

export class Repairs {
  constructor(
    private readonly core: ResourceCore,
    private readonly hooks: RoleHooks,
    private readonly enqueue: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  /** resource.invalidate: resync from the primary. */
  async invalidate(): Promise<{ changed: boolean }> {
    const start = await invalidationStart(this.core);
    return this.changed(await this.enqueue(() => invalidate(this.core, this.hooks, start)));
  }

  /** resource.resolveSplitBrain: the winner keeps its history, a loser rolls back. */
  async resolveSplitBrain(winner: string): Promise<{ changed: boolean }> {
    const plan = await planResolution(this.core, winner);
    if (!plan) return { changed: false };
    return this.changed(await this.enqueue(() => applyResolution(this.core, this.hooks, plan)));
  }

  /** What a split brain's loser asks the winner for (regionsSince). */
  historyRegions(fromFileNumber: number): Promise<HistoryRegionsAnswer | "logs-gone" | undefined> {
    return this.core.state === "running"
      ? regionsSince(this.core, fromFileNumber, true)
      : Promise.resolve(undefined);
  }

  /** resource.verify: starts an online verify here, in the background. */
  verify(repair: boolean): { started: boolean } {
    startVerify(this.core, this.hooks, this.enqueue, { repair });
    return { started: true };
  }

  private changed(changed: boolean): { changed: boolean } {
    if (changed) this.hooks.publishStatus(true);
    return { changed };
  }
}

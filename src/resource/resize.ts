/**
 * Growing a resource online (resource.resize), as MARS's `marsadm resize`:
 * the operator grows the backing disk on every node first (lvextend, a
 * larger file), then asks the primary for the new size. Shrinking is
 * refused (SHRINK_REFUSED): nothing above us can be told to stop using the
 * end of the volume.
 *
 * Contract:
 * - Primary (growPrimary): the new size is checked against its own disk,
 *   then made durable in resource.json, then in the cluster state (shared
 *   config and our member entry, flushed), and only then does the volume
 *   accept IO up to it. So no record beyond the old size exists before the
 *   size that allows it is durable here and published. Then the frontend
 *   is told: a ublk device grows live where the kernel can (UPDATE_SIZE). Same size again:
 *   changed false (a half-done grow, config written but state not, is
 *   completed by that second call, or by restartRepair at the next start).
 * - Member (growMember): when the shared size exceeds its own, it checks
 *   its disk; too small, it keeps replicating at the old size, reports the
 *   problem (SizeFollower.problem, in resource.status) and retries every
 *   retryMaxMs, so growing the disk later heals it. Large enough, it stops
 *   its secondary role, makes the new size durable in resource.json, records
 *   a sync of the new tail only ([old, new), chunk-aligned) in sync.json and
 *   starts the role again: the tail is copied from the primary, then replay
 *   goes on (consistent again once it passes the sync end, like any sync).
 *   A sync already running takes the tail in. A member offline during the
 *   grow does this when it comes back.
 * - Only a secondary grows this way (it copies the tail). A node without a
 *   role retries until it has one; a primary that took over before it grew
 *   never copied the tail: it reports that, refuses resource.resize, and
 *   grows once it is a secondary again.
 * - Replay never writes beyond the member's size (sizeGuardedApplier): a
 *   record past it (it can arrive before the state change that announces
 *   the grow) blocks replay before that record, with the position not
 *   moved past it; the grow restarts the role, which replays it.
 */
import { Keys } from "../cluster/keys.js";
import type { ReplayApplier } from "../replication/replayer.js";
import { ReplayBlockedError } from "../replication/replayer.js";
import { chunkAlignedRegions, syncTotalBytes, type SyncRegions } from "../replication/sync-regions.js";
import { OperatorError } from "../util/errors.js";
import { readSharedConfig } from "./cluster-view.js";
import { MIN_RESOURCE_BYTES, RESOURCE_ALIGN_BYTES } from "./disk-admission.js";
import type { ResourceCore, RoleHooks } from "./resource-core.js";
import type { ResizeProblem } from "./status-model.js";
import { writeResourceConfig } from "./resource-config.js";
import { startSecondary, stopSecondary } from "./secondary-role.js";

const retries = new WeakMap<ResourceCore, { cancel(): void }>();

/**
 * Checks a requested size against the current one: "unchanged", "grow",
 * or a typed error (not aligned, too small, a shrink).
 */
export function planResize(currentBytes: number, requestedBytes: number): "unchanged" | "grow" {
  if (
    !Number.isSafeInteger(requestedBytes) ||
    requestedBytes < MIN_RESOURCE_BYTES ||
    requestedBytes % RESOURCE_ALIGN_BYTES !== 0
  ) {
    throw new OperatorError(
      "DISK_INVALID",
      `the volume size must be a multiple of ${RESOURCE_ALIGN_BYTES} bytes and at least ${MIN_RESOURCE_BYTES} (got ${requestedBytes})`,
      { sizeBytes: requestedBytes },
    );
  }
  if (requestedBytes < currentBytes) {
    throw new OperatorError(
      "SHRINK_REFUSED",
      `cannot shrink a resource from ${currentBytes} to ${requestedBytes} bytes: only growing is supported`,
      { sizeBytes: currentBytes, requestedBytes },
    );
  }
  return requestedBytes === currentBytes ? "unchanged" : "grow";
}

/** What a member copies after growing from `oldBytes` to `newBytes`: the new tail, in whole chunks. */
export function tailRegions(oldBytes: number, newBytes: number): SyncRegions {
  return chunkAlignedRegions([{ offsetBytes: oldBytes, lengthBytes: newBytes - oldBytes }], newBytes);
}

/** `regions` (undefined: the whole disk) with the tail of a grow added. */
export function regionsAfterGrow(
  regions: SyncRegions | undefined,
  oldBytes: number,
  newBytes: number,
): Array<[number, number]> | undefined {
  if (!regions) return undefined;
  const all = [...regions, ...tailRegions(oldBytes, newBytes)].map(([offsetBytes, lengthBytes]) => ({
    offsetBytes,
    lengthBytes,
  }));
  return chunkAlignedRegions(all, newBytes).map(([o, l]): [number, number] => [o, l]);
}

/** The replay applier of a member: refuses (blocks replay on) a record beyond its current size. */
export function sizeGuardedApplier(core: ResourceCore): ReplayApplier {
  const inner = core.applier;
  return {
    // Thrown, not rejected: the replayer then stops before this record
    // without issuing any later one (see the contract above).
    apply(op, position) {
      const endBytes = op.offsetBytes + op.lengthBytes;
      if (endBytes > core.config.sizeBytes) {
        throw new ReplayBlockedError(
          `a record ends at ${endBytes} bytes, beyond this member's size of ${core.config.sizeBytes}: waiting for it to grow (resource.resize)`,
        );
      }
      return inner.apply(op, position);
    },
    markApplied: (position) => inner.markApplied(position),
    idle: () => inner.idle(),
    get inFlightCount() {
      return inner.inFlightCount;
    },
  };
}

/** Makes `sizeBytes` durable in resource.json and current in memory; publishes our member entry. */
async function commitLocalSize(core: ResourceCore, sizeBytes: number, diskBytes: number): Promise<void> {
  const { deps } = core;
  await writeResourceConfig(core.dir, { ...core.config, sizeBytes }, deps.storage);
  core.config.sizeBytes = sizeBytes;
  core.diskSizeBytes = diskBytes;
  deps.cluster.state.set(Keys.resourceHost(core.name, deps.host, "member"), {
    disk: core.config.disk,
    sizeBytes,
  });
  deps.metrics.resourceSizeBytes.labels(core.name).set(sizeBytes);
}

/** resource.resize on the primary; runs inside the resource's serialised role changes. */
export async function growPrimary(
  core: ResourceCore,
  hooks: RoleHooks,
  sizeBytes: number,
): Promise<{ changed: boolean; sizeBytes: number; previousBytes: number }> {
  const { deps, name } = core;
  const volume = core.primary?.volume;
  if (core.state !== "running" || core.role !== "primary" || !volume) {
    throw new OperatorError("NOT_PRIMARY", `${name} is not primary here: resize it on its primary`);
  }
  const previousBytes = core.config.sizeBytes;
  const state = deps.cluster.state;
  const shared = readSharedConfig(state, name);
  if (shared && shared.sizeBytes > previousBytes) {
    // Its members copied [previousBytes, shared) from the old primary; this disk never did.
    throw new OperatorError(
      "RESOURCE_CONFLICT",
      `${name} has ${shared.sizeBytes} bytes in the cluster but this primary only ${previousBytes} (it took over before it grew): hand over to a grown member`,
      { sizeBytes: shared.sizeBytes, localBytes: previousBytes },
    );
  }
  if (planResize(previousBytes, sizeBytes) === "unchanged") {
    // A grow interrupted after resource.json: publish what is durable here.
    if (shared && shared.sizeBytes < sizeBytes) {
      state.set(Keys.resourceConfig(name), { ...shared, sizeBytes });
      await state.flush();
      return { changed: true, sizeBytes, previousBytes: shared.sizeBytes };
    }
    return { changed: false, sizeBytes, previousBytes };
  }
  if (core.emergencyFile || core.memberMaps.size > 0) {
    // Their dirty maps cover the old size only.
    throw new OperatorError(
      "RESOURCE_CONFLICT",
      `${name} is in emergency mode or has members cut loose: grow it once they caught up`,
    );
  }
  const diskBytes = await core.backing.sizeBytes();
  if (diskBytes < sizeBytes) {
    throw new OperatorError(
      "DISK_INVALID",
      `disk ${core.config.disk} has ${diskBytes} bytes, fewer than ${sizeBytes}: grow the disk first (on every member)`,
      { diskBytes, sizeBytes },
    );
  }
  await commitLocalSize(core, sizeBytes, diskBytes);
  if (shared) state.set(Keys.resourceConfig(name), { ...shared, sizeBytes });
  await state.flush();
  // Only now may writes reach the new end.
  volume.grow(sizeBytes);
  deps.logger.info({ resource: name, previousBytes, sizeBytes }, "resource grown");
  // A ublk device grows live where the kernel can (UPDATE_SIZE); NBD clients see it on connecting.
  await deps.frontend.resized(name);
  hooks.publishStatus(true);
  return { changed: true, sizeBytes, previousBytes };
}

/**
 * A member grows to the cluster's size if that is larger than its own (see
 * the contract). Runs inside the serialised role changes; never throws for a
 * disk that is too small (that is a problem reported, retried later).
 */
export async function growMember(core: ResourceCore, hooks: RoleHooks, retry: () => void): Promise<void> {
  const { deps, name } = core;
  const shared = readSharedConfig(deps.cluster.state, name);
  const oldBytes = core.config.sizeBytes;
  if (core.state !== "running") return;
  if (core.role === "primary" && shared && shared.sizeBytes < oldBytes) {
    // Restarted between resource.json and the cluster state (growPrimary): finish publishing.
    deps.cluster.state.set(Keys.resourceConfig(name), { ...shared, sizeBytes: oldBytes });
    await deps.cluster.state.flush();
    return;
  }
  if (!shared || shared.sizeBytes <= oldBytes) {
    core.sizeProblem = undefined;
    return;
  }
  const newBytes = shared.sizeBytes;
  const diskBytes = await core.backing.sizeBytes();
  const later = (reason: string): void => {
    const first = core.sizeProblem?.reason !== reason;
    core.sizeProblem = { wantedBytes: newBytes, diskBytes, reason };
    if (first) deps.logger.error({ resource: name, diskBytes, wantedBytes: newBytes }, reason);
    hooks.publishStatus(true);
    retries.get(core)?.cancel();
    retries.set(core, deps.time.setTimer(deps.settings.retryMaxMs, retry));
  };
  if (diskBytes < newBytes) {
    return later(
      `disk ${core.config.disk} has ${diskBytes} bytes, the resource was grown to ${newBytes}: grow the disk; replication goes on at ${oldBytes} bytes until then`,
    );
  }
  if (core.role !== "secondary" || !core.secondary) {
    // Only a replicating member copies the tail: a node with no role yet
    // grows once it has one; a primary that took over before it grew
    // never copied the old primary's tail, so it does not grow by itself.
    return later(
      core.role === "primary"
        ? `this primary took over at ${oldBytes} bytes before growing to ${newBytes}: hand over to a grown member`
        : `not replicating yet: grows to ${newBytes} bytes once it is a secondary`,
    );
  }
  core.sizeProblem = undefined;
  retries.get(core)?.cancel();
  retries.delete(core);
  await stopSecondary(core);
  // sync.json first: a crash after it and before resource.json copies a
  // tail that is not in use yet, which is harmless; the reverse would leave
  // a grown member that never copied its tail.
  const sync = core.syncFile;
  const regions: Array<[number, number]> | undefined =
    sync.state === "syncing"
      ? regionsAfterGrow(sync.regions, oldBytes, newBytes)
      : tailRegions(oldBytes, newBytes).map(([o, l]): [number, number] => [o, l]);
  const totalBytes = syncTotalBytes(regions, newBytes);
  core.syncFile =
    sync.state === "syncing"
      ? { ...sync, totalBytes, ...(regions ? { regions } : {}) }
      : {
          state: "syncing",
          doneBytes: 0,
          totalBytes,
          consistent: false,
          regions: regions ?? [],
          ...(sync.gapCleared ? { gapCleared: sync.gapCleared } : {}),
        };
  await core.files.writeSync(core.syncFile);
  deps.metrics.replicationSyncTotalBytes.labels(name).set(totalBytes);
  await commitLocalSize(core, newBytes, diskBytes);
  await deps.cluster.state.flush();
  deps.logger.info(
    { resource: name, previousBytes: oldBytes, sizeBytes: newBytes },
    "grown; copying the new tail",
  );
  await startSecondary(core, hooks);
}

/**
 * A resource's size operations: resource.resize on the primary, and
 * growMember whenever the cluster's size may have changed (and on its
 * retries), each inside the resource's serialised role changes.
 */
export class SizeFollower {
  private stopped = false;

  constructor(
    private readonly core: ResourceCore,
    private readonly hooks: RoleHooks,
    /** The resource's serialised role changes. */
    private readonly enqueue: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  /** resource.resize on the primary (growPrimary). */
  grow(sizeBytes: number): ReturnType<typeof growPrimary> {
    return this.enqueue(() => growPrimary(this.core, this.hooks, sizeBytes));
  }

  /** Why this member has not grown to the cluster's size yet (its disk is too small). */
  get problem(): ResizeProblem | undefined {
    return this.core.sizeProblem;
  }

  /** A change of the shared config (resource/<name>/config) may be a grow. */
  onStateChange(key: string): void {
    if (key === Keys.resourceConfig(this.core.name)) this.check();
  }

  check(): void {
    if (this.stopped) return;
    this.enqueue(() => growMember(this.core, this.hooks, () => this.check())).catch((err: unknown) =>
      this.hooks.fatal(err),
    );
  }

  stop(): void {
    this.stopped = true;
    retries.get(this.core)?.cancel();
    retries.delete(this.core);
  }
}

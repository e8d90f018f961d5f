/** resource.* methods: thin adapters from validated params to the resource layer. */
import type { NodeServices } from "../context.js";
import type { FrontendChoice } from "../../frontend/frontend-set.js";
import { formatLogName } from "../../log/log-name.js";
import type { PauseWhat, Resource } from "../../resource/resource.js";
import { memberLag } from "../../resource/status-model.js";
import { OperatorError } from "../../util/errors.js";
import type { MethodTable } from "../endpoint.js";

interface NameParams {
  name: string;
}

function throwIfStopping(node: NodeServices): void {
  if (node.isStopping()) throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
}

/** Every member as this node sees it: its published status, plus lag against the primary. */
function members(resource: Resource, node: NodeServices) {
  const primaryHost = resource.designatedPrimary();
  const primaryStatus = primaryHost
    ? primaryHost === node.config.host
      ? resource.ownStatus()
      : resource.publishedStatusOf(primaryHost)
    : undefined;
  return resource.members().map((host) => {
    const self = host === node.config.host;
    const status = self ? resource.ownStatus() : resource.publishedStatusOf(host);
    return {
      host,
      self,
      alive: self || node.cluster.isAlive(host),
      ...(status
        ? {
            role: status.role,
            diskState: status.diskState,
            replState: status.replState,
            consistent: status.consistent,
            ...(status.applied ? { applied: status.applied } : {}),
            ...(status.durable ? { durable: status.durable } : {}),
            ...(status.sync ? { sync: status.sync } : {}),
            ...(status.resize ? { resize: status.resize } : {}),
            ...(status.error ? { error: status.error } : {}),
          }
        : {}),
      ...memberLag(status, primaryStatus),
    };
  });
}

export function resourceStatus(resource: Resource, node: NodeServices) {
  const own = resource.ownStatus();
  const detail = resource.detail();
  const device = node.deviceOf(resource.name);
  const forks = resource.forks();
  const split = forks[0];
  const designated = resource.designatedPrimary();
  return {
    name: resource.name,
    role: resource.role,
    state: resource.state,
    ...(detail.error !== undefined ? { error: detail.error } : {}),
    sizeBytes: resource.config.sizeBytes,
    designatedPrimary: designated ?? null,
    diskState: own.diskState,
    replState: own.replState,
    consistent: detail.consistent,
    ...(detail.takeOverBlockedBy !== undefined ? { takeOverBlockedBy: detail.takeOverBlockedBy } : {}),
    paused: detail.paused,
    disk: detail.disk,
    ...(device ? { device } : {}),
    log: {
      ...(detail.log.currentFile ? { currentFile: detail.log.currentFile } : {}),
      files: detail.log.files,
      ...(detail.log.durable ? { durable: detail.log.durable } : {}),
      ...(detail.log.applied ? { applied: detail.log.applied } : {}),
      ...(detail.log.checkpoint ? { checkpoint: detail.log.checkpoint } : {}),
      pendingBytes: detail.log.pendingBytes,
      recovery: detail.recovery,
    },
    ...(detail.fetch ? { fetch: detail.fetch } : {}),
    ...(detail.replay ? { replay: detail.replay } : {}),
    ...(detail.sync ? { sync: detail.sync } : {}),
    ...(detail.emergency ? { emergency: detail.emergency } : {}),
    ...(detail.cutLoose.length > 0 ? { cutLoose: detail.cutLoose } : {}),
    ...(detail.verify ? { verify: detail.verify } : {}),
    ...(resource.size.problem ? { resize: resource.size.problem } : {}),
    splitBrain: split
      ? { detected: true, fileNumber: split.fileNumber, versions: split.versions, forks }
      : { detected: own.replState === "SplitBrain" },
    members: members(resource, node),
  };
}

const WAIT_CONDITIONS: Record<string, (r: Resource, node: NodeServices) => boolean> = {
  primary: (r) => r.isServingPrimary,
  secondary: (r) => r.role === "secondary",
  consistent: (r) => r.consistent,
  uptodate: (r) => r.ownStatus().diskState === "UpToDate",
  synced: (r) => r.detail().sync === undefined,
  // Every member has applied everything the primary has made durable.
  replicated: (r, node) => {
    const ms = members(r, node);
    // Never across a fork: a member on another history has nothing to catch up with.
    return (
      ms.length > 0 &&
      r.splitBrain() === undefined &&
      ms.every((m) => m.lagBytes === 0 || m.role === "primary")
    );
  },
  splitbrain: (r) => r.splitBrain() !== undefined || r.ownStatus().replState === "SplitBrain",
};

export const resourceMethods: MethodTable<NodeServices> = {
  "resource.create": async (params, node) => {
    throwIfStopping(node);
    const { name, disk, sizeBytes, frontend } = params as {
      name: string;
      disk: string;
      sizeBytes?: number;
      frontend?: FrontendChoice;
    };
    // Refuse a frontend this node cannot offer before anything is created.
    node.frontends.resolve(frontend ?? "auto");
    const { changed, resource } = await node.resources.create({ name, disk, sizeBytes, frontend });
    return { changed, resource: resourceStatus(resource, node) };
  },

  "resource.join": async (params, node) => {
    throwIfStopping(node);
    const { name, disk } = params as { name: string; disk: string };
    const { changed, resource } = await node.resources.join({ name, disk });
    return { changed, resource: resourceStatus(resource, node) };
  },

  "resource.leave": (params, node) => {
    throwIfStopping(node);
    return node.resources.leave(params as { name: string; host?: string; force?: boolean });
  },

  "resource.delete": (params, node) => {
    throwIfStopping(node);
    return node.resources.delete(params as { name: string; force?: boolean });
  },

  "resource.list": (_params, node) => ({
    resources: node.resources.list().map((r) => {
      const device = node.deviceOf(r.name);
      const own = r.ownStatus();
      return {
        name: r.name,
        role: r.role,
        state: r.state,
        sizeBytes: r.config.sizeBytes,
        designatedPrimary: r.designatedPrimary() ?? null,
        diskState: own.diskState,
        replState: own.replState,
        ...(device ? { device } : {}),
      };
    }),
  }),

  "resource.status": (params, node) => {
    const { name } = params as unknown as NameParams;
    return resourceStatus(node.resources.require(name), node);
  },

  "resource.primary": async (params, node) => {
    throwIfStopping(node);
    const { name, force, timeoutMs } = params as { name: string; force?: boolean; timeoutMs?: number };
    return node.resources
      .require(name)
      .makePrimary({ force: force ?? false, timeoutMs: timeoutMs ?? 60_000 });
  },

  "resource.secondary": async (params, node) => {
    throwIfStopping(node);
    const { name } = params as unknown as NameParams;
    return node.resources.require(name).makeSecondary();
  },

  "resource.invalidate": async (params, node) => {
    throwIfStopping(node);
    const { name } = params as { name: string };
    return node.resources.require(name).repairs.invalidate();
  },

  "resource.resolveSplitBrain": async (params, node) => {
    throwIfStopping(node);
    const { name, winner } = params as { name: string; winner: string };
    return node.resources.require(name).repairs.resolveSplitBrain(winner);
  },

  "resource.verify": (params, node) => {
    throwIfStopping(node);
    const { name, repair } = params as { name: string; repair?: boolean };
    return node.resources.require(name).repairs.verify(repair ?? false);
  },

  "resource.pause": async (params, node) => {
    throwIfStopping(node);
    const { name, what } = params as { name: string; what: PauseWhat };
    return node.resources.require(name).setPaused(what, true);
  },

  "resource.resume": async (params, node) => {
    throwIfStopping(node);
    const { name, what } = params as { name: string; what: PauseWhat };
    return node.resources.require(name).setPaused(what, false);
  },

  "resource.resize": async (params, node) => {
    throwIfStopping(node);
    const { name, sizeBytes } = params as { name: string; sizeBytes: number };
    return node.resources.require(name).size.grow(sizeBytes);
  },

  "resource.logRotate": async (params, node) => {
    throwIfStopping(node);
    const { name } = params as unknown as NameParams;
    const resource = node.resources.require(name);
    if (resource.state !== "running") {
      throw new OperatorError(
        "RESOURCE_FAILED",
        `resource ${name} is ${resource.state}, its log cannot rotate`,
      );
    }
    const finished = await resource.rotateLog();
    return {
      changed: finished !== undefined,
      ...(finished
        ? { finishedFile: { name: formatLogName(finished.name), lengthBytes: finished.lengthBytes } }
        : {}),
      currentFile: resource.detail().log.currentFile ?? "",
    };
  },

  "resource.logDelete": async (params, node) => {
    throwIfStopping(node);
    const { name } = params as unknown as NameParams;
    const { deleted, floorFileNumber } = await node.resources.require(name).deleteReplayedLogs();
    return {
      changed: deleted.length > 0,
      deleted,
      ...(floorFileNumber !== undefined ? { keptFromFileNumber: floorFileNumber } : {}),
    };
  },

  "resource.wait": async (params, node) => {
    const { name, until, timeoutMs } = params as { name: string; until: string; timeoutMs?: number };
    const resource = node.resources.require(name);
    const condition = WAIT_CONDITIONS[until] as (r: Resource, node: NodeServices) => boolean;
    await resource.waitFor(() => condition(resource, node), timeoutMs ?? 60_000, `${name} to be ${until}`);
    return { reached: true, status: resourceStatus(resource, node) };
  },
};

/** resource.* methods: thin adapters from validated params to the ResourceManager. */
import { formatLogName } from "../../log/log-name.js";
import type { NodeServices } from "../../daemon/services.js";
import type { FrontendChoice } from "../../frontend/frontend-set.js";
import type { Resource } from "../../resource/resource.js";
import { OperatorError } from "../../util/errors.js";
import type { MethodTable } from "../endpoint.js";

interface NameParams {
  name: string;
}

async function fullStatus(resource: Resource, node: NodeServices) {
  const status = await resource.status();
  const device = node.deviceOf(resource.name);
  return { ...status, ...(device ? { device } : {}) };
}

function throwIfStopping(node: NodeServices): void {
  if (node.isStopping()) throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
}

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
    return { changed, resource: await fullStatus(resource, node) };
  },

  "resource.list": (_params, node) => ({
    resources: node.resources.list().map((r) => {
      const device = node.deviceOf(r.name);
      return {
        name: r.name,
        role: "primary" as const,
        state: r.state,
        sizeBytes: r.config.sizeBytes,
        ...(device ? { device } : {}),
      };
    }),
  }),

  "resource.status": async (params, node) => {
    const { name } = params as unknown as NameParams;
    return fullStatus(node.resources.require(name), node);
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
    const status = await resource.status();
    return {
      changed: finished !== undefined,
      ...(finished
        ? { finishedFile: { name: formatLogName(finished.name), lengthBytes: finished.lengthBytes } }
        : {}),
      currentFile: status.log.currentFile ?? "",
    };
  },

  "resource.delete": async (params, node) => {
    throwIfStopping(node);
    const { name } = params as unknown as NameParams;
    return node.resources.delete(name);
  },
};

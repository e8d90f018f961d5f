/** cluster.* and state.* methods. */
import type { NodeServices } from "../context.js";
import { OperatorError } from "../../util/errors.js";
import type { MethodTable } from "../endpoint.js";

function throwIfStopping(node: NodeServices): void {
  if (node.isStopping()) throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
}

export const clusterMethods: MethodTable<NodeServices> = {
  "cluster.create": (params, node) => {
    throwIfStopping(node);
    return node.cluster.create(params);
  },

  "cluster.join": (params, node) => {
    throwIfStopping(node);
    return node.cluster.join(params as { peer: string; secret: string });
  },

  "cluster.leave": (params, node) => {
    throwIfStopping(node);
    return node.cluster.leave(params);
  },

  "cluster.status": (_params, node) => node.cluster.status(),

  "state.get": (params, node) => {
    const { prefix } = params as { prefix?: string };
    return {
      entries: node.cluster.state
        .list(prefix ?? "")
        .map((e) => ({ key: e.key, value: e.value, stampUs: e.stampUs, owner: e.owner })),
    };
  },
};

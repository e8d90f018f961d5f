import { OperatorError } from "../../util/errors.js";
function throwIfStopping(node) {
    if (node.isStopping())
        throw new OperatorError("SHUTTING_DOWN", "the daemon is shutting down");
}
export const clusterMethods = {
    "cluster.create": (params, node) => {
        throwIfStopping(node);
        return node.cluster.create(params);
    },
    "cluster.join": (params, node) => {
        throwIfStopping(node);
        return node.cluster.join(params);
    },
    "cluster.leave": (params, node) => {
        throwIfStopping(node);
        return node.cluster.leave(params);
    },
    "cluster.status": (_params, node) => node.cluster.status(),
    "state.get": (params, node) => {
        const { prefix } = params;
        return {
            entries: node.cluster.state
                .list(prefix ?? "")
                .map((e) => ({ key: e.key, value: e.value, stampUs: e.stampUs, owner: e.owner })),
        };
    },
};
//# sourceMappingURL=cluster.js.map
/**
 * Where a joining member starts: the designated primary's newest log file.
 * The joiner copies the disk (full sync) and replays from the start of
 * that file, so every write after the copy began is in what it replays.
 *
 * Contract: refuses with PRIMARY_UNREACHABLE when no primary is
 * designated, it has no address or we no credentials, it does not answer,
 * or it has no log file yet.
 */
import { Keys } from "../cluster/keys.js";
import { parseLogName } from "../log/log-name.js";
import { OperatorError, errorMessage } from "../util/errors.js";
export async function findJoinStart(cluster, name) {
    const primary = cluster.state.value(Keys.resourcePrimary(name));
    const address = typeof primary === "string" ? cluster.addressOf(primary) : undefined;
    const credentials = cluster.credentials();
    if (typeof primary !== "string" || !address || !credentials) {
        throw new OperatorError("PRIMARY_UNREACHABLE", `resource ${name} has no reachable primary to join from`);
    }
    let files;
    try {
        const listed = await cluster.client.call(credentials, address, "POST", "/peer/v1/log/list", { resource: name, afterFileNumber: 0 }, primary);
        files = listed.body.files;
    }
    catch (err) {
        throw new OperatorError("PRIMARY_UNREACHABLE", `cannot reach the primary ${primary}: ${errorMessage(err)}`);
    }
    const start = files
        .filter((f) => parseLogName(f.name))
        .sort((a, b) => (parseLogName(a.name)?.fileNumber ?? 0) - (parseLogName(b.name)?.fileNumber ?? 0))
        .at(-1);
    if (!start)
        throw new OperatorError("PRIMARY_UNREACHABLE", `the primary ${primary} has no log for ${name} yet`);
    return { primary, start };
}
//# sourceMappingURL=join-start.js.map
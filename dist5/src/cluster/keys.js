/**
 * The cluster state's key space and who may write each key.
 *
 * Most keys are owned: the host named in the key is the only node allowed
 * to write it (as MARS's `<name>-<host>` symlinks). A few keys are shared
 * and resolved by last-writer-wins on the Lamport stamp (as MARS's
 * `primary`). Keys outside these patterns are refused everywhere, so a peer
 * cannot grow the state with arbitrary junk.
 *
 *   node/<host>/<field>                      owned by <host>   (address, info)
 *   resource/<res>/host/<host>/<field...>    owned by <host>   (membership, positions, versions)
 *   resource/<res>/<shared-field>            shared            (primary, config)
 *   resource/<res>/evicted/<host>            shared            (dead member removed by force)
 *   cluster/removed/<host>                   shared            (forced removal, rejoin)
 */
const SEG = "[a-z0-9][a-z0-9_.-]{0,127}";
const HOST = "[a-z][a-z0-9-]{0,62}";
const RES = "[a-z0-9][a-z0-9_.-]{0,62}";
const OWNED = [
    new RegExp(`^node/(${HOST})/${SEG}$`),
    new RegExp(`^resource/${RES}/host/(${HOST})/${SEG}(?:/${SEG}){0,2}$`),
];
const SHARED = [
    new RegExp(`^cluster/removed/${HOST}$`),
    new RegExp(`^resource/${RES}/(?:primary|config)$`),
    new RegExp(`^resource/${RES}/evicted/${HOST}$`),
];
export const MAX_KEY_LENGTH = 512;
export function keyOwnership(key) {
    if (key.length > MAX_KEY_LENGTH)
        return undefined;
    for (const re of OWNED) {
        const m = re.exec(key);
        if (m)
            return { kind: "owned", host: m[1] };
    }
    for (const re of SHARED)
        if (re.test(key))
            return { kind: "shared" };
    return undefined;
}
/** May `writer` write `key`? */
export function mayWrite(key, writer) {
    const o = keyOwnership(key);
    if (!o)
        return false;
    return o.kind === "shared" || o.host === writer;
}
export const Keys = {
    nodeAddress: (host) => `node/${host}/address`,
    nodeInfo: (host) => `node/${host}/info`,
    /** The host's public node key (src/peer/node-key.ts): registered once, never changed. */
    nodeKey: (host) => `node/${host}/key`,
    removed: (host) => `cluster/removed/${host}`,
    resourcePrimary: (res) => `resource/${res}/primary`,
    resourceConfig: (res) => `resource/${res}/config`,
    resourceHost: (res, host, field) => `resource/${res}/host/${host}/${field}`,
    /** Shared: a dead member removed by a survivor (it no longer pins log files). */
    resourceEvicted: (res, host) => `resource/${res}/evicted/${host}`,
};
/** The host a `node/<host>/...` or `cluster/removed/<host>` key is about. */
export function hostOfKey(key) {
    const m = /^(?:node|cluster\/removed)\/([a-z][a-z0-9-]{0,62})(?:\/|$)/.exec(key);
    return m?.[1];
}
//# sourceMappingURL=keys.js.map
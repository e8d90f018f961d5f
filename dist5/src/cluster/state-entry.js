import { MarsError } from "../util/errors.js";
import { keyOwnership, mayWrite } from "./keys.js";
/** A write this node may not make: a key it does not own, or a value over the size bound. */
export class StateWriteError extends MarsError {
    constructor(message) {
        super("STATE_WRITE_REFUSED", message);
    }
}
export const MAX_VALUE_BYTES = 64 * 1024;
/** Deterministic order of two versions of the same key: >0 if a is newer. */
export function compareVersions(a, b) {
    if (a.stampUs !== b.stampUs)
        return a.stampUs - b.stampUs;
    if (a.owner !== b.owner)
        return a.owner > b.owner ? 1 : -1;
    const x = JSON.stringify([a.deleted ?? false, a.value]);
    const y = JSON.stringify([b.deleted ?? false, b.value]);
    return x === y ? 0 : x > y ? 1 : -1;
}
/** Why an incoming entry is refused, or undefined if it is acceptable. */
export function entryProblem(e, clock) {
    if (typeof e !== "object" || e === null)
        return "not an object";
    const entry = e;
    if (typeof entry.key !== "string" || !keyOwnership(entry.key))
        return `invalid key ${String(entry.key)}`;
    if (typeof entry.owner !== "string" || !mayWrite(entry.key, entry.owner)) {
        return `${String(entry.owner)} may not write ${entry.key}`;
    }
    if (typeof entry.stampUs !== "number" || !clock.isPlausible(entry.stampUs))
        return `implausible stamp on ${entry.key}`;
    if (entry.deleted !== undefined && entry.deleted !== true)
        return "bad deleted flag";
    if (entry.deleted && entry.value !== null)
        return "tombstone with a value";
    if (entry.value === undefined)
        return "missing value";
    if (JSON.stringify(entry.value).length > MAX_VALUE_BYTES)
        return `value of ${entry.key} too large`;
    return undefined;
}
//# sourceMappingURL=state-entry.js.map
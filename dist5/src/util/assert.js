/**
 * Invariant checks. These guard programming errors (a broken invariant means
 * a bug, not bad input), so they throw InternalError (kind INTERNAL), which
 * the RPC layer answers as -32603 with a correlation id.
 */
import { InternalError } from "./errors.js";
export function invariant(condition, message) {
    if (!condition)
        throw new InternalError(`invariant violated: ${message}`);
}
//# sourceMappingURL=assert.js.map
/**
 * Invariant checks. These guard programming errors (a broken invariant means
 * a bug, not bad input), so they throw plain AssertionErrors that surface as
 * internal errors.
 */
import { AssertionError } from "node:assert";

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError({ message: `invariant violated: ${message}` });
}

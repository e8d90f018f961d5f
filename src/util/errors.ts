/**
 * Error classes shared across layers. Each has a stable `code` so callers
 * (RPC mapping, metrics, tests) never match on message text.
 */

export class MarsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The log cannot be trusted any more (failed write or fdatasync). Fatal for that log. */
export class LogFailedError extends MarsError {
  constructor(message: string, options?: ErrorOptions) {
    super("LOG_FAILED", message, options);
  }
}

/** A log record or file failed validation in a way that is not a torn tail. */
export class LogCorruptError extends MarsError {
  constructor(message: string, options?: ErrorOptions) {
    super("LOG_CORRUPT", message, options);
  }
}

/** An IO request addresses bytes outside the volume. */
export class OutOfRangeError extends MarsError {
  constructor(message: string) {
    super("OUT_OF_RANGE", message);
  }
}

/** The object is shutting down or stopped and accepts no new work. */
export class ClosedError extends MarsError {
  constructor(message: string) {
    super("CLOSED", message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Node's system errors carry an errno name in `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * Errors an operator can cause and fix (unknown resource, conflicting
 * parameters, unusable disk...). The RPC layer maps each code to a stable
 * JSON-RPC error number listed in api/openrpc.json.
 */
export type OperatorErrorCode =
  | "RESOURCE_NOT_FOUND"
  | "RESOURCE_CONFLICT"
  | "DISK_INVALID"
  | "DISK_IN_USE"
  | "RESOURCE_FAILED"
  | "SHUTTING_DOWN"
  | "FRONTEND_UNAVAILABLE"
  | "CLUSTER_CONFLICT"
  | "PEER_UNREACHABLE"
  | "NOT_IN_CLUSTER"
  | "NOT_PRIMARY"
  | "NOT_CONSISTENT"
  | "SPLIT_BRAIN"
  | "PRIMARY_UNREACHABLE"
  | "WAIT_TIMEOUT"
  | "REPLICATION_PAUSED";

export class OperatorError extends MarsError {
  constructor(
    code: OperatorErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(code, message);
  }
}

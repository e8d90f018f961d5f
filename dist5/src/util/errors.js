/**
 * The error catalogue. Every error that crosses a module boundary is a
 * MarsError whose `kind` is one entry of ERROR_CODES, so callers (the RPC
 * mapping in src/rpc/error-codes.ts, metrics, tests) never match on message
 * text. `code` is the stable machine-readable code to match on: equal to
 * `kind`, except for the two wire families whose codes are a protocol of
 * their own (TransportError: "timeout", "reset"...; the peer errors:
 * PeerErrorCode in src/peer/error-codes.ts).
 *
 * Adding an entry here fails the build until src/rpc/error-codes.ts gives
 * it a JSON-RPC number (and api/openrpc.json documents it).
 */
/** Errors an operator can cause and fix; see OperatorError. */
export const OPERATOR_ERROR_KINDS = [
    "RESOURCE_NOT_FOUND",
    "RESOURCE_CONFLICT",
    "DISK_INVALID",
    "DISK_IN_USE",
    "RESOURCE_FAILED",
    "SHUTTING_DOWN",
    "FRONTEND_UNAVAILABLE",
    "CLUSTER_CONFLICT",
    "PEER_UNREACHABLE",
    "NOT_IN_CLUSTER",
    "NOT_PRIMARY",
    "NOT_CONSISTENT",
    "SPLIT_BRAIN",
    "PRIMARY_UNREACHABLE",
    "WAIT_TIMEOUT",
    "REPLICATION_PAUSED",
    "SHRINK_REFUSED",
];
/** Every kind of error marsd raises across a module boundary, with the class that carries it. */
export const ERROR_CODES = [
    ...OPERATOR_ERROR_KINDS,
    /** LogFailedError */
    "LOG_FAILED",
    /** LogCorruptError */
    "LOG_CORRUPT",
    /** DirtyMapFailedError (src/resource/dirty-map.ts) */
    "DIRTY_MAP_FAILED",
    /** OutOfRangeError */
    "OUT_OF_RANGE",
    /** ClosedError */
    "CLOSED",
    /** ReadOnlyError (src/resource/block-volume.ts) */
    "READ_ONLY",
    /** VolumeFailedError (src/resource/block-volume.ts) */
    "VOLUME_FAILED",
    /** DiskReplacedError (src/resource/disk.ts) */
    "DISK_REPLACED",
    /** ReplayBlockedError (src/replication/replayer.ts) */
    "REPLAY_BLOCKED",
    /** RecordVerifyError (src/replication/record-verifier.ts) */
    "RECORD_INVALID",
    /** FrameError (src/replication/frames.ts) */
    "FRAME_INVALID",
    /** JournalFailedError (src/cluster/state-journal.ts) */
    "JOURNAL_FAILED",
    /** StateWriteError (src/cluster/state-store.ts) */
    "STATE_WRITE_REFUSED",
    /** TransportError (src/platform/transport.ts); `code` says which */
    "TRANSPORT_FAILED",
    /** PeerCallError (src/peer/client.ts): a peer refused our request; `code` is its PeerErrorCode */
    "PEER_CALL_FAILED",
    /** PeerError (src/peer/server.ts): we refuse a peer's request; `code` is the PeerErrorCode answered */
    "PEER_REQUEST_REFUSED",
    /** PeerProtocolError (src/peer/error-codes.ts): a peer's answer or stream broke the protocol */
    "PEER_PROTOCOL",
    /** ProtocolError (src/frontend/nbd/handshake.ts): an NBD client broke the protocol */
    "NBD_PROTOCOL",
    /** UblkError (src/frontend/ublk/device.ts) */
    "UBLK_FAILED",
    /** ConfigError (src/daemon/config.ts) */
    "CONFIG_INVALID",
    /** CronSyntaxError (src/platform/cron.ts) */
    "CRON_SYNTAX",
    /** AddressError */
    "ADDRESS_INVALID",
    /** MalformedFileError */
    "FILE_MALFORMED",
    /** DataDirInUseError (src/daemon/pid-lock.ts) */
    "DATA_DIR_IN_USE",
    /** NotStartedError */
    "NOT_STARTED",
    /** RpcTimeoutError (src/cli/rpc-client.ts); raised in the client, never answered */
    "RPC_TIMEOUT",
    /** InternalError: an invariant broke (a bug); the only kind answered as -32603 */
    "INTERNAL",
];
export class MarsError extends Error {
    /** The catalogue entry: what went wrong, mapped to one JSON-RPC number. */
    kind;
    /** Stable and machine-readable: match on this, never on the message. */
    code;
    constructor(kind, message, options) {
        super(message, options);
        this.name = new.target.name;
        this.kind = kind;
        this.code = options?.code ?? kind;
    }
}
/** The log cannot be trusted any more (failed write or fdatasync). Fatal for that log. */
export class LogFailedError extends MarsError {
    constructor(message, options) {
        super("LOG_FAILED", message, options);
    }
}
/** A log record or file failed validation in a way that is not a torn tail. */
export class LogCorruptError extends MarsError {
    constructor(message, options) {
        super("LOG_CORRUPT", message, options);
    }
}
/** An IO request addresses bytes outside the volume. */
export class OutOfRangeError extends MarsError {
    constructor(message) {
        super("OUT_OF_RANGE", message);
    }
}
/** The object is shutting down or stopped and accepts no new work. */
export class ClosedError extends MarsError {
    constructor(message) {
        super("CLOSED", message);
    }
}
export function errorMessage(err) {
    return err instanceof Error ? err.message : String(err);
}
/** Node's system errors carry an errno name in `code`. */
export function isErrno(err, code) {
    return typeof err === "object" && err !== null && err.code === code;
}
/** A system call failed (an errno code: EIO, ENOSPC...); a MarsError is about something else. */
export function isIoFailure(err) {
    return !(err instanceof MarsError) && typeof err?.code === "string";
}
/**
 * Errors an operator can cause and fix (unknown resource, conflicting
 * parameters, unusable disk...). The RPC layer maps each code to a stable
 * JSON-RPC error number listed in api/openrpc.json.
 */
export class OperatorError extends MarsError {
    details;
    constructor(code, message, details, options) {
        super(code, message, options);
        this.details = details;
    }
}
/** An invariant broke: a bug, not a condition anyone can fix. Answered as -32603 with a correlation id. */
export class InternalError extends MarsError {
    constructor(message, options) {
        super("INTERNAL", message, options);
    }
}
/** A component was used before it was started (or after it failed to start). */
export class NotStartedError extends MarsError {
    constructor(message) {
        super("NOT_STARTED", message);
    }
}
/** A file marsd keeps (state, identity, tokens, floors, layout) is missing, unreadable or malformed. */
export class MalformedFileError extends MarsError {
    constructor(message, options) {
        super("FILE_MALFORMED", message, options);
    }
}
/** A network address that is not host:port. */
export class AddressError extends MarsError {
    constructor(message) {
        super("ADDRESS_INVALID", message);
    }
}
//# sourceMappingURL=errors.js.map
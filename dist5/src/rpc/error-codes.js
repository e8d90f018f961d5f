/**
 * JSON-RPC error numbers. -32xxx are the spec's; application errors use
 * 1001+ (listed in api/openrpc.json components.errors) so they never clash
 * with the reserved range.
 *
 * ERROR_RPC_CODES is the one table from the error catalogue
 * (src/util/errors.ts ERROR_CODES) to JSON-RPC numbers. It is a
 * Record over every kind, so a new kind does not build until it has a
 * number here. Numbers are stable: clients match on them
 * (test/unit/rpc/error-codes.test.ts holds a copy so a renumbering fails).
 * Only INTERNAL (a bug) answers -32603.
 */
import { OPERATOR_ERROR_KINDS } from "../util/errors.js";
export const RpcCode = {
    ParseError: -32700,
    InvalidRequest: -32600,
    MethodNotFound: -32601,
    InvalidParams: -32602,
    InternalError: -32603,
    Unauthorized: -32001,
};
export const ERROR_RPC_CODES = {
    // Resources (1001-1009)
    RESOURCE_NOT_FOUND: 1001,
    RESOURCE_CONFLICT: 1002,
    DISK_INVALID: 1003,
    DISK_IN_USE: 1004,
    RESOURCE_FAILED: 1005,
    SHUTTING_DOWN: 1006,
    FRONTEND_UNAVAILABLE: 1007,
    DISK_REPLACED: 1008,
    SHRINK_REFUSED: 1009,
    // Cluster membership and peers (1010-1019)
    CLUSTER_CONFLICT: 1010,
    PEER_UNREACHABLE: 1011,
    NOT_IN_CLUSTER: 1012,
    TRANSPORT_FAILED: 1013,
    PEER_CALL_FAILED: 1014,
    PEER_REQUEST_REFUSED: 1015,
    PEER_PROTOCOL: 1016,
    STATE_WRITE_REFUSED: 1017,
    JOURNAL_FAILED: 1018,
    // Roles and replication (1020-1029)
    NOT_PRIMARY: 1020,
    NOT_CONSISTENT: 1021,
    SPLIT_BRAIN: 1022,
    PRIMARY_UNREACHABLE: 1023,
    WAIT_TIMEOUT: 1024,
    REPLICATION_PAUSED: 1025,
    REPLAY_BLOCKED: 1026,
    RECORD_INVALID: 1027,
    FRAME_INVALID: 1028,
    // Volume and log IO (1030-1039)
    CLOSED: 1030,
    READ_ONLY: 1031,
    VOLUME_FAILED: 1032,
    OUT_OF_RANGE: 1033,
    LOG_FAILED: 1034,
    LOG_CORRUPT: 1035,
    DIRTY_MAP_FAILED: 1036,
    // Frontends (1040-1049)
    NBD_PROTOCOL: 1040,
    UBLK_FAILED: 1041,
    // Daemon, configuration and files (1050-1059)
    CONFIG_INVALID: 1050,
    CRON_SYNTAX: 1051,
    ADDRESS_INVALID: 1052,
    FILE_MALFORMED: 1053,
    DATA_DIR_IN_USE: 1054,
    NOT_STARTED: 1055,
    RPC_TIMEOUT: 1056,
    // A bug: the details stay in the log under a correlation id.
    INTERNAL: RpcCode.InternalError,
};
/** The operator errors' part of ERROR_RPC_CODES. */
export const OPERATOR_ERROR_CODES = Object.fromEntries(OPERATOR_ERROR_KINDS.map((kind) => [kind, ERROR_RPC_CODES[kind]]));
//# sourceMappingURL=error-codes.js.map
/**
 * JSON-RPC error numbers. -32xxx are the spec's; application errors use
 * 1001+ (listed in api/openrpc.json components.errors) so they never clash
 * with the reserved range.
 */
import type { OperatorErrorCode } from "../util/errors.js";

export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32001,
} as const;

export const OPERATOR_ERROR_CODES: Record<OperatorErrorCode, number> = {
  RESOURCE_NOT_FOUND: 1001,
  RESOURCE_CONFLICT: 1002,
  DISK_INVALID: 1003,
  DISK_IN_USE: 1004,
  RESOURCE_FAILED: 1005,
  SHUTTING_DOWN: 1006,
  FRONTEND_UNAVAILABLE: 1007,
  CLUSTER_CONFLICT: 1010,
  PEER_UNREACHABLE: 1011,
  NOT_IN_CLUSTER: 1012,
  NOT_PRIMARY: 1020,
  NOT_CONSISTENT: 1021,
  SPLIT_BRAIN: 1022,
  PRIMARY_UNREACHABLE: 1023,
  WAIT_TIMEOUT: 1024,
  REPLICATION_PAUSED: 1025,
};

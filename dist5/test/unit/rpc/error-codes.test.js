/**
 * The error catalogue and its one JSON-RPC table: every kind has a number,
 * only INTERNAL answers -32603, numbers are unique, and they are the
 * numbers below. Clients (marsadm, the Ansible collection, scripts) match
 * on them, so a renumbering must fail here and be a deliberate change.
 * Every number is documented in api/openrpc.json components.errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PEER_ERROR_CODES, toPeerErrorCode } from "../../../src/peer/error-codes.js";
import { ERROR_RPC_CODES, OPERATOR_ERROR_CODES, RpcCode } from "../../../src/rpc/error-codes.js";
import { loadOpenRpcDocument } from "../../../src/rpc/openrpc.js";
import { ERROR_CODES, OPERATOR_ERROR_KINDS } from "../../../src/util/errors.js";
/** The published numbers. Change one only with a note in docs/api.md: clients depend on them. */
const PUBLISHED = {
    RESOURCE_NOT_FOUND: 1001,
    RESOURCE_CONFLICT: 1002,
    DISK_INVALID: 1003,
    DISK_IN_USE: 1004,
    RESOURCE_FAILED: 1005,
    SHUTTING_DOWN: 1006,
    FRONTEND_UNAVAILABLE: 1007,
    DISK_REPLACED: 1008,
    SHRINK_REFUSED: 1009,
    CLUSTER_CONFLICT: 1010,
    PEER_UNREACHABLE: 1011,
    NOT_IN_CLUSTER: 1012,
    TRANSPORT_FAILED: 1013,
    PEER_CALL_FAILED: 1014,
    PEER_REQUEST_REFUSED: 1015,
    PEER_PROTOCOL: 1016,
    STATE_WRITE_REFUSED: 1017,
    JOURNAL_FAILED: 1018,
    NOT_PRIMARY: 1020,
    NOT_CONSISTENT: 1021,
    SPLIT_BRAIN: 1022,
    PRIMARY_UNREACHABLE: 1023,
    WAIT_TIMEOUT: 1024,
    REPLICATION_PAUSED: 1025,
    REPLAY_BLOCKED: 1026,
    RECORD_INVALID: 1027,
    FRAME_INVALID: 1028,
    CLOSED: 1030,
    READ_ONLY: 1031,
    VOLUME_FAILED: 1032,
    OUT_OF_RANGE: 1033,
    LOG_FAILED: 1034,
    LOG_CORRUPT: 1035,
    DIRTY_MAP_FAILED: 1036,
    NBD_PROTOCOL: 1040,
    UBLK_FAILED: 1041,
    CONFIG_INVALID: 1050,
    CRON_SYNTAX: 1051,
    ADDRESS_INVALID: 1052,
    FILE_MALFORMED: 1053,
    DATA_DIR_IN_USE: 1054,
    NOT_STARTED: 1055,
    RPC_TIMEOUT: 1056,
    INTERNAL: -32603,
};
describe("the error catalogue's JSON-RPC numbers", () => {
    it("gives every kind its published number, and nothing else", () => {
        assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length, "no kind is listed twice");
        assert.deepEqual(Object.keys(ERROR_RPC_CODES).sort(), [...ERROR_CODES].sort());
        assert.deepEqual({ ...ERROR_RPC_CODES }, PUBLISHED);
    });
    it("answers -32603 only for INTERNAL; every other kind has its own application number", () => {
        const numbers = new Map();
        for (const kind of ERROR_CODES) {
            const n = ERROR_RPC_CODES[kind];
            if (kind === "INTERNAL") {
                assert.equal(n, RpcCode.InternalError);
                continue;
            }
            assert.ok(Number.isSafeInteger(n) && n > 1000, `${kind}: ${n} is an application number`);
            assert.ok(!numbers.has(n), `${kind} and ${numbers.get(n)} share ${n}`);
            numbers.set(n, kind);
        }
    });
    it("keeps the operator errors' numbers as a part of the one table", () => {
        assert.deepEqual(Object.keys(OPERATOR_ERROR_CODES).sort(), [...OPERATOR_ERROR_KINDS].sort());
        for (const kind of OPERATOR_ERROR_KINDS)
            assert.equal(OPERATOR_ERROR_CODES[kind], ERROR_RPC_CODES[kind]);
    });
    it("documents every application number in api/openrpc.json", () => {
        const documented = new Map(Object.entries(loadOpenRpcDocument().components.errors).map(([name, e]) => [e.code, name]));
        for (const kind of ERROR_CODES) {
            if (kind === "INTERNAL")
                continue;
            const name = documented.get(ERROR_RPC_CODES[kind]);
            assert.ok(name, `${kind} (${ERROR_RPC_CODES[kind]}) is in components.errors`);
            // The component is the kind in PascalCase: DISK_IN_USE -> DiskInUse.
            const pascal = kind
                .toLowerCase()
                .split("_")
                .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
                .join("");
            assert.equal(name, pascal, `${kind} is documented under its own name`);
        }
        assert.equal(documented.size, ERROR_CODES.length - 1, "no number is documented that the server cannot send");
    });
});
describe("peer error codes", () => {
    it("reads a known code as itself and anything else as 'error'", () => {
        for (const code of Object.keys(PEER_ERROR_CODES))
            assert.equal(toPeerErrorCode(code), code);
        for (const odd of ["teapot", "", 42, undefined, null, "toString", "__proto__"])
            assert.equal(toPeerErrorCode(odd), "error", String(odd));
    });
});
//# sourceMappingURL=error-codes.test.js.map
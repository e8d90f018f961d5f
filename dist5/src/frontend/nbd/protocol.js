/**
 * NBD protocol constants (fixed newstyle negotiation, simple replies).
 * Reference: NetworkBlockDevice/nbd doc/proto.md. All integers on the wire
 * are big-endian.
 */
export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const REQUEST_HEADER_BYTES = 28;
export const SIMPLE_REPLY_BYTES = 16;
/** Handshake flags (server). */
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;
/** Client flags. */
export const FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_C_NO_ZEROES = 1 << 1;
export const Opt = {
    EXPORT_NAME: 1,
    ABORT: 2,
    LIST: 3,
    STARTTLS: 5,
    INFO: 6,
    GO: 7,
    STRUCTURED_REPLY: 8,
    LIST_META_CONTEXT: 9,
    SET_META_CONTEXT: 10,
};
const ERR = 2 ** 31;
export const Rep = {
    ACK: 1,
    SERVER: 2,
    INFO: 3,
    ERR_UNSUP: ERR + 1,
    ERR_POLICY: ERR + 2,
    ERR_INVALID: ERR + 3,
    ERR_UNKNOWN: ERR + 6,
    ERR_SHUTDOWN: ERR + 7,
    ERR_TOO_BIG: ERR + 9,
};
export const Info = {
    EXPORT: 0,
    NAME: 1,
    DESCRIPTION: 2,
    BLOCK_SIZE: 3,
};
/** Transmission flags. */
export const TFlag = {
    HAS_FLAGS: 1 << 0,
    READ_ONLY: 1 << 1,
    SEND_FLUSH: 1 << 2,
    SEND_FUA: 1 << 3,
    ROTATIONAL: 1 << 4,
    SEND_TRIM: 1 << 5,
    SEND_WRITE_ZEROES: 1 << 6,
    SEND_DF: 1 << 7,
    CAN_MULTI_CONN: 1 << 8,
    SEND_RESIZE: 1 << 9,
    SEND_CACHE: 1 << 10,
    SEND_FAST_ZERO: 1 << 11,
};
export const Cmd = {
    READ: 0,
    WRITE: 1,
    DISC: 2,
    FLUSH: 3,
    TRIM: 4,
    CACHE: 5,
    WRITE_ZEROES: 6,
    BLOCK_STATUS: 7,
    RESIZE: 8,
};
export const CMD_NAMES = {
    0: "read",
    1: "write",
    2: "disc",
    3: "flush",
    4: "trim",
    5: "cache",
    6: "write_zeroes",
    7: "block_status",
    8: "resize",
};
/** Command flags. */
export const CmdFlag = {
    FUA: 1 << 0,
    NO_HOLE: 1 << 1,
    DF: 1 << 2,
    REQ_ONE: 1 << 3,
    FAST_ZERO: 1 << 4,
};
export const Errno = {
    OK: 0,
    EPERM: 1,
    EIO: 5,
    ENOMEM: 12,
    EINVAL: 22,
    ENOSPC: 28,
    EOVERFLOW: 75,
    ENOTSUP: 95,
    ESHUTDOWN: 108,
};
export const ERRNO_NAMES = {
    1: "EPERM",
    5: "EIO",
    12: "ENOMEM",
    22: "EINVAL",
    28: "ENOSPC",
    75: "EOVERFLOW",
    95: "ENOTSUP",
    108: "ESHUTDOWN",
};
/** Largest READ/WRITE payload we accept (and advertise as the maximum block size). */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** Longest option payload we read during negotiation (names are at most 4096 bytes). */
export const MAX_OPTION_BYTES = 64 * 1024;
//# sourceMappingURL=protocol.js.map
/**
 * The values of the ublk kernel ABI that decisions in TypeScript depend on
 * (include/uapi/linux/ublk_cmd.h). The native addon only moves them.
 */

/** Bytes per sector: the unit of every offset and length in a descriptor. */
export const SECTOR_BYTES = 512;

/** Operation in the low 8 bits of a descriptor's op_flags. */
export const UblkOp = {
  READ: 0,
  WRITE: 1,
  FLUSH: 2,
  DISCARD: 3,
  WRITE_SAME: 4,
  WRITE_ZEROES: 5,
} as const;

/** Request flags, at their bit positions within op_flags. */
export const UblkIoFlag = {
  FUA: 1 << 13,
  NOUNMAP: 1 << 15,
} as const;

/** Device feature flags (ADD_DEV dev_info.flags, GET_FEATURES). */
export const UblkFeature = {
  URING_CMD_COMP_IN_TASK: 1 << 1,
  /** The device survives its server and waits for a new one. */
  USER_RECOVERY: 1 << 3,
  /** ... and IO the dead server had taken is handed to the new one. */
  USER_RECOVERY_REISSUE: 1 << 4,
  CMD_IOCTL_ENCODE: 1 << 6,
  USER_RECOVERY_FAIL_IO: 1 << 9,
  /** Linux >= 6.16: UPDATE_SIZE changes a live device's size (resource.resize). */
  UPDATE_SIZE: 1 << 10,
} as const;

/** Device attributes (SET_PARAMS basic.attrs). */
export const UblkAttr = {
  READ_ONLY: 1 << 0,
  ROTATIONAL: 1 << 1,
  /** The device has a cache: the kernel sends FLUSH (and honours FUA below). */
  VOLATILE_CACHE: 1 << 2,
  FUA: 1 << 3,
} as const;

/** dev_info.state */
export const UblkState = {
  DEAD: 0,
  LIVE: 1,
  QUIESCED: 2,
  FAIL_IO: 3,
} as const;

export const UBLK_STATE_NAMES: Record<number, string> = {
  0: "dead",
  1: "live",
  2: "quiesced",
  3: "fail_io",
};

/** The kernel's hard limits. */
export const UBLK_MAX_QUEUE_DEPTH = 4096;
export const UBLK_MAX_IO_BYTES = 32 * 1024 * 1024;

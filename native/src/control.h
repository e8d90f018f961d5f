// ublk control commands: one io_uring command on /dev/ublk-control each.
// Blocking (START_DEV and END_USER_RECOVERY wait until every queue posted
// its fetches, STOP_DEV until in-flight IO is completed), so callers run
// them on a thread of their own, never on the JS thread.
#pragma once

#include <cstdint>

namespace marsd_ublk {

// Returns the kernel's result (>= 0) or -errno. `buf`/`len` is the
// command's in/out buffer (may be null/0); `data0` the inline argument.
int ControlCommand(uint32_t op, uint32_t devId, void* buf, uint16_t len, uint64_t data0);

}  // namespace marsd_ublk

// sd_notify(3)'s datagram, sent from this process (see notify.cc).
#pragma once

#include <string>

namespace marsd_ublk {

// Sends `message` to the notify socket at `socketPath`; 0 or -errno.
int SdNotify(const std::string& socketPath, const std::string& message);

}  // namespace marsd_ublk

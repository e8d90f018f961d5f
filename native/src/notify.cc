// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. Node has
// no AF_UNIX datagram sockets, and marsd's readiness must come from its own
// PID (systemd attributes a message by the sender's credentials; a helper
// process that exits first may not be attributed at all). The protocol is
// small and stable: a path (or '@' for the abstract namespace) and text.
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace marsd_ublk {

int SdNotify(const std::string& socketPath, const std::string& message) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (socketPath.empty() || socketPath.size() >= sizeof(addr.sun_path)) return -EINVAL;
  if (socketPath[0] != '/' && socketPath[0] != '@') return -EAFNOSUPPORT;  // e.g. vsock: not ours
  memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + socketPath.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  // MSG_DONTWAIT: this runs on the event loop; a service manager that does
  // not read must not stall the daemon (a dropped WATCHDOG=1 is the right
  // outcome then: the manager is the one that hangs).
  ssize_t n = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                     reinterpret_cast<struct sockaddr*>(&addr), len);
  int err = n < 0 ? errno : 0;
  close(fd);
  if (err != 0) return -err;
  if (static_cast<size_t>(n) != message.size()) return -EMSGSIZE;
  return 0;
}

}  // namespace marsd_ublk

#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <string.h>
#include <unistd.h>

#include "ublk_abi.h"

namespace marsd_ublk {

int ControlCommand(uint32_t op, uint32_t devId, void* buf, uint16_t len, uint64_t data0) {
  int fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  // The control command's payload (32 bytes at sqe->cmd) only fits into
  // the big 128-byte SQEs. A ring per command keeps this stateless; its
  // cost is nothing next to what the commands themselves do.
  struct io_uring ring;
  int rc = io_uring_queue_init(2, &ring, IORING_SETUP_SQE128);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) {  // a fresh ring always has room; kept for the compiler's sake
    io_uring_queue_exit(&ring);
    close(fd);
    return -EBUSY;
  }
  memset(sqe, 0, 2 * sizeof(*sqe));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = op;
  struct ublksrv_ctrl_cmd cmd;
  memset(&cmd, 0, sizeof(cmd));
  cmd.dev_id = devId;
  cmd.queue_id = static_cast<uint16_t>(-1);  // not a per-queue command
  cmd.addr = reinterpret_cast<uint64_t>(buf);
  cmd.len = len;
  cmd.data[0] = data0;
  memcpy(sqe->cmd, &cmd, sizeof(cmd));
  rc = io_uring_submit(&ring);
  if (rc >= 0) {
    struct io_uring_cqe* cqe = nullptr;
    do {
      rc = io_uring_wait_cqe(&ring, &cqe);
    } while (rc == -EINTR);
    if (rc == 0) {
      rc = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
    }
  }
  io_uring_queue_exit(&ring);
  close(fd);
  return rc;
}

}  // namespace marsd_ublk

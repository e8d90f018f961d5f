#include "queue.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

namespace marsd_ublk {

namespace {
// user_data of the eventfd read that wakes the thread; tags are < 4096.
constexpr uint64_t kWakeTag = ~0ULL;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

std::string Errno(const char* what, int err) { return std::string(what) + ": " + strerror(err); }
}  // namespace

Region::Region(size_t n) : bytes(n) {
  // Reserved, not committed: pages cost memory only once an IO touched them.
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  base = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

Region::~Region() {
  if (base) munmap(base, bytes);
}

Queue::Queue(int devId, int qid, int depth, uint32_t bufBytes, int charFd)
    : devId_(devId),
      qid_(qid),
      depth_(depth),
      bufBytes_(bufBytes),
      charFd_(charFd),
      region_(std::make_shared<Region>(static_cast<size_t>(depth) * bufBytes)),
      tags_(new std::atomic<uint8_t>[depth]) {
  for (int t = 0; t < depth; t++) tags_[t] = kDead;
  // Created here, on the JS thread, because Complete() and Stop() may run
  // before the queue thread got going.
  wakeFd_ = eventfd(0, EFD_CLOEXEC);
}

Queue::~Queue() {
  if (ringReady_) io_uring_queue_exit(&ring_);
  if (descs_) munmap(const_cast<ublksrv_io_desc*>(descs_), descsBytes_);
  if (wakeFd_ >= 0) close(wakeFd_);
}

bool Queue::Setup(std::string* error) {
  if (!region_->base) {
    *error = Errno("mmap of the data buffers", ENOMEM);
    return false;
  }
  if (wakeFd_ < 0) {
    *error = Errno("eventfd", EMFILE);
    return false;
  }
  // The kernel keeps each queue's descriptors at a fixed stride sized for
  // the largest possible depth; this queue maps exactly its own depth.
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  descsBytes_ = RoundUp(depth_ * sizeof(struct ublksrv_io_desc), page);
  off_t offset = UBLKSRV_CMD_BUF_OFFSET + static_cast<off_t>(qid_) * RoundUp(MARSD_UBLK_MAX_DESC_BYTES, page);
  void* d = mmap(nullptr, descsBytes_, PROT_READ, MAP_SHARED | MAP_POPULATE, charFd_, offset);
  if (d == MAP_FAILED) {
    *error = Errno("mmap of the descriptors", errno);
    return false;
  }
  descs_ = static_cast<const struct ublksrv_io_desc*>(d);

  // One SQE per tag plus the wake-up read is the most ever outstanding.
  struct io_uring_params params;
  memset(&params, 0, sizeof(params));
  params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  int rc = io_uring_queue_init_params(depth_ + 1, &ring_, &params);
  if (rc == -EINVAL) {  // kernels before 6.0 lack SINGLE_ISSUER
    memset(&params, 0, sizeof(params));
    rc = io_uring_queue_init_params(depth_ + 1, &ring_, &params);
  }
  if (rc < 0) {
    *error = Errno("io_uring_queue_init", -rc);
    return false;
  }
  ringReady_ = true;

  // START_DEV (or END_USER_RECOVERY) waits until every tag has a fetch.
  for (int t = 0; t < depth_; t++) {
    tags_[t] = kWithKernel;
    PrepIoCmd(UBLK_U_IO_FETCH_REQ, static_cast<uint16_t>(t), 0);
  }
  liveTags_ = depth_;
  ArmWake();
  rc = io_uring_submit(&ring_);
  if (rc < 0) {
    *error = Errno("submitting the fetch requests", -rc);
    return false;
  }
  return true;
}

struct io_uring_sqe* Queue::GetSqe() {
  // The ring has room for one SQE per tag plus the wake read, which is the
  // most that can ever be outstanding; flushing first is only a safeguard.
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) abort();  // broken invariant: better a crash than a lost IO
  return sqe;
}

void Queue::PrepIoCmd(uint32_t op, uint16_t tag, int32_t result) {
  struct io_uring_sqe* sqe = GetSqe();
  memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = charFd_;
  sqe->cmd_op = op;
  sqe->user_data = tag;
  auto* cmd = reinterpret_cast<struct ublksrv_io_cmd*>(sqe->cmd);
  cmd->q_id = static_cast<uint16_t>(qid_);
  cmd->tag = tag;
  cmd->result = result;
  cmd->addr = reinterpret_cast<uint64_t>(region_->base + static_cast<size_t>(tag) * bufBytes_);
}

void Queue::ArmWake() {
  struct io_uring_sqe* sqe = GetSqe();
  io_uring_prep_read(sqe, wakeFd_, &wakeValue_, sizeof(wakeValue_), 0);
  sqe->user_data = kWakeTag;
}

void Queue::TakeInbox(std::vector<Completion>* out) {
  out->clear();
  std::lock_guard<std::mutex> lock(mu_);
  out->swap(inbox_);
}

void Queue::Run(const EventSink& sink) {
  std::string error;
  if (!Setup(&error)) {
    sink(new QueueEvent{QueueEvent::kError, qid_, {}, error});
  } else {
    sink(new QueueEvent{QueueEvent::kReady, qid_, {}, {}});
    std::vector<Completion> work;
    for (;;) {
      int rc = io_uring_submit_and_wait(&ring_, 1);
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        sink(new QueueEvent{QueueEvent::kError, qid_, {}, Errno("io_uring_enter", -rc)});
        break;
      }
      auto* batch = new QueueEvent{QueueEvent::kIo, qid_, {}, {}};
      bool woken = false;
      unsigned head, seen = 0;
      struct io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        seen++;
        if (cqe->user_data == kWakeTag) {
          woken = true;
          continue;
        }
        auto tag = static_cast<uint16_t>(cqe->user_data);
        if (cqe->res == UBLK_IO_RES_OK) {
          const struct ublksrv_io_desc& d = descs_[tag];
          tags_[tag] = kWithJs;
          batch->ios.insert(batch->ios.end(), {static_cast<double>(tag), static_cast<double>(d.op_flags),
                                               static_cast<double>(d.nr_sectors),
                                               static_cast<double>(d.start_sector)});
        } else {
          // ABORT: the device is stopping (or its server is being replaced);
          // anything else means the kernel refused the command.
          tags_[tag] = kDead;
          liveTags_--;
          if (cqe->res != UBLK_IO_RES_ABORT) {
            sink(new QueueEvent{QueueEvent::kError, qid_, {},
                                "tag " + std::to_string(tag) + ": " + strerror(-cqe->res)});
          }
        }
      }
      io_uring_cq_advance(&ring_, seen);
      // Everything that completed in this round reaches JS as one batch.
      if (batch->ios.empty()) {
        delete batch;
      } else {
        sink(batch);
      }
      if (woken) ArmWake();
      TakeInbox(&work);
      for (const Completion& c : work) {
        tags_[c.tag] = kWithKernel;
        PrepIoCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, c.tag, c.result);
      }
      bool stop;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop = stopping_;
      }
      if (stop || (liveTags_ == 0 && work.empty())) break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    exited_ = true;
    inbox_.clear();
  }
  // Closing the ring here (not in the destructor) lets the caller close
  // /dev/ublkcN and delete the device right after joining this thread.
  if (ringReady_) {
    io_uring_queue_exit(&ring_);
    ringReady_ = false;
  }
  sink(new QueueEvent{QueueEvent::kExit, qid_, {}, {}});
}

std::string Queue::Complete(const Completion* completions, size_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  if (exited_) return {};  // the device is gone; nobody waits for these results
  for (size_t i = 0; i < count; i++) {
    uint16_t tag = completions[i].tag;
    uint8_t expected = kWithJs;
    if (tag >= depth_ || !tags_[tag].compare_exchange_strong(expected, kCommitting)) {
      for (size_t j = 0; j < i; j++) tags_[completions[j].tag] = kWithJs;
      return "queue " + std::to_string(qid_) + " tag " + std::to_string(tag) + " is not waiting for a result";
    }
  }
  bool wasEmpty = inbox_.empty();
  inbox_.insert(inbox_.end(), completions, completions + count);
  if (wasEmpty) {
    uint64_t one = 1;
    // Cannot fail short of a full counter (2^64 - 1 pending wake-ups).
    (void)!write(wakeFd_, &one, sizeof(one));
  }
  return {};
}

void Queue::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  if (!exited_ && wakeFd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wakeFd_, &one, sizeof(one));
  }
}

}  // namespace marsd_ublk

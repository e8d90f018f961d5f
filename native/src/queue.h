// One ublk hardware queue: its own io_uring, served by its own native
// thread (the kernel insists that FETCH_REQ and every COMMIT_AND_FETCH_REQ
// of a queue come from the same task), its mmapped descriptor array and
// one data buffer per tag at a fixed address.
//
// The thread turns completed fetches into descriptor batches for JS and
// turns the results JS hands back into COMMIT_AND_FETCH_REQs. It makes no
// decisions about the IO itself.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ublk_abi.h"

namespace marsd_ublk {

// An anonymous mapping holding the data buffers of one queue. Shared by
// the queue thread and every JS ArrayBuffer over it; unmapped by the last.
struct Region {
  Region(size_t bytes);
  ~Region();
  uint8_t* base = nullptr;
  size_t bytes = 0;
};

// What the queue thread reports; delivered to JS in order.
struct QueueEvent {
  enum Kind { kIo = 0, kReady = 1, kError = 2, kExit = 3 } kind;
  int qid;
  // kIo: 4 numbers per IO: tag, op_flags, nr_sectors, start_sector.
  std::vector<double> ios;
  std::string message;  // kError
};

using EventSink = std::function<void(QueueEvent*)>;

struct Completion {
  uint16_t tag;
  int32_t result;
};

class Queue {
 public:
  Queue(int devId, int qid, int depth, uint32_t bufBytes, int charFd);
  ~Queue();

  // The thread body; reports through `sink` and returns when every tag was
  // aborted by the kernel (device stopped) or Stop() was called.
  void Run(const EventSink& sink);

  // Called from the JS thread: queues results for the thread and wakes it.
  // Returns an error text (nothing queued) if a tag is not with JS.
  std::string Complete(const Completion* completions, size_t count);

  void Stop();
  std::shared_ptr<Region> buffers() const { return region_; }

 private:
  enum TagState : uint8_t { kWithKernel, kWithJs, kCommitting, kDead };
  bool Setup(std::string* error);
  struct io_uring_sqe* GetSqe();
  void PrepIoCmd(uint32_t op, uint16_t tag, int32_t result);
  void ArmWake();
  void TakeInbox(std::vector<Completion>* out);

  const int devId_, qid_, depth_;
  const uint32_t bufBytes_;
  const int charFd_;
  std::shared_ptr<Region> region_;
  struct io_uring ring_;
  bool ringReady_ = false;
  const struct ublksrv_io_desc* descs_ = nullptr;
  size_t descsBytes_ = 0;
  int wakeFd_ = -1;
  uint64_t wakeValue_ = 0;
  std::unique_ptr<std::atomic<uint8_t>[]> tags_;
  int liveTags_ = 0;

  std::mutex mu_;
  std::vector<Completion> inbox_;
  bool stopping_ = false;
  bool exited_ = false;
};

}  // namespace marsd_ublk

// marsd_ublk: the kernel plumbing of marsd's ublk frontend and nothing
// else. Control commands become promises (each runs on a thread of its own
// because several of them block until IO has been served); each hardware
// queue runs on its own native thread (queue.cc). Which device, which
// flags, what an IO means and what to answer are decided in TypeScript
// (src/frontend/ublk/).
#include <napi.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control.h"
#include "notify.h"
#include "queue.h"

namespace marsd_ublk {
namespace {

constexpr int kMaxDevId = (1 << 20) - 1;
constexpr uint32_t kMaxIoBytes = 32u << 20;  // the kernel's per-IO buffer limit

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

// Reads an integer argument in [min, max]; throws a RangeError otherwise.
int64_t IntArg(const Napi::Value& v, const char* name, int64_t min, int64_t max) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(env, std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                                         std::to_string(max) + "]");
  }
  return static_cast<int64_t>(d);
}

int64_t IntField(const Napi::Object& o, const char* name, int64_t min, int64_t max) {
  return IntArg(o.Get(name), name, min, max);
}

// What a control command hands back to the JS thread.
struct ControlResult {
  int rc = 0;
  struct ublksrv_ctrl_dev_info info;
  struct ublk_params params;
  uint64_t features = 0;
};

using ControlFn = std::function<void(ControlResult*)>;
using ToJs = std::function<Napi::Value(Napi::Env, const ControlResult&)>;

Napi::Value InfoToJs(Napi::Env env, const ControlResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("devId", r.info.dev_id);
  o.Set("queues", r.info.nr_hw_queues);
  o.Set("depth", r.info.queue_depth);
  o.Set("state", r.info.state);
  o.Set("maxIoBytes", r.info.max_io_buf_bytes);
  o.Set("pid", r.info.ublksrv_pid);
  o.Set("flags", static_cast<double>(r.info.flags));
  // ublksrv_flags is the server's own field: the kernel stores it at
  // ADD_DEV and returns it untouched, so it identifies who created a device.
  o.Set("ownerTag", static_cast<double>(r.info.ublksrv_flags));
  return o;
}

Napi::Value Undefined(Napi::Env env, const ControlResult&) { return env.Undefined(); }

// Runs `fn` on a new thread and settles the returned promise on the JS thread.
Napi::Value RunControl(Napi::Env env, const std::string& name, ControlFn fn, ToJs toJs) {
  auto deferred = Napi::Promise::Deferred::New(env);
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function(), name, 0, 1);
  std::thread([tsfn, deferred, name, fn, toJs]() mutable {
    auto* result = new ControlResult();
    memset(&result->info, 0, sizeof(result->info));
    memset(&result->params, 0, sizeof(result->params));
    fn(result);
    tsfn.BlockingCall(result, [deferred, name, toJs](Napi::Env env, Napi::Function, ControlResult* r) {
      std::unique_ptr<ControlResult> owned(r);
      if (r->rc < 0) {
        deferred.Reject(ErrnoError(env, name, -r->rc).Value());
      } else {
        deferred.Resolve(toJs(env, *r));
      }
    });
    tsfn.Release();
  }).detach();
  return deferred.Promise();
}

Napi::Value GetFeatures(const Napi::CallbackInfo& info) {
  return RunControl(
      info.Env(), "GET_FEATURES",
      [](ControlResult* r) { r->rc = ControlCommand(UBLK_U_CMD_GET_FEATURES, 0, &r->features, sizeof(r->features), 0); },
      [](Napi::Env env, const ControlResult& r) { return Napi::Number::New(env, static_cast<double>(r.features)); });
}

Napi::Value AddDevice(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  int64_t devId = IntField(o, "devId", -1, kMaxDevId);
  auto queues = static_cast<uint16_t>(IntField(o, "queues", 1, MARSD_UBLK_MAX_QUEUES));
  auto depth = static_cast<uint16_t>(IntField(o, "depth", 1, UBLK_MAX_QUEUE_DEPTH));
  auto maxIo = static_cast<uint32_t>(IntField(o, "maxIoBytes", 4096, kMaxIoBytes));
  // 2^53: the flags travel as a JS number; every defined bit is far below.
  auto flags = static_cast<uint64_t>(IntField(o, "flags", 0, (1LL << 53) - 1));
  auto ownerTag = static_cast<uint64_t>(IntField(o, "ownerTag", 0, (1LL << 53) - 1));
  return RunControl(
      info.Env(), "ADD_DEV",
      [=](ControlResult* r) {
        r->info.nr_hw_queues = queues;
        r->info.queue_depth = depth;
        r->info.max_io_buf_bytes = maxIo;
        r->info.dev_id = static_cast<uint32_t>(devId);
        r->info.ublksrv_pid = getpid();
        r->info.flags = flags;
        r->info.ublksrv_flags = ownerTag;
        r->rc = ControlCommand(UBLK_U_CMD_ADD_DEV, static_cast<uint32_t>(devId), &r->info, sizeof(r->info), 0);
      },
      InfoToJs);
}

Napi::Value GetDeviceInfo(const Napi::CallbackInfo& info) {
  auto devId = static_cast<uint32_t>(IntArg(info[0], "devId", 0, kMaxDevId));
  return RunControl(
      info.Env(), "GET_DEV_INFO",
      [=](ControlResult* r) { r->rc = ControlCommand(UBLK_U_CMD_GET_DEV_INFO, devId, &r->info, sizeof(r->info), 0); },
      InfoToJs);
}

Napi::Value SetParams(const Napi::CallbackInfo& info) {
  auto devId = static_cast<uint32_t>(IntArg(info[0], "devId", 0, kMaxDevId));
  Napi::Object o = info[1].As<Napi::Object>();
  struct ublk_params p;
  memset(&p, 0, sizeof(p));
  p.len = sizeof(p);
  p.types = UBLK_PARAM_TYPE_BASIC;
  p.basic.attrs = static_cast<uint32_t>(IntField(o, "attrs", 0, 0xffffffffLL));
  p.basic.logical_bs_shift = static_cast<uint8_t>(IntField(o, "logicalBsShift", 9, 12));
  p.basic.physical_bs_shift = static_cast<uint8_t>(IntField(o, "physicalBsShift", 9, 21));
  p.basic.io_min_shift = static_cast<uint8_t>(IntField(o, "ioMinShift", 9, 21));
  p.basic.io_opt_shift = static_cast<uint8_t>(IntField(o, "ioOptShift", 9, 25));
  p.basic.max_sectors = static_cast<uint32_t>(IntField(o, "maxSectors", 8, kMaxIoBytes >> 9));
  p.basic.dev_sectors = static_cast<uint64_t>(IntField(o, "devSectors", 1, (1LL << 53) - 1));
  uint32_t maxDiscard = static_cast<uint32_t>(IntField(o, "maxDiscardSectors", 0, 0xffffffffLL));
  uint32_t maxZeroes = static_cast<uint32_t>(IntField(o, "maxWriteZeroesSectors", 0, 0xffffffffLL));
  if (maxDiscard > 0 || maxZeroes > 0) {
    p.types |= UBLK_PARAM_TYPE_DISCARD;
    p.discard.discard_granularity = static_cast<uint32_t>(IntField(o, "discardGranularity", 512, 1LL << 30));
    p.discard.max_discard_sectors = maxDiscard;
    p.discard.max_write_zeroes_sectors = maxZeroes;
    p.discard.max_discard_segments = 1;
  }
  return RunControl(
      info.Env(), "SET_PARAMS",
      [=](ControlResult* r) {
        r->params = p;
        r->rc = ControlCommand(UBLK_U_CMD_SET_PARAMS, devId, &r->params, sizeof(r->params), 0);
      },
      Undefined);
}

Napi::Value GetParams(const Napi::CallbackInfo& info) {
  auto devId = static_cast<uint32_t>(IntArg(info[0], "devId", 0, kMaxDevId));
  return RunControl(
      info.Env(), "GET_PARAMS",
      [=](ControlResult* r) {
        r->params.len = sizeof(r->params);
        r->params.types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
        r->rc = ControlCommand(UBLK_U_CMD_GET_PARAMS, devId, &r->params, sizeof(r->params), 0);
      },
      [](Napi::Env env, const ControlResult& r) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("attrs", r.params.basic.attrs);
        o.Set("logicalBsShift", r.params.basic.logical_bs_shift);
        o.Set("physicalBsShift", r.params.basic.physical_bs_shift);
        o.Set("maxSectors", r.params.basic.max_sectors);
        o.Set("devSectors", static_cast<double>(r.params.basic.dev_sectors));
        o.Set("maxDiscardSectors", r.params.discard.max_discard_sectors);
        o.Set("maxWriteZeroesSectors", r.params.discard.max_write_zeroes_sectors);
        return o;
      });
}

// The commands that take only a device id and at most a pid.
Napi::Value SimpleCommand(const Napi::CallbackInfo& info, const char* name, uint32_t op, bool withPid) {
  auto devId = static_cast<uint32_t>(IntArg(info[0], "devId", 0, kMaxDevId));
  uint64_t pid = withPid ? static_cast<uint64_t>(getpid()) : 0;
  return RunControl(
      info.Env(), name, [=](ControlResult* r) { r->rc = ControlCommand(op, devId, nullptr, 0, pid); }, Undefined);
}

Napi::Value StartDevice(const Napi::CallbackInfo& info) {
  return SimpleCommand(info, "START_DEV", UBLK_U_CMD_START_DEV, true);
}
Napi::Value StopDevice(const Napi::CallbackInfo& info) {
  return SimpleCommand(info, "STOP_DEV", UBLK_U_CMD_STOP_DEV, false);
}
// deleteDevice(devId, async): DEL_DEV waits until nothing holds the device
// any more (a filesystem still mounted on it would block it forever);
// DEL_DEV_ASYNC (Linux >= 6.9) returns at once and the kernel frees the
// device when its last user lets go.
Napi::Value DeleteDevice(const Napi::CallbackInfo& info) {
  bool async = info[1].ToBoolean();
  return async ? SimpleCommand(info, "DEL_DEV_ASYNC", UBLK_U_CMD_DEL_DEV_ASYNC, false)
               : SimpleCommand(info, "DEL_DEV", UBLK_U_CMD_DEL_DEV, false);
}
Napi::Value StartRecovery(const Napi::CallbackInfo& info) {
  return SimpleCommand(info, "START_USER_RECOVERY", UBLK_U_CMD_START_USER_RECOVERY, false);
}
Napi::Value EndRecovery(const Napi::CallbackInfo& info) {
  return SimpleCommand(info, "END_USER_RECOVERY", UBLK_U_CMD_END_USER_RECOVERY, true);
}

// updateSize(devId, devSectors): UPDATE_SIZE (Linux >= 6.16, only for a
// device added with UBLK_F_UPDATE_SIZE, which the caller checks). The
// kernel sets the disk's capacity and tells udev; it never waits for IO.
Napi::Value UpdateSize(const Napi::CallbackInfo& info) {
  auto devId = static_cast<uint32_t>(IntArg(info[0], "devId", 0, kMaxDevId));
  auto devSectors = static_cast<uint64_t>(IntArg(info[1], "devSectors", 1, (1LL << 53) - 1));
  return RunControl(
      info.Env(), "UPDATE_SIZE",
      [=](ControlResult* r) { r->rc = ControlCommand(UBLK_U_CMD_UPDATE_SIZE, devId, nullptr, 0, devSectors); },
      Undefined);
}

// sdNotify(socketPath, message): one sd_notify datagram, synchronous and
// non-blocking (notify.cc); throws an Error with errno on failure.
Napi::Value SdNotifyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "sdNotify(socketPath: string, message: string)");
  int rc = SdNotify(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
  if (rc < 0) throw ErrnoError(env, "sd_notify", -rc);
  return env.Undefined();
}

// The queues of one device: new Queues(devId, queues, depth, bufBytes, onEvent).
// onEvent(qid, kind, ios: Float64Array | undefined, message: string | undefined)
// with kind 0 = IO batch, 1 = ready (all fetches posted), 2 = error, 3 = exited.
class Queues : public Napi::ObjectWrap<Queues> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Queues",
                       {InstanceMethod("start", &Queues::Start), InstanceMethod("complete", &Queues::Complete),
                        InstanceMethod("close", &Queues::Close)});
  }

  explicit Queues(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queues>(info) {
    devId_ = static_cast<int>(IntArg(info[0], "devId", 0, kMaxDevId));
    nrQueues_ = static_cast<int>(IntArg(info[1], "queues", 1, MARSD_UBLK_MAX_QUEUES));
    depth_ = static_cast<int>(IntArg(info[2], "depth", 1, UBLK_MAX_QUEUE_DEPTH));
    bufBytes_ = static_cast<uint32_t>(IntArg(info[3], "bufBytes", 4096, kMaxIoBytes));
    if (!info[4].IsFunction()) throw Napi::TypeError::New(info.Env(), "onEvent must be a function");
    onEvent_ = Napi::Persistent(info[4].As<Napi::Function>());
  }

  ~Queues() override {
    // Normally close() ran. If not, stop the threads; they own what they use.
    for (auto& q : queues_) q->Stop();
    for (auto& t : threads_) t.detach();
  }

 private:
  // Opens /dev/ublkcN, starts one thread per queue and returns the data
  // buffers (one ArrayBuffer per queue, depth * bufBytes, tag t at t * bufBytes).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (started_) throw Napi::Error::New(env, "queues already started");
    std::string path = "/dev/ublkc" + std::to_string(devId_);
    charFd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (charFd_ < 0) throw ErrnoError(env, "open " + path, errno);
    started_ = true;
    Napi::Array buffers = Napi::Array::New(env, nrQueues_);
    for (int q = 0; q < nrQueues_; q++) {
      auto queue = std::make_shared<Queue>(devId_, q, depth_, bufBytes_, charFd_);
      auto region = queue->buffers();
      if (!region->base) throw ErrnoError(env, "mmap of the data buffers", ENOMEM);
      // The ArrayBuffer keeps the mapping alive for as long as JS holds it.
      auto* hold = new std::shared_ptr<Region>(region);
      buffers[q] = Napi::ArrayBuffer::New(
          env, region->base, region->bytes, [](Napi::Env, void*, std::shared_ptr<Region>* h) { delete h; }, hold);
      queues_.push_back(queue);
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, onEvent_.Value(), "ublk-queue", 0, nrQueues_);
    // Referenced: a device being served keeps the process alive, as a
    // listening socket would. The threads release it when they end.
    for (int q = 0; q < nrQueues_; q++) {
      std::shared_ptr<Queue> queue = queues_[q];
      Napi::ThreadSafeFunction tsfn = tsfn_;
      threads_.emplace_back([queue, tsfn]() mutable {
        queue->Run([&tsfn](QueueEvent* ev) {
          napi_status s = tsfn.NonBlockingCall(ev, Deliver);
          if (s != napi_ok) delete ev;  // only when the environment is going away
        });
        tsfn.Release();
      });
    }
    return buffers;
  }

  static void Deliver(Napi::Env env, Napi::Function onEvent, QueueEvent* ev) {
    std::unique_ptr<QueueEvent> owned(ev);
    if (env == nullptr || onEvent.IsEmpty()) return;
    Napi::Value ios = env.Undefined();
    if (!ev->ios.empty()) {
      auto ab = Napi::ArrayBuffer::New(env, ev->ios.size() * sizeof(double));
      memcpy(ab.Data(), ev->ios.data(), ev->ios.size() * sizeof(double));
      ios = Napi::Float64Array::New(env, ev->ios.size(), ab, 0);
    }
    Napi::Value message = ev->message.empty() ? env.Undefined() : Napi::String::New(env, ev->message);
    try {
      onEvent.Call({Napi::Number::New(env, ev->qid), Napi::Number::New(env, ev->kind), ios, message});
    } catch (const Napi::Error& e) {
      // A throwing handler is a bug in JS: surface it there (uncaught
      // exception) instead of letting it escape this native callback.
      e.ThrowAsJavaScriptException();
    }
  }

  // complete(qid, results: Int32Array of [tag, result] pairs)
  Napi::Value Complete(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int qid = static_cast<int>(IntArg(info[0], "qid", 0, nrQueues_ - 1));
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "results must be an Int32Array of tag, result pairs");
    }
    Napi::Int32Array pairs = info[1].As<Napi::Int32Array>();
    if (pairs.ElementLength() % 2 != 0) throw Napi::RangeError::New(env, "results must hold tag, result pairs");
    if (!started_ || static_cast<size_t>(qid) >= queues_.size()) throw Napi::Error::New(env, "queues not started");
    std::vector<Completion> completions(pairs.ElementLength() / 2);
    for (size_t i = 0; i < completions.size(); i++) {
      int32_t tag = pairs[2 * i];
      if (tag < 0 || tag >= depth_) throw Napi::RangeError::New(env, "tag out of range: " + std::to_string(tag));
      completions[i] = Completion{static_cast<uint16_t>(tag), pairs[2 * i + 1]};
    }
    std::string error = queues_[qid]->Complete(completions.data(), completions.size());
    if (!error.empty()) throw Napi::Error::New(env, error);
    return env.Undefined();
  }

  // Stops the threads (normally they already ended after STOP_DEV aborted
  // every fetch), joins them off the JS thread, then closes /dev/ublkcN.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto queues = queues_;
    auto threads = std::make_shared<std::vector<std::thread>>(std::move(threads_));
    threads_.clear();
    int fd = charFd_;
    charFd_ = -1;
    return RunControl(
        env, "close queues",
        [queues, threads, fd](ControlResult* r) {
          for (auto& q : queues) q->Stop();
          for (auto& t : *threads) t.join();
          if (fd >= 0) close(fd);
          r->rc = 0;
        },
        Undefined);
  }

  int devId_ = 0, nrQueues_ = 0, depth_ = 0;
  uint32_t bufBytes_ = 0;
  int charFd_ = -1;
  bool started_ = false;
  Napi::FunctionReference onEvent_;
  Napi::ThreadSafeFunction tsfn_;
  std::vector<std::shared_ptr<Queue>> queues_;
  std::vector<std::thread> threads_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("getFeatures", Napi::Function::New(env, GetFeatures));
  exports.Set("addDevice", Napi::Function::New(env, AddDevice));
  exports.Set("getDeviceInfo", Napi::Function::New(env, GetDeviceInfo));
  exports.Set("setParams", Napi::Function::New(env, SetParams));
  exports.Set("getParams", Napi::Function::New(env, GetParams));
  exports.Set("startDevice", Napi::Function::New(env, StartDevice));
  exports.Set("stopDevice", Napi::Function::New(env, StopDevice));
  exports.Set("deleteDevice", Napi::Function::New(env, DeleteDevice));
  exports.Set("startRecovery", Napi::Function::New(env, StartRecovery));
  exports.Set("endRecovery", Napi::Function::New(env, EndRecovery));
  exports.Set("updateSize", Napi::Function::New(env, UpdateSize));
  exports.Set("Queues", Queues::Define(env));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotifyJs));
  return exports;
}

}  // namespace
}  // namespace marsd_ublk

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return marsd_ublk::Init(env, exports); }

NODE_API_MODULE(marsd_ublk, InitModule)

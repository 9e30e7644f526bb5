#include "http_capture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <linux/types.h>

#include "event.h"
#include "http.skel.h"
#include "libbpf_log.h"

namespace beyla {

namespace {
// Each drained record is written as a u32 length, then the record, padded to 8 bytes.
constexpr size_t kRecordHeader = 4;
constexpr size_t kMaxRecord = sizeof(beyla_http_event);
constexpr size_t kSlot = (kRecordHeader + kMaxRecord + 7) & ~size_t(7);

std::string ErrnoText(int err) { return std::string(strerror(err < 0 ? -err : err)); }

// The verifier gives up with EAGAIN when a signal arrives while it works, and a busy
// verification outlasts libbpf's retries under a frequent signal (a profiler's SIGPROF).
// Signals to this thread wait until the load is over.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

uint32_t OptionU32(Napi::Object opts, const char* key, uint32_t fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

// A non-negative integer given as a number or a bigint; false when it is neither.
bool OptionU64(Napi::Object opts, const char* key, uint64_t* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsBigInt()) {
    bool lossless = false;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      return false;
    }
    *out = static_cast<uint64_t>(d);
    return true;
  }
  return false;
}

// The two sets of data hooks (http.bpf.c): a program belongs to one by its section name.
bool IsSocketHook(const char* section) { return strncmp(section, "raw_tp/sock_", 12) == 0; }
bool IsSyscallHook(const char* section) {
  return strncmp(section, "tracepoint/syscalls/", 20) == 0;
}

// Leaves the unused set out of the load, so the kernel neither verifies nor attaches it.
void ChooseHooks(bpf_object* obj, bool socket_hooks) {
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    const char* section = bpf_program__section_name(prog);
    if (socket_hooks ? IsSyscallHook(section) : IsSocketHook(section)) {
      bpf_program__set_autoload(prog, false);
    }
  }
}

Napi::Error ErrorWithCode(Napi::Env env, const std::string& message, int err,
                          const std::string& log) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, err < 0 ? -err : err));
  e.Set("verifierLog", Napi::String::New(env, log));
  return e;
}
}  // namespace

Napi::Function HttpCapture::Define(Napi::Env env) {
  return DefineClass(env, "HttpCapture",
                     {
                         InstanceMethod("load", &HttpCapture::Load),
                         InstanceMethod("attach", &HttpCapture::Attach),
                         InstanceMethod("addPid", &HttpCapture::AddPid),
                         InstanceMethod("removePid", &HttpCapture::RemovePid),
                         InstanceMethod("drain", &HttpCapture::Drain),
                         InstanceMethod("onWakeup", &HttpCapture::OnWakeup),
                         InstanceMethod("rearm", &HttpCapture::Rearm),
                         InstanceMethod("stats", &HttpCapture::Stats),
                         InstanceMethod("pidFilter", &HttpCapture::PidFilter),
                         InstanceMethod("close", &HttpCapture::Close),
                     });
}

// new HttpCapture({ ringBytes, maxConnections, wakeupBytes, hooks?, provisionalOnListen?,
// selfTgid?, pidNamespace? }): validated by the
// TS layer. pidNamespace = { dev, ino }: the nsfs device (kernel dev_t encoding) and inode of
// the PID namespace to report ids in; absent for the initial namespace (no translation).
HttpCapture::HttpCapture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HttpCapture>(info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  ring_bytes_ = OptionU32(opts, "ringBytes", 1u << 22);
  max_connections_ = OptionU32(opts, "maxConnections", 16384);
  wakeup_bytes_ = OptionU32(opts, "wakeupBytes", 1u << 13);
  Napi::Value hooks = opts.Get("hooks");
  if (hooks.IsString()) {
    std::string name = hooks.As<Napi::String>().Utf8Value();
    if (name != "sockets" && name != "syscalls") {
      Napi::TypeError::New(env, "hooks must be \"sockets\" or \"syscalls\", got \"" + name + "\"")
          .ThrowAsJavaScriptException();
      return;
    }
    socket_hooks_ = name == "sockets";
  }
  provisional_on_listen_ = opts.Get("provisionalOnListen").ToBoolean().Value();
  self_tgid_ = OptionU32(opts, "selfTgid", 0);
  Napi::Value ns = opts.Get("pidNamespace");
  if (ns.IsObject()) {
    Napi::Object o = ns.As<Napi::Object>();
    // the helper rejects a device that does not fit the kernel's 32-bit dev_t
    if (!OptionU64(o, "dev", &pidns_dev_) || !OptionU64(o, "ino", &pidns_ino_) ||
        pidns_dev_ > UINT32_MAX || pidns_ino_ == 0) {
      Napi::TypeError::New(env, "pidNamespace needs { dev, ino }: a 32-bit dev_t and an inode")
          .ThrowAsJavaScriptException();
      return;
    }
    pidns_translate_ = true;
  }
}

HttpCapture::~HttpCapture() { Release(); }

bool HttpCapture::CheckOpen(Napi::Env env, bool need_loaded) {
  if (closed_) {
    Napi::Error::New(env, "HttpCapture is closed").ThrowAsJavaScriptException();
    return false;
  }
  if (need_loaded && skel_ == nullptr) {
    Napi::Error::New(env, "HttpCapture is not loaded: call load() first").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value HttpCapture::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, false)) return env.Undefined();
  if (skel_ != nullptr) return env.Undefined();
  LibbpfLogCapture log;
  http_bpf* skel = http_bpf__open();
  if (skel == nullptr) {
    int err = errno;
    ErrorWithCode(env, "open BPF object: " + ErrnoText(err), err, log.Tail(8192))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  skel->rodata->wakeup_bytes = wakeup_bytes_;
  skel->rodata->pidns_translate = pidns_translate_ ? 1 : 0;
  skel->rodata->provisional_on_listen = provisional_on_listen_ ? 1 : 0;
  skel->rodata->self_tgid = self_tgid_;
  skel->rodata->pidns_dev = pidns_dev_;
  skel->rodata->pidns_ino = pidns_ino_;
  bpf_map__set_max_entries(skel->maps.events, ring_bytes_);
  bpf_map__set_max_entries(skel->maps.conns, max_connections_);
  ChooseHooks(skel->obj, socket_hooks_);
  int err;
  {
    SignalsBlocked quiet;
    err = http_bpf__load(skel);
  }
  if (err != 0) {
    http_bpf__destroy(skel);
    ErrorWithCode(env, "load BPF programs: " + ErrnoText(err), err, log.Tail(16384))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ring_ = ring_buffer__new(bpf_map__fd(skel->maps.events), &HttpCapture::CopyRecord, this, nullptr);
  if (ring_ == nullptr) {
    err = errno;
    http_bpf__destroy(skel);
    ErrorWithCode(env, "open ring buffer: " + ErrnoText(err), err, log.Tail(4096))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  skel_ = skel;
  return env.Undefined();
}

// attach(): attaches every program; returns [{ program, error?, errno? }] so the caller can
// tell exactly which hook the kernel refused.
Napi::Value HttpCapture::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, true)) return env.Undefined();
  Napi::Array results = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (!bpf_program__autoload(prog)) continue;  // the other set of hooks
    Napi::Object r = Napi::Object::New(env);
    r.Set("program", bpf_program__name(prog));
    r.Set("section", bpf_program__section_name(prog));
    LibbpfLogCapture log;
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      int err = errno;
      r.Set("error", ErrnoText(err) + (log.Tail(512).empty() ? "" : ": " + log.Tail(512)));
      r.Set("errno", err);
    } else {
      // The skeleton owns links it created itself; track ours through the program's slot.
      for (int p = 0; p < skel_->skeleton->prog_cnt; p++) {
        if (*skel_->skeleton->progs[p].prog == prog) {
          *skel_->skeleton->progs[p].link = link;
        }
      }
    }
    results.Set(i++, r);
  }
  return results;
}

// The PID filter is a bitmap in the programs' .bss, memory-mapped here: setting or clearing a
// bit is one atomic operation, concurrent with the kernel's own (provisional) selections.
bool HttpCapture::UpdatePidBit(Napi::Env env, const Napi::CallbackInfo& info, bool selected) {
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "pid must be a number").ThrowAsJavaScriptException();
    return false;
  }
  uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
  constexpr uint32_t kLimit = sizeof(skel_->bss->selected_bits) * 8;
  if (pid == 0 || pid >= kLimit) {
    Napi::RangeError::New(env, "pid " + std::to_string(pid) + " is outside 1.." +
                                   std::to_string(kLimit - 1))
        .ThrowAsJavaScriptException();
    return false;
  }
  __u64* word = &skel_->bss->selected_bits[pid / 64];
  __u64 bit = __u64(1) << (pid % 64);
  if (selected) {
    __atomic_fetch_or(word, bit, __ATOMIC_SEQ_CST);
  } else {
    __atomic_fetch_and(word, ~bit, __ATOMIC_SEQ_CST);
  }
  return true;
}

Napi::Value HttpCapture::AddPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (CheckOpen(env, true)) UpdatePidBit(env, info, true);
  return env.Undefined();
}

Napi::Value HttpCapture::RemovePid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (CheckOpen(env, true)) UpdatePidBit(env, info, false);
  return env.Undefined();
}

int HttpCapture::CopyRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<HttpCapture*>(ctx);
  assert(size <= kMaxRecord);
  assert(self->drain_len_ + kSlot <= self->drain_cap_);
  uint32_t len = static_cast<uint32_t>(size);
  memcpy(self->drain_dst_ + self->drain_len_, &len, kRecordHeader);
  memcpy(self->drain_dst_ + self->drain_len_ + kRecordHeader, data, size);
  self->drain_len_ += (kRecordHeader + size + 7) & ~size_t(7);
  return 0;
}

// drain(buffer: Uint8Array): copies as many waiting records as fit; returns bytes written.
// One call per batch: the N-API boundary is crossed once, whatever the number of records.
Napi::Value HttpCapture::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, true)) return env.Undefined();
  Napi::Uint8Array buffer = info[0].As<Napi::Uint8Array>();
  drain_dst_ = buffer.Data();
  drain_cap_ = buffer.ByteLength();
  drain_len_ = 0;
  size_t fits = drain_cap_ / kSlot;
  if (fits > 0) {
    int n = ring_buffer__consume_n(ring_, fits);
    if (n < 0) {
      ErrorWithCode(env, "drain ring buffer: " + ErrnoText(n), n, "").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  drain_dst_ = nullptr;
  return Napi::Number::New(env, static_cast<double>(drain_len_));
}

// onWakeup(callback): callback() runs when the kernel wakes the ring buffer (size threshold).
Napi::Value HttpCapture::OnWakeup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, true)) return env.Undefined();
  std::string error;
  if (!wakeup_.Start(env, bpf_map__fd(skel_->maps.events), info[0].As<Napi::Function>(), &error)) {
    Napi::Error::New(env, "ring buffer wakeup: " + error).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value HttpCapture::Rearm(const Napi::CallbackInfo& info) {
  wakeup_.Rearm();
  return info.Env().Undefined();
}

// stats(): the kernel counters summed over CPUs.
Napi::Value HttpCapture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, true)) return env.Undefined();
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
  static const char* const kNames[BEYLA_STAT_COUNT] = {"events", "ringbufDrops", "unanswered",
                                                       "connectionsFull"};
  Napi::Object out = Napi::Object::New(env);
  for (uint32_t key = 0; key < BEYLA_STAT_COUNT; key++) {
    uint64_t sum = 0;
    if (bpf_map__lookup_elem(skel_->maps.stats, &key, sizeof(key), values.data(),
                             values.size() * sizeof(uint64_t), 0) == 0) {
      for (uint64_t v : values) sum += v;
    }
    out.Set(kNames[key], Napi::Number::New(env, static_cast<double>(sum)));
  }
  return out;
}

// pidFilter(): which ids the PID filter and the records use. { mode: "initial" } (the kernel's
// ids as they are) or { mode: "namespace", dev, ino, level } where level is the namespace's
// nesting level once the programs have seen a task of it (null before).
Napi::Value HttpCapture::PidFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, true)) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  if (!skel_->rodata->pidns_translate) {
    out.Set("mode", "initial");
    return out;
  }
  out.Set("mode", "namespace");
  out.Set("dev", Napi::Number::New(env, static_cast<double>(skel_->rodata->pidns_dev)));
  out.Set("ino", Napi::Number::New(env, static_cast<double>(skel_->rodata->pidns_ino)));
  uint32_t level_plus1 = __atomic_load_n(&skel_->bss->pidns_level_plus1, __ATOMIC_RELAXED);
  out.Set("level", level_plus1 == 0 ? env.Null() : Napi::Number::New(env, level_plus1 - 1));
  return out;
}

void HttpCapture::Release() {
  wakeup_.Stop();
  if (ring_ != nullptr) {
    ring_buffer__free(ring_);
    ring_ = nullptr;
  }
  if (skel_ != nullptr) {
    http_bpf__destroy(skel_);
    skel_ = nullptr;
  }
}

Napi::Value HttpCapture::Close(const Napi::CallbackInfo& info) {
  Release();
  closed_ = true;
  return info.Env().Undefined();
}

}  // namespace beyla

// The HTTP capture programs of one agent: load, attach, PID filter (and the PID namespace its
// ids are in), batch drain, stats, close.
// All state lives in the instance; close() is safe to call twice and use after close throws.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "wakeup_thread.h"

struct http_bpf;
struct ring_buffer;

namespace beyla {

class HttpCapture : public Napi::ObjectWrap<HttpCapture> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit HttpCapture(const Napi::CallbackInfo& info);
  ~HttpCapture() override;

 private:
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value AddPid(const Napi::CallbackInfo& info);
  Napi::Value RemovePid(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value OnWakeup(const Napi::CallbackInfo& info);
  Napi::Value Rearm(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value PidFilter(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env, bool need_loaded);
  bool UpdatePidBit(Napi::Env env, const Napi::CallbackInfo& info, bool selected);
  void Release();

  static int CopyRecord(void* ctx, void* data, size_t size);

  http_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  WakeupThread wakeup_;
  bool closed_ = false;
  uint32_t ring_bytes_;
  uint32_t max_connections_;
  uint64_t wakeup_bytes_;
  // PID namespace to translate ids into; off when the agent is in the initial one.
  bool pidns_translate_ = false;
  uint64_t pidns_dev_ = 0;  // kernel dev_t encoding
  uint64_t pidns_ino_ = 0;
  // Which data hooks to load: the socket tracepoints, or the syscall tracepoints (older kernels).
  bool socket_hooks_ = true;
  bool provisional_on_listen_ = false;
  uint32_t self_tgid_ = 0;
  // The JS buffer being filled by the current Drain() call.
  uint8_t* drain_dst_ = nullptr;
  size_t drain_cap_ = 0;
  size_t drain_len_ = 0;
};

}  // namespace beyla

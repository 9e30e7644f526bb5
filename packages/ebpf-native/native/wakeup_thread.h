// Waits, on its own thread, for the kernel to wake the ring buffer, and tells JavaScript
// (through a thread-safe function) that records are waiting. JavaScript drains them itself.
#pragma once
#include <napi.h>

#include <atomic>
#include <thread>

namespace beyla {

class WakeupThread {
 public:
  WakeupThread() = default;
  ~WakeupThread() { Stop(); }
  // Starts watching `ring_fd`; `callback` runs on the JS thread, at most one call pending.
  bool Start(Napi::Env env, int ring_fd, Napi::Function callback, std::string* error);
  // Called from JS once it has drained, so the next wakeup may notify again.
  void Rearm() { pending_.store(false); }
  void Stop();

 private:
  void Run();

  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> pending_{false};
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace beyla

#include "wakeup_thread.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace beyla {

bool WakeupThread::Start(Napi::Env env, int ring_fd, Napi::Function callback, std::string* error) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || stop_fd_ < 0) {
    *error = std::string("epoll/eventfd: ") + strerror(errno);
    Stop();
    return false;
  }
  // Edge-triggered: one notification per kernel wakeup, not a spin while data waits.
  epoll_event ring_event{};
  ring_event.events = EPOLLIN | EPOLLET;
  ring_event.data.fd = ring_fd;
  epoll_event stop_event{};
  stop_event.events = EPOLLIN;
  stop_event.data.fd = stop_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ring_fd, &ring_event) != 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &stop_event) != 0) {
    *error = std::string("epoll_ctl: ") + strerror(errno);
    Stop();
    return false;
  }
  tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "beyla-ringbuf-wakeup", 1, 1);
  // The watcher must not keep the process alive on its own.
  tsfn_.Unref(env);
  thread_ = std::thread(&WakeupThread::Run, this);
  return true;
}

void WakeupThread::Run() {
  epoll_event events[2];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return;
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.fd == stop_fd_) {
        return;
      }
    }
    bool expected = false;
    if (pending_.compare_exchange_strong(expected, true)) {
      tsfn_.NonBlockingCall();
    }
  }
}

void WakeupThread::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t written = write(stop_fd_, &one, sizeof(one));
    (void)written;
    thread_.join();
    tsfn_.Release();
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  epoll_fd_ = stop_fd_ = -1;
}

}  // namespace beyla

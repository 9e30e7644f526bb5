#include "features.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace beyla {

namespace {
bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// A probe result: true, or the reason it failed (errno text) for the caller to explain.
Napi::Value ProbeResult(Napi::Env env, int rc) {
  if (rc == 1) return Napi::Boolean::New(env, true);
  if (rc == 0) return Napi::String::New(env, "not supported by this kernel");
  return Napi::String::New(env, std::string("probe failed: ") + strerror(-rc));
}

// libbpf's probes answer 0 ("not supported") for any refused load, a missing capability
// included; the errno of the refused bpf() call tells the two apart.
template <typename Probe>
Napi::Value ProbeWithErrno(Napi::Env env, Probe probe) {
  errno = 0;
  int rc = probe();
  int err = errno;
  // A helper probe answers 1 when the load was refused for another reason than the helper.
  if (rc >= 0 && err == EPERM) {
    return Napi::String::New(
        env, "permission denied (the bpf() call needs CAP_BPF and CAP_PERFMON, or root)");
  }
  return ProbeResult(env, rc);
}

std::string TracefsEvents() {
  for (const char* dir : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"}) {
    if (Exists(std::string(dir) + "/sock") || Exists(std::string(dir) + "/syscalls")) return dir;
  }
  return "";
}

// Why no tracefs was found: not mounted, or mounted where this process may not look.
std::string NoTracefsReason() {
  if (access("/sys/kernel/tracing/events", F_OK) != 0 && errno == EACCES) {
    return "tracefs at /sys/kernel/tracing is not readable: permission denied (needs root or "
           "CAP_DAC_READ_SEARCH)";
  }
  return "tracefs is not mounted at /sys/kernel/tracing";
}
}  // namespace

// probeFeatures(): { btf, tracefs, syscallTracepoints, socketTracepoints, tracepointPrograms,
//                    rawTracepointPrograms, ringBuffer, bpfLoop, uprobes } — true, or a string saying why not.
Napi::Value ProbeFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("btf", Exists("/sys/kernel/btf/vmlinux")
                     ? Napi::Value(Napi::Boolean::New(env, true))
                     : Napi::Value(Napi::String::New(env, "/sys/kernel/btf/vmlinux is missing")));
  std::string events = TracefsEvents();
  out.Set("tracefs", Napi::String::New(env, events.empty() ? NoTracefsReason() : events));
  bool syscalls = !events.empty() && Exists(events + "/syscalls/sys_enter_read/id") &&
                  Exists(events + "/sock/inet_sock_set_state/id");
  out.Set("syscallTracepoints",
          syscalls ? Napi::Value(Napi::Boolean::New(env, true))
                   : Napi::Value(Napi::String::New(env, "syscalls/sock tracepoints not found")));
  bool sockets = !events.empty() && Exists(events + "/sock/sock_send_length/id") &&
                 Exists(events + "/sock/sock_recv_length/id") &&
                 Exists(events + "/sock/inet_sock_set_state/id");
  out.Set("socketTracepoints",
          sockets ? Napi::Value(Napi::Boolean::New(env, true))
                  : Napi::Value(Napi::String::New(
                        env, "sock_send_length/sock_recv_length tracepoints not found (Linux 6.3+)")));
  out.Set("rawTracepointPrograms", ProbeWithErrno(env, [] {
            return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr);
          }));
  out.Set("tracepointPrograms", ProbeWithErrno(env, [] {
            return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, nullptr);
          }));
  out.Set("ringBuffer", ProbeWithErrno(env, [] {
            return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
          }));
  out.Set("bpfLoop", ProbeWithErrno(env, [] {
            return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, nullptr);
          }));
  out.Set("uprobes", Exists("/sys/bus/event_source/devices/uprobe/type")
                         ? Napi::Value(Napi::Boolean::New(env, true))
                         : Napi::Value(Napi::String::New(env, "no uprobe event source")));
  return out;
}

}  // namespace beyla

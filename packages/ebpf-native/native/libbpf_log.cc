#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>

namespace beyla {

namespace {
thread_local std::string* current_log = nullptr;

int PrintHook(enum libbpf_print_level level, const char* format, va_list args) {
  if (current_log == nullptr || level == LIBBPF_DEBUG) {
    return 0;
  }
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (n > 0) {
    current_log->append(line, static_cast<size_t>(n) < sizeof(line) ? n : sizeof(line) - 1);
  }
  return n;
}
}  // namespace

LibbpfLogCapture::LibbpfLogCapture() { current_log = &log_; }
LibbpfLogCapture::~LibbpfLogCapture() { current_log = nullptr; }

std::string LibbpfLogCapture::Tail(size_t max_bytes) const {
  return log_.size() <= max_bytes ? log_ : log_.substr(log_.size() - max_bytes);
}

void InstallLibbpfPrintHook() { libbpf_set_print(PrintHook); }

}  // namespace beyla

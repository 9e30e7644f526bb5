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
  // One call can carry a whole verifier log (tens of KiB): measure it first, keep all of it.
  va_list measure;
  va_copy(measure, args);
  int n = vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  if (n > 0) {
    size_t start = current_log->size();
    current_log->resize(start + static_cast<size_t>(n) + 1);
    vsnprintf(&(*current_log)[start], static_cast<size_t>(n) + 1, format, args);
    current_log->resize(start + static_cast<size_t>(n));
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

// Collects libbpf's messages (the verifier log among them) while one call runs, so an error
// can carry them. libbpf has a single process-wide print hook; the buffer it writes to is
// set per call, on the calling thread only.
#pragma once
#include <string>

namespace beyla {

class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  // The last `max_bytes` of what libbpf printed during this capture.
  std::string Tail(size_t max_bytes) const;

 private:
  std::string log_;
};

void InstallLibbpfPrintHook();

}  // namespace beyla

// The agent's PID check (packages/ebpf-native/bpf/common/pid_filter.h): one bit per thread
// group id in a global bitmap, all clear here, so every call is "not selected".
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PID_LIMIT (1 << 22)
__u64 selected_bits[PID_LIMIT / 64] = {};

static __always_inline int pid_check(void) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  return (selected_bits[(tgid / 64) & (PID_LIMIT / 64 - 1)] >> (tgid % 64)) & 1;
}

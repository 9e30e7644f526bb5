// The alternative design: one raw tracepoint on every syscall entry and exit (no per-syscall
// perf buffer), with the same PID check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u8);
} pids SEC(".maps");

static __always_inline int pid_check(void) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  return bpf_map_lookup_elem(&pids, &tgid) ? 1 : 0;
}

SEC("raw_tracepoint/sys_enter") int raw_enter(void *ctx) { return pid_check(); }
SEC("raw_tracepoint/sys_exit") int raw_exit(void *ctx) { return pid_check(); }

char LICENSE[] SEC("license") = "GPL";

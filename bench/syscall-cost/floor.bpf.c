// The least a syscall tracepoint program can do: the agent's PID check on an empty map.
// Same hooks for write as the agent (enter and exit), so the difference to the agent's cost
// is what the agent's own programs add for an unselected process.
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

SEC("tracepoint/syscalls/sys_enter_write") int enter_write(void *ctx) { return pid_check(); }
SEC("tracepoint/syscalls/sys_exit_write") int exit_write(void *ctx) { return pid_check(); }

char LICENSE[] SEC("license") = "GPL";

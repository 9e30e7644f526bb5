// The floor with one program per traced syscall instead of two: the PID check on
// sys_exit_write only. Its difference to floor.bpf.c is what dropping the entry hook of a
// syscall would save for every process, selected or not.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u8);
} pids SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_write") int exit_write(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  return bpf_map_lookup_elem(&pids, &tgid) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";

// The floor with one program per traced syscall instead of two: the PID check on
// sys_exit_write only. Its difference to floor.bpf.c is what dropping the entry hook of a
// syscall would save for every process, selected or not.
#include "pid_check.h"

SEC("tracepoint/syscalls/sys_exit_write") int exit_write(void *ctx) { return pid_check(); }

char LICENSE[] SEC("license") = "GPL";

// The least a syscall tracepoint program can do: the agent's PID check, nobody selected.
// Same hooks for write as the agent (enter and exit), so the difference to the agent's cost
// is what the agent's own programs add for an unselected process.
#include "pid_check.h"

SEC("tracepoint/syscalls/sys_enter_write") int enter_write(void *ctx) { return pid_check(); }
SEC("tracepoint/syscalls/sys_exit_write") int exit_write(void *ctx) { return pid_check(); }

char LICENSE[] SEC("license") = "GPL";

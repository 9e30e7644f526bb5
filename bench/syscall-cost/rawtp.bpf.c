// The alternative design: one raw tracepoint on every syscall entry and exit (no per-syscall
// perf buffer), with the same PID check.
#include "pid_check.h"

SEC("raw_tracepoint/sys_enter") int raw_enter(void *ctx) { return pid_check(); }
SEC("raw_tracepoint/sys_exit") int raw_exit(void *ctx) { return pid_check(); }

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The set of processes (thread group ids) the agent selected. Syscall tracepoints fire for
 * every thread on the host, so every handler starts with this single lookup.
 */
#ifndef BEYLA_PID_FILTER_H
#define BEYLA_PID_FILTER_H

#include "base.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BEYLA_MAX_PROCESSES);
  __type(key, __u32);
  __type(value, __u8);
} selected_pids SEC(".maps");

/* Returns the current pid_tgid when its process is selected, 0 otherwise. */
static __always_inline __u64 selected_pid_tgid(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  if (!bpf_map_lookup_elem(&selected_pids, &tgid)) {
    return 0;
  }
  return pid_tgid;
}

#endif

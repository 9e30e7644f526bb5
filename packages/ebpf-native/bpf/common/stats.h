/* SPDX-License-Identifier: Apache-2.0 */
/* Per-CPU counters the agent sums and exports (events, drops). */
#ifndef BEYLA_STATS_H
#define BEYLA_STATS_H

#include "base.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, BEYLA_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

static __always_inline void count_stat(__u32 index) {
  __u64 *value = bpf_map_lookup_elem(&stats, &index);
  if (value) {
    *value += 1;
  }
}

#endif

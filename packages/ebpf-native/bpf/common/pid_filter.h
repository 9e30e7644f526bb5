/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The set of processes (thread group ids) the agent selected. The hooks fire for every thread
 * on the host, so every data handler starts with this single check.
 *
 * PIDs are those of the agent's PID namespace (the one of the /proc it reads), so that they
 * match discovery. In the initial namespace that is bpf_get_current_pid_tgid() as it is (the
 * loader leaves pidns_translate at 0 and the verifier drops the rest). In another namespace (a
 * hostPID pod on a kind node, `unshare --pid --fork --mount-proc`) the loader sets
 * pidns_translate and the namespace's nsfs device and inode, and the current task's ids are
 * those it has in that namespace:
 *  - until the namespace's nesting level L is known, bpf_get_ns_current_pid_tgid() answers for
 *    tasks whose own namespace is the agent's; the first of them (normally the agent itself,
 *    at its first traced system call after attach) gives L, its struct pid's level;
 *  - from then on the ids are read from the task's struct pid: numbers[L] holds the task's id
 *    in the namespace at level L, which must be the agent's (inode check). This also covers
 *    tasks of namespaces nested inside the agent's (every container of a pod), for which the
 *    helper has no answer, and costs direct loads instead of a helper call;
 *  - a task outside the agent's namespace is not visible there and is not selected.
 * Events (pid, tid) and the per-thread maps use the translated ids.
 */
#ifndef BEYLA_PID_FILTER_H
#define BEYLA_PID_FILTER_H

#include "base.h"

/*
 * One bit per thread group id, up to the kernel's PID_MAX_LIMIT: set when the agent selected
 * the process, or provisionally by the listen hook (http.bpf.c). A global, so the check is two
 * loads instead of a hash lookup (the hooks run for every process's socket I/O), and the agent
 * sets and clears bits with atomic operations on the memory-mapped .bss.
 */
#define BEYLA_PID_LIMIT (1 << 22)
__u64 selected_bits[BEYLA_PID_LIMIT / 64] = {};

/*
 * The word of `tgid`. Ids never reach PID_MAX_LIMIT, so the mask changes nothing; it is there
 * for the verifier, which must see the index bounded (a range check would be folded away by the
 * compiler and not tracked by the verifier).
 */
static __always_inline __u32 pid_word(__u32 tgid) {
  return (tgid / 64) & (BEYLA_PID_LIMIT / 64 - 1);
}

static __always_inline int pid_is_selected(__u32 tgid) {
  return (selected_bits[pid_word(tgid)] >> (tgid % 64)) & 1;
}

static __always_inline void select_pid(__u32 tgid) {
  __sync_fetch_and_or(&selected_bits[pid_word(tgid)], 1ULL << (tgid % 64));
}

/* Set by the loader before load. */
const volatile __u8 pidns_translate = 0;
const volatile __u64 pidns_dev = 0; /* nsfs device, in the kernel's dev_t encoding */
const volatile __u64 pidns_ino = 0; /* inode of the namespace's nsfs file */

/* The agent namespace's level plus one; 0 until a task of that namespace was seen. */
__u32 pidns_level_plus1 = 0;

/* pid_tgid at a level known to the compiler: direct (fault-safe) loads from BTF pointers. */
static __always_inline __u64 ns_ids_at(struct task_struct *task, struct pid *thread,
                                       const __u32 level) {
  struct upid *tid = &thread->numbers[level];
  if (tid->ns->ns.inum != pidns_ino) {
    return 0;
  }
  struct upid *tgid = &task->group_leader->thread_pid->numbers[level];
  return ((__u64)(__u32)tgid->nr << 32) | (__u32)tid->nr;
}

/* &p->numbers[level] for a level the compiler does not know. */
static __always_inline struct upid *upid_at(struct pid *p, __u32 level) {
  return (struct upid *)((char *)p + bpf_core_field_offset(struct pid, numbers)) + level;
}

/* The same at any level (a namespace nested 4 deep or more): probe reads. */
static __noinline __u64 ns_ids_at_any(struct task_struct *task, __u32 level) {
  struct upid tid = {};
  if (bpf_probe_read_kernel(&tid, sizeof(tid), upid_at(BPF_CORE_READ(task, thread_pid), level)) ||
      !tid.ns || BPF_CORE_READ(tid.ns, ns.inum) != pidns_ino) {
    return 0;
  }
  struct pid *leader = BPF_CORE_READ(task, group_leader, thread_pid);
  struct upid tgid = {};
  if (bpf_probe_read_kernel(&tgid, sizeof(tgid), upid_at(leader, level)) != 0) {
    return 0;
  }
  return ((__u64)(__u32)tgid.nr << 32) | (__u32)tid.nr;
}

/* The current pid_tgid in the agent's namespace, 0 when the task is not visible there. */
static __always_inline __u64 ns_pid_tgid(void) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct pid *thread = task->thread_pid;
  __u32 level = thread->level; /* the level of the task's own namespace */
  __u32 level_plus1 = pidns_level_plus1;
  if (level_plus1 == 0) {
    struct bpf_pidns_info ns;
    if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)) != 0) {
      return 0;
    }
    pidns_level_plus1 = level + 1;
    return ((__u64)ns.tgid << 32) | ns.pid;
  }
  if (level + 1 < level_plus1) {
    return 0; /* a namespace above the agent's: not visible in it */
  }
  switch (level_plus1) {
  case 2:
    return ns_ids_at(task, thread, 1);
  case 3:
    return ns_ids_at(task, thread, 2);
  case 4:
    return ns_ids_at(task, thread, 3);
  default:
    return ns_ids_at_any(task, level_plus1 - 1);
  }
}

/* The current pid_tgid in the agent's namespace (0: not visible there), selected or not. */
static __always_inline __u64 agent_pid_tgid(void) {
  return pidns_translate ? ns_pid_tgid() : bpf_get_current_pid_tgid();
}

/*
 * Returns the current pid_tgid (in the agent's namespace) when its process is selected, 0
 * otherwise. pidns_translate is a constant for the verifier: in the initial namespace only
 * the first branch remains.
 */
static __always_inline __u64 selected_pid_tgid(void) {
  __u64 pid_tgid = agent_pid_tgid();
  if (!pid_tgid) {
    return 0; /* not visible in the agent's namespace */
  }
  __u32 tgid = pid_tgid >> 32;
  if (!pid_is_selected(tgid)) {
    return 0;
  }
  return pid_tgid;
}

#endif

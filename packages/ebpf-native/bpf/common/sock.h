/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From a file descriptor of the current task to its TCP socket, with CO-RE reads:
 * task->files->fdt->fd[fd] -> file (S_ISSOCK) -> private_data (struct socket) -> sk.
 */
#ifndef BEYLA_SOCK_H
#define BEYLA_SOCK_H

#include "base.h"

/* True when `sk` is an IPv4/IPv6 TCP socket. */
static __always_inline int is_inet_tcp(struct sock *sk) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  return (family == BEYLA_AF_INET || family == BEYLA_AF_INET6) &&
         BPF_CORE_READ(sk, sk_protocol) == BEYLA_IPPROTO_TCP;
}

/* The TCP socket behind `fd`, or NULL when fd is not an IPv4/IPv6 TCP socket. */
static __always_inline struct sock *tcp_sock_of_fd(__u32 fd) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds)) {
    return NULL;
  }
  struct file **fds = BPF_CORE_READ(fdt, fd);
  struct file *file = NULL;
  bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
  if (!file) {
    return NULL;
  }
  umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
  if ((mode & BEYLA_S_IFMT) != BEYLA_S_IFSOCK) {
    return NULL;
  }
  struct socket *socket = BPF_CORE_READ(file, private_data);
  struct sock *sk = BPF_CORE_READ(socket, sk);
  return sk && is_inet_tcp(sk) ? sk : NULL;
}

/* Fills the family, addresses and ports of the event from the socket. */
static __always_inline void read_tuple(struct sock *sk, struct beyla_http_event *ev) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  ev->family = (__u8)family;
  ev->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  ev->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  /* explicit sizes: the destinations are byte arrays, the sources 4- or 16-byte fields */
  if (family == BEYLA_AF_INET) {
    bpf_core_read(ev->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
    bpf_core_read(ev->remote_addr, 4, &sk->__sk_common.skc_daddr);
  } else {
    bpf_core_read(ev->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
    bpf_core_read(ev->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
  }
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A data syscall's arguments, read at its exit when the number of bytes moved is known, and
 * the user memory they describe: one buffer, an iovec array, or a msghdr.
 */
#ifndef BEYLA_IO_ARGS_H
#define BEYLA_IO_ARGS_H

#include "base.h"
#include "syscall_nr.h"

#define IO_BUFFER 0 /* read/write/recvfrom/sendto: a plain buffer */
#define IO_IOVEC 1 /* readv/writev */
#define IO_MSGHDR 2 /* recvmsg/sendmsg */
#define IO_NO_DATA 3 /* sendfile: bytes are counted, content is not visible */
#define IO_CONNECT 4 /* connect: no data */

#define MAX_IOVECS 8

struct io_args {
  __u64 ptr; /* buffer, iovec array or msghdr */
  __u32 fd;
  __u32 kind;
  __u32 iovcnt; /* IO_IOVEC only */
  __u32 _pad;
};

/* The bytes one syscall moved: where they start, and where the last 5 of them are. */
struct io_data {
  const __u8 *head; /* first segment; NULL when content is not visible */
  __u64 head_len; /* bytes of the first segment that were transferred */
  const __u8 *tail5; /* the last 5 bytes transferred, NULL when unknown */
};

/*
 * The user registers the kernel saved at the current task's syscall entry: they keep the
 * syscall's number and arguments until the return to user space.
 */
static __always_inline struct pt_regs *current_user_regs(void) {
  return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* A data syscall's arguments (fd, buffer/iovec/msghdr, count) from its saved registers. */
static __always_inline void io_args_from_regs(struct pt_regs *regs, __u32 kind,
                                              struct io_args *out) {
  out->fd = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs);
  out->ptr = PT_REGS_PARM2_CORE_SYSCALL(regs);
  out->iovcnt = (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs);
  out->kind = kind;
  out->_pad = 0;
}

/*
 * The arguments of the syscall being exited (syscall hooks). Reading them at exit spares an
 * entry program per syscall: the kernel's tracepoint dispatch costs ~77 ns per program and
 * call, for every process, selected or not (bench/syscall-cost.sh, setups floor and exit).
 */
static __always_inline void io_args_at_exit(__u32 kind, struct io_args *out) {
  io_args_from_regs(current_user_regs(), kind, out);
}

/* How the data system call `nr` describes its bytes; IO_NO_DATA for any other call. */
static __always_inline __u32 io_kind_of_syscall(__u64 nr) {
  switch (nr) {
  case BEYLA_NR_READ:
  case BEYLA_NR_WRITE:
  case BEYLA_NR_RECVFROM:
  case BEYLA_NR_SENDTO:
    return IO_BUFFER;
  case BEYLA_NR_READV:
  case BEYLA_NR_WRITEV:
    return IO_IOVEC;
  case BEYLA_NR_RECVMSG:
  case BEYLA_NR_SENDMSG:
    return IO_MSGHDR;
  default:
    return IO_NO_DATA; /* sendfile, splice, sendmmsg, io_uring: bytes are counted only */
  }
}

/*
 * The arguments of the system call the current task is in, when a socket hook fires inside
 * it: the call is identified by its number, so a sendmsg() and a write() on the same socket
 * are each read their own way.
 */
static __always_inline void io_args_of_current_syscall(struct io_args *out) {
  struct pt_regs *regs = current_user_regs();
  io_args_from_regs(regs, io_kind_of_syscall(BEYLA_SYSCALL_NR(regs)), out);
}

/* Locates the first segment and the last 5 bytes within an iovec array. */
static __always_inline void locate_in_iovecs(const struct iovec *iov, __u64 iovcnt, __u64 bytes,
                                             struct io_data *d) {
  __u64 offset = 0;
#pragma unroll
  for (int i = 0; i < MAX_IOVECS; i++) {
    if (i >= iovcnt || offset >= bytes) {
      break;
    }
    struct iovec v = {};
    if (bpf_probe_read_user(&v, sizeof(v), &iov[i]) != 0) {
      break;
    }
    __u64 moved = bytes - offset < v.iov_len ? bytes - offset : v.iov_len;
    if (i == 0) {
      d->head = v.iov_base;
      d->head_len = moved;
    }
    offset += moved;
    if (offset == bytes && moved >= 5) {
      d->tail5 = (const __u8 *)v.iov_base + moved - 5;
    }
  }
}

static __always_inline void locate_io_data(struct io_args *args, __u64 bytes, struct io_data *d) {
  d->head = NULL;
  d->head_len = 0;
  d->tail5 = NULL;
  if (args->kind == IO_BUFFER) {
    d->head = (const __u8 *)args->ptr;
    d->head_len = bytes;
    d->tail5 = bytes >= 5 ? d->head + bytes - 5 : NULL;
  } else if (args->kind == IO_IOVEC) {
    locate_in_iovecs((const struct iovec *)args->ptr, args->iovcnt, bytes, d);
  } else if (args->kind == IO_MSGHDR) {
    struct user_msghdr msg = {};
    if (bpf_probe_read_user(&msg, sizeof(msg), (void *)args->ptr) == 0) {
      locate_in_iovecs(msg.msg_iov, msg.msg_iovlen, bytes, d);
    }
  }
}

#endif

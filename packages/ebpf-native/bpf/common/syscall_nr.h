/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Numbers of the data system calls, per architecture (they are not in BTF), and the number of
 * the system call the current task is in, from its saved user registers.
 */
#ifndef BEYLA_SYSCALL_NR_H
#define BEYLA_SYSCALL_NR_H

#include "base.h"

#if defined(__TARGET_ARCH_x86)
#define BEYLA_NR_READ 0
#define BEYLA_NR_WRITE 1
#define BEYLA_NR_READV 19
#define BEYLA_NR_WRITEV 20
#define BEYLA_NR_SENDFILE 40
#define BEYLA_NR_SENDTO 44
#define BEYLA_NR_RECVFROM 45
#define BEYLA_NR_SENDMSG 46
#define BEYLA_NR_RECVMSG 47
#define BEYLA_SYSCALL_NR(regs) BPF_CORE_READ((regs), orig_ax)
#elif defined(__TARGET_ARCH_arm64)
/* the generic table (include/uapi/asm-generic/unistd.h) */
#define BEYLA_NR_READ 63
#define BEYLA_NR_WRITE 64
#define BEYLA_NR_READV 65
#define BEYLA_NR_WRITEV 66
#define BEYLA_NR_SENDFILE 71
#define BEYLA_NR_SENDTO 206
#define BEYLA_NR_RECVFROM 207
#define BEYLA_NR_SENDMSG 211
#define BEYLA_NR_RECVMSG 212
#define BEYLA_SYSCALL_NR(regs) BPF_CORE_READ((regs), syscallno)
#else
#error "syscall numbers are only defined for x86_64 and arm64"
#endif

#endif

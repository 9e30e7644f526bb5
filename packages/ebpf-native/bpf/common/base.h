/* SPDX-License-Identifier: Apache-2.0 */
/* Includes and constants every program needs. vmlinux.h is generated from the kernel's BTF. */
#ifndef BEYLA_BASE_H
#define BEYLA_BASE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "event.h"

/* Macros that BTF cannot carry. */
#define BEYLA_AF_INET 2
#define BEYLA_AF_INET6 10
#define BEYLA_S_IFMT 00170000
#define BEYLA_S_IFSOCK 0140000
#define BEYLA_IPPROTO_TCP 6
#define BEYLA_TCP_FIN_WAIT1 4
#define BEYLA_TCP_CLOSE 7
#define BEYLA_TCP_LAST_ACK 9
#define BEYLA_TCP_LISTEN 10
#define BEYLA_MSG_PEEK 0x2
#define BEYLA_MSG_ERRQUEUE 0x2000
#define BEYLA_EINPROGRESS 115

#define BEYLA_MAX_CONNECTIONS 65536

#endif

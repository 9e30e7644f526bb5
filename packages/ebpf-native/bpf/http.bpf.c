/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x capture without kprobes or fentry. Two sets of hooks feed the same per-connection
 * logic; the loader attaches one of them:
 *  - socket hooks (Linux 6.3+): the sock_send_length and sock_recv_length tracepoints, which
 *    fire only for socket I/O, inside sock_sendmsg()/sock_recvmsg(). No system call is traced,
 *    so processes pay nothing on their other system calls;
 *  - syscall hooks (older kernels): the exits of the data system calls, accept, connect and
 *    close. Once any syscall tracepoint is attached, every system call of every process takes
 *    the kernel's slower tracing path (bench/syscall-cost.sh).
 * Every data handler first checks that the calling process is selected (one bit). The data
 * hooks fire when the number of bytes moved is known; the system call's arguments are read
 * from the registers the kernel saved at its entry.
 */
#include "common/base.h"
#include "common/conn.h"
#include "common/http_flow.h"
#include "common/io_args.h"
#include "common/pid_filter.h"
#include "common/sock.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define sys_enter_ctx struct trace_event_raw_sys_enter
#define sys_exit_ctx struct trace_event_raw_sys_exit

/*
 * Socket hooks. sock_sendmsg() and sock_recvmsg() finished on `sk` (any socket family) and
 * moved `ret` bytes (negative: an error, such as EAGAIN). A connection is tracked from its
 * first request (its role follows from the direction of that request) until TCP_CLOSE; the
 * process's FIN ends a server's response (sock_set_state below).
 */
static __always_inline int on_sock_io(struct sock *sk, int ret, int flags, __u8 dir) {
  if (ret < 0 || (ret == 0 && dir == DIR_EGRESS) ||
      (flags & (BEYLA_MSG_PEEK | BEYLA_MSG_ERRQUEUE))) {
    return 0;
  }
  __u64 pid_tgid = selected_pid_tgid();
  if (!pid_tgid || !is_inet_tcp(sk)) {
    return 0;
  }
  if (ret == 0) {
    on_socket_eof(sk);
    return 0;
  }
  struct io_args args;
  io_args_of_current_syscall(&args);
  struct io_data data;
  locate_io_data(&args, ret, &data);
  on_socket_data(sk, pid_tgid, dir, &data, ret);
  return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(sock_recv_length, struct sock *sk, int ret, int flags) {
  return on_sock_io(sk, ret, flags, DIR_INGRESS);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(sock_send_length, struct sock *sk, int ret, int flags) {
  return on_sock_io(sk, ret, flags, DIR_EGRESS);
}

/* Syscall hooks. Only the exit of a data syscall is hooked: its arguments come from the saved registers. */
static __always_inline int exit_io(sys_exit_ctx *ctx, __u8 dir, __u32 kind) {
  __u64 pid_tgid = selected_pid_tgid();
  if (!pid_tgid || ctx->ret < 0) {
    return 0;
  }
  struct io_args args;
  io_args_at_exit(kind, &args);
  struct sock *sk = tcp_sock_of_fd(args.fd);
  if (!sk) {
    return 0;
  }
  if (ctx->ret == 0) {
    if (dir == DIR_INGRESS) {
      on_socket_eof(sk);
    }
    return 0;
  }
  struct io_data data;
  locate_io_data(&args, ctx->ret, &data);
  on_socket_data(sk, pid_tgid, dir, &data, ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int exit_read(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_INGRESS, IO_BUFFER); }

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_INGRESS, IO_BUFFER); }

SEC("tracepoint/syscalls/sys_exit_readv")
int exit_readv(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_INGRESS, IO_IOVEC); }

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_INGRESS, IO_MSGHDR); }

SEC("tracepoint/syscalls/sys_exit_write")
int exit_write(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_EGRESS, IO_BUFFER); }

SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_EGRESS, IO_BUFFER); }

SEC("tracepoint/syscalls/sys_exit_writev")
int exit_writev(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_EGRESS, IO_IOVEC); }

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_EGRESS, IO_MSGHDR); }

/* sendfile(out_fd, in_fd, offset, count): body bytes of static files (nginx) */
SEC("tracepoint/syscalls/sys_exit_sendfile64")
int exit_sendfile(sys_exit_ctx *ctx) { return exit_io(ctx, DIR_EGRESS, IO_NO_DATA); }

/* A new server connection: the returned fd is an accepted socket. */
static __always_inline int exit_accept(sys_exit_ctx *ctx) {
  if (!selected_pid_tgid() || ctx->ret < 0) {
    return 0;
  }
  struct sock *sk = tcp_sock_of_fd((__u32)ctx->ret);
  if (sk) {
    struct conn_state *c = new_conn(sk, BEYLA_ROLE_SERVER);
    if (c) {
      read_tuple(sk, &c->ev);
    }
  }
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(sys_exit_ctx *ctx) { return exit_accept(ctx); }
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept_plain(sys_exit_ctx *ctx) { return exit_accept(ctx); }

/* A new client connection (blocking or not). */
SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(sys_exit_ctx *ctx) {
  if (!selected_pid_tgid()) {
    return 0;
  }
  struct io_args args;
  io_args_at_exit(IO_CONNECT, &args);
  if (ctx->ret != 0 && ctx->ret != -BEYLA_EINPROGRESS) {
    return 0;
  }
  struct sock *sk = tcp_sock_of_fd(args.fd);
  if (sk) {
    struct conn_state *c = new_conn(sk, BEYLA_ROLE_CLIENT);
    if (c) {
      read_tuple(sk, &c->ev);
    }
  }
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(sys_enter_ctx *ctx) {
  if (!selected_pid_tgid()) {
    return 0;
  }
  struct sock *sk = tcp_sock_of_fd((__u32)ctx->args[0]);
  if (sk) {
    close_conn((__u64)sk);
  }
  return 0;
}

/* Set by the loader: capture a new listener at once, until the agent decides (below). */
const volatile __u8 provisional_on_listen = 0;
/* The agent's own tgid (in its namespace): never captured provisionally. */
const volatile __u32 self_tgid = 0;

/*
 * A process started listening (listen() runs in its context): tell discovery, for any
 * process, since discovery is what decides whether it is selected. With
 * provisional_on_listen, the process is also captured from now on, provisionally: its first
 * requests may arrive before the agent has decided, which takes a few milliseconds. The agent
 * keeps those records until it decides, then replays or drops them and removes the entry.
 */
static __always_inline void report_listen(struct trace_event_raw_inet_sock_set_state *ctx) {
  __u64 pid_tgid = agent_pid_tgid();
  if (!pid_tgid) {
    return; /* not visible in the agent's namespace */
  }
  __u32 tgid = pid_tgid >> 32;
  if (provisional_on_listen && tgid != self_tgid) {
    select_pid(tgid);
  }
  struct beyla_listen_event ev = {
      .type = BEYLA_EVENT_LISTEN,
      .family = (__u8)ctx->family,
      .port = ctx->sport,
      .pid = tgid,
  };
  if (bpf_ringbuf_output(&events, &ev, sizeof(ev), BPF_RB_FORCE_WAKEUP) != 0) {
    count_stat(BEYLA_STAT_RINGBUF_DROPS);
  }
}

/* A process exec()ed: discovery looks at its new executable (no wakeup: 100 ms is soon enough). */
SEC("tracepoint/sched/sched_process_exec")
int process_exec(struct trace_event_raw_sched_process_exec *ctx) {
  __u64 pid_tgid = agent_pid_tgid();
  if (!pid_tgid) {
    return 0; /* not visible in the agent's namespace */
  }
  struct beyla_exec_event ev = {.type = BEYLA_EVENT_EXEC, .pid = pid_tgid >> 32};
  if (bpf_ringbuf_output(&events, &ev, sizeof(ev), BPF_RB_NO_WAKEUP) != 0) {
    count_stat(BEYLA_STAT_RINGBUF_DROPS);
  }
  return 0;
}

/*
 * Both sets: a TCP socket started listening, sent the process's FIN (FIN_WAIT1 after an active
 * close, LAST_ACK after a passive one), or reached TCP_CLOSE (the end of every TCP socket:
 * reset, last FIN, or the switch to TIME_WAIT).
 */
SEC("tracepoint/sock/inet_sock_set_state")
int sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx) {
  if (ctx->protocol != BEYLA_IPPROTO_TCP) {
    return 0;
  }
  if (ctx->newstate == BEYLA_TCP_LISTEN) {
    report_listen(ctx);
  } else if (ctx->newstate == BEYLA_TCP_CLOSE) {
    tcp_closed((__u64)ctx->skaddr);
  } else if (ctx->newstate == BEYLA_TCP_FIN_WAIT1 || ctx->newstate == BEYLA_TCP_LAST_ACK) {
    fin_sent((__u64)ctx->skaddr);
  }
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pairs requests and responses on one connection. For a server the request flows in
 * (ingress) and the response out; for a client the other way round.
 */
#ifndef BEYLA_HTTP_FLOW_H
#define BEYLA_HTTP_FLOW_H

#include "base.h"
#include "conn.h"
#include "http_scan.h"
#include "io_args.h"
#include "sock.h"

#define DIR_INGRESS 0
#define DIR_EGRESS 1

static __always_inline void start_request(struct conn_state *c, __u64 pid_tgid,
                                          struct io_data *d, __u64 bytes, __u64 now) {
  struct beyla_http_event *ev = &c->ev;
  if (c->phase == PHASE_RESPONSE) {
    finish_request(c, BEYLA_END_BY_NEXT);
  } else if (c->phase == PHASE_REQUEST) {
    count_stat(BEYLA_STAT_UNANSWERED);
  }
  c->phase = PHASE_REQUEST;
  c->expected_response_bytes = 0;
  c->chunked = 0;
  ev->type = BEYLA_EVENT_HTTP;
  ev->role = c->role;
  ev->pid = pid_tgid >> 32;
  ev->tid = (__u32)pid_tgid;
  /* when its first bytes moved: read by a server, sent by a client (the syscall's exit) */
  ev->start_ns = now;
  ev->end_ns = now;
  ev->status = 0;
  ev->request_bytes = bytes;
  ev->response_bytes = 0;
  ev->response_header_len = 0;
  __u32 head = d->head_len > BEYLA_REQUEST_HEAD_LEN ? BEYLA_REQUEST_HEAD_LEN : d->head_len;
  bpf_probe_read_user(ev->request_head, head & (BEYLA_REQUEST_HEAD_LEN * 2 - 1), d->head);
  ev->request_head_len = head;
  c->head_request = ev->request_head[0] == 'H';
  struct scan_buf *sb = scan_user_headers(d->head, d->head_len);
  ev->request_header_len = sb ? sb->header_len : 0;
}

/* The first bytes of a response: status and framing. Returns 0 if this is no response. */
static __always_inline int start_response(struct conn_state *c, struct io_data *d,
                                          __u64 bytes) {
  struct scan_buf *sb = scan_user_headers(d->head, d->head_len);
  if (!sb || sb->len < 12 || !is_http_response_start(sb->data)) {
    return 0;
  }
  __u16 status = (sb->data[9] - '0') * 100 + (sb->data[10] - '0') * 10 + (sb->data[11] - '0');
  if (status >= 100 && status < 200 && status != 101) {
    return 0; /* interim response (100 Continue): the final one follows */
  }
  c->phase = PHASE_RESPONSE;
  c->ev.status = status;
  c->ev.response_bytes = bytes;
  c->ev.response_header_len = sb->header_len;
  c->chunked = sb->chunked;
  if (sb->header_len == 0) {
    return 1;
  }
  if (c->head_request || status == 204 || status == 304 || status == 101) {
    c->expected_response_bytes = sb->header_len;
  } else if (sb->has_length) {
    c->expected_response_bytes = sb->header_len + sb->content_length;
  }
  return 1;
}

static __always_inline int is_last_chunk(const __u8 *tail5) {
  __u8 t[5] = {};
  if (!tail5 || bpf_probe_read_user(t, sizeof(t), tail5) != 0) {
    return 0;
  }
  return t[0] == '0' && t[1] == '\r' && t[2] == '\n' && t[3] == '\r' && t[4] == '\n';
}

static __always_inline void on_response_data(struct conn_state *c, struct io_data *d,
                                             __u64 bytes, __u64 now) {
  if (c->phase == PHASE_REQUEST) {
    if (!d->head || !start_response(c, d, bytes)) {
      return;
    }
  } else if (c->phase == PHASE_RESPONSE) {
    c->ev.response_bytes += bytes;
  } else {
    return;
  }
  c->ev.end_ns = now;
  if (c->expected_response_bytes && c->ev.response_bytes >= c->expected_response_bytes) {
    finish_request(c, BEYLA_END_BY_LENGTH);
  } else if (c->chunked && is_last_chunk(d->tail5)) {
    finish_request(c, BEYLA_END_BY_CHUNKED);
  }
}

/*
 * True when `c` is the state of a socket that was closed, and `sk` was allocated at its address
 * since: the entry outlived its socket (a request left waiting at TCP_CLOSE, a reset racing the
 * first read). Checked when a request starts, so a new connection never takes an old one's
 * role and addresses.
 */
static __always_inline int is_stale(struct conn_state *c, struct sock *sk) {
  if (c->closed) {
    return BPF_CORE_READ(sk, __sk_common.skc_state) != BEYLA_TCP_CLOSE;
  }
  return c->ev.local_port != BPF_CORE_READ(sk, __sk_common.skc_num) ||
         c->ev.remote_port != bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* Bytes moved on a TCP socket of a selected process. */
static __always_inline void on_socket_data(struct sock *sk, __u64 pid_tgid, __u8 dir,
                                           struct io_data *d, __u64 bytes) {
  __u64 key = (__u64)sk;
  __u64 now = bpf_ktime_get_ns();
  __u8 first[8] = {};
  int request_start = d->head && d->head_len >= 4 &&
                      bpf_probe_read_user(first, sizeof(first), d->head) == 0 &&
                      is_http_request_start(first);
  struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
  if (c && (request_start || c->closed) && is_stale(c, sk)) {
    if (c->phase == PHASE_REQUEST) {
      count_stat(BEYLA_STAT_UNANSWERED);
    }
    bpf_map_delete_elem(&conns, &key);
    c = NULL;
  }
  if (!c) {
    if (!request_start) {
      return;
    }
    /* a connection that predates us: its role follows from where the request goes */
    c = new_conn(sk, dir == DIR_INGRESS ? BEYLA_ROLE_SERVER : BEYLA_ROLE_CLIENT);
    if (!c) {
      return;
    }
    read_tuple(sk, &c->ev);
    /* data read after a reset: no TCP_CLOSE will follow to remove the entry */
    c->closed = BPF_CORE_READ(sk, __sk_common.skc_state) == BEYLA_TCP_CLOSE;
  }
  int request_side = (c->role == BEYLA_ROLE_SERVER) == (dir == DIR_INGRESS);
  if (!request_side) {
    on_response_data(c, d, bytes, now);
  } else if (request_start) {
    start_request(c, pid_tgid, d, bytes, now);
  } else if (c->phase == PHASE_REQUEST) {
    c->ev.request_bytes += bytes;
  }
  if (c->closed) {
    /* the answer of a request whose connection already closed: nothing follows it */
    if (c->phase == PHASE_RESPONSE) {
      finish_request(c, BEYLA_END_BY_CLOSE);
    }
    bpf_map_delete_elem(&conns, &key);
  }
}

/* A client read hit end of file: a response without framing ends here. */
static __always_inline void on_socket_eof(struct sock *sk) {
  __u64 key = (__u64)sk;
  struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
  if (c && c->role == BEYLA_ROLE_CLIENT && c->phase == PHASE_RESPONSE) {
    finish_request(c, BEYLA_END_BY_CLOSE);
  }
}

#endif

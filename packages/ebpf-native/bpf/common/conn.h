/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-connection HTTP state, keyed by the kernel socket address (stable while the socket
 * lives, shared by every fd and thread that uses it), and the ring buffer of finished requests.
 */
#ifndef BEYLA_CONN_H
#define BEYLA_CONN_H

#include "base.h"
#include "stats.h"

#define PHASE_IDLE 0
#define PHASE_REQUEST 1 /* request seen, no response yet */
#define PHASE_RESPONSE 2 /* response under way */

struct conn_state {
  struct beyla_http_event ev; /* the request being built, sent as is when it ends */
  __u64 expected_response_bytes; /* 0 when the framing is unknown */
  __u8 role;
  __u8 phase;
  __u8 chunked;
  __u8 head_request; /* HEAD: the response has no body whatever its headers say */
  __u8 closed; /* TCP reached CLOSE while a request waited for its answer (tcp_closed) */
  __u8 _pad[3];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384); /* resized by the loader */
  __type(key, __u64);
  __type(value, struct conn_state);
} conns SEC(".maps");

/* A zeroed value to create entries from (too large for the BPF stack). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct conn_state);
} conn_template SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22); /* resized by the loader */
} events SEC(".maps");

/* Wake the reader only when this many bytes wait; it also drains on a timer. */
const volatile __u64 wakeup_bytes = 1 << 13;

static __always_inline struct conn_state *new_conn(struct sock *sk, __u8 role) {
  __u64 key = (__u64)sk;
  __u32 zero = 0;
  struct conn_state *blank = bpf_map_lookup_elem(&conn_template, &zero);
  if (!blank) {
    return NULL;
  }
  blank->role = role;
  if (bpf_map_update_elem(&conns, &key, blank, BPF_ANY) != 0) {
    count_stat(BEYLA_STAT_CONN_FULL);
    blank->role = 0;
    return NULL;
  }
  blank->role = 0;
  return bpf_map_lookup_elem(&conns, &key);
}

/* Sends the finished request and readies the connection for the next one. */
static __always_inline void finish_request(struct conn_state *c, __u8 how) {
  c->ev.flags = how;
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
    flags = BPF_RB_FORCE_WAKEUP;
  }
  if (bpf_ringbuf_output(&events, &c->ev, sizeof(c->ev), flags) == 0) {
    count_stat(BEYLA_STAT_EVENTS);
  } else {
    count_stat(BEYLA_STAT_RINGBUF_DROPS);
  }
  c->phase = PHASE_IDLE;
}

/* The process closed the socket: a response under way ends here. */
static __always_inline void close_conn(__u64 key) {
  struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
  if (!c) {
    return;
  }
  if (c->phase == PHASE_RESPONSE) {
    finish_request(c, BEYLA_END_BY_CLOSE);
  } else if (c->phase == PHASE_REQUEST) {
    count_stat(BEYLA_STAT_UNANSWERED);
  }
  bpf_map_delete_elem(&conns, &key);
}

/*
 * TCP reached CLOSE (a reset, or the last FIN). This can happen inside the very write that
 * carries the response (over loopback the peer's RST is processed synchronously), so a
 * request still waiting for its answer is only marked: the process's own write finishes it
 * (on_socket_data), and a socket allocated later at the same address replaces it.
 */
static __always_inline void tcp_closed(__u64 key) {
  struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
  if (!c) {
    return;
  }
  if (c->phase == PHASE_REQUEST) {
    c->closed = 1;
    return;
  }
  if (c->phase == PHASE_RESPONSE) {
    finish_request(c, BEYLA_END_BY_CLOSE);
  }
  bpf_map_delete_elem(&conns, &key);
}

/*
 * The process sent its FIN (close() or shutdown(), in its own context): a server's response
 * ends here. A client's response may still arrive, and the entry lives until TCP_CLOSE.
 */
static __always_inline void fin_sent(__u64 key) {
  struct conn_state *c = bpf_map_lookup_elem(&conns, &key);
  if (!c || c->role != BEYLA_ROLE_SERVER) {
    return;
  }
  if (c->phase == PHASE_RESPONSE) {
    finish_request(c, BEYLA_END_BY_CLOSE);
  } else if (c->phase == PHASE_REQUEST) {
    count_stat(BEYLA_STAT_UNANSWERED);
    c->phase = PHASE_IDLE;
  }
}

#endif

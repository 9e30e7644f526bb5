/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ABI between the kernel programs and the agent: fixed-width fields, explicit padding,
 * the record type first. packages/ebpf-native/scripts/gen-decoder.mjs generates the
 * TypeScript decoder from this file; CI fails when the two drift apart.
 * Compiled with -Wpadded: any implicit padding is an error.
 */
#ifndef BEYLA_EVENT_H
#define BEYLA_EVENT_H

#define BEYLA_EVENT_HTTP 1
#define BEYLA_EVENT_LISTEN 2
#define BEYLA_EVENT_EXEC 3

#define BEYLA_ROLE_SERVER 1
#define BEYLA_ROLE_CLIENT 2

/* How the end of a request was found (flags field). */
#define BEYLA_END_BY_LENGTH 1   /* Content-Length (or an empty body) fully transferred */
#define BEYLA_END_BY_CHUNKED 2  /* last chunk of a chunked body seen */
#define BEYLA_END_BY_NEXT 4     /* the next request on the connection started */
#define BEYLA_END_BY_CLOSE 8    /* the connection was closed (or reached EOF) */

#define BEYLA_REQUEST_HEAD_LEN 256

/* One finished HTTP/1.x request (server or client side). */
struct beyla_http_event {
  __u8 type; /* BEYLA_EVENT_HTTP */
  __u8 role; /* BEYLA_ROLE_SERVER or BEYLA_ROLE_CLIENT */
  __u8 family; /* AF_INET (2) or AF_INET6 (10) */
  __u8 flags; /* BEYLA_END_BY_* */
  __u16 status; /* response status code, 0 if none */
  __u16 local_port;
  __u16 remote_port;
  __u16 request_head_len; /* valid bytes in request_head */
  __u32 pid; /* thread group id (the process) */
  __u32 tid;
  __u32 request_header_len; /* request line + headers + blank line; 0 when not found */
  __u32 response_header_len; /* status line + headers + blank line; 0 when not found */
  __u32 _pad0;
  __u64 start_ns; /* CLOCK_MONOTONIC */
  __u64 end_ns; /* CLOCK_MONOTONIC */
  __u64 request_bytes; /* headers and body */
  __u64 response_bytes; /* headers and body */
  __u8 local_addr[16]; /* IPv4: first 4 bytes */
  __u8 remote_addr[16];
  __u8 request_head[BEYLA_REQUEST_HEAD_LEN]; /* first bytes of the request */
};

/*
 * A TCP socket of any process (selected or not) started listening. Discovery looks at that
 * process at once instead of at its next /proc scan, so a new server's first requests are
 * captured. Rare (one per listen()), so it is submitted with a wakeup.
 */
struct beyla_listen_event {
  __u8 type; /* BEYLA_EVENT_LISTEN */
  __u8 family; /* AF_INET (2) or AF_INET6 (10) */
  __u16 port; /* local port */
  __u32 pid; /* thread group id, in the agent's PID namespace */
};

/*
 * A process (selected or not) called exec(): discovery reads its executable again, instead
 * of re-reading every process's at every /proc scan to notice one.
 */
struct beyla_exec_event {
  __u8 type; /* BEYLA_EVENT_EXEC */
  __u8 _pad0;
  __u16 _pad1;
  __u32 pid; /* thread group id, in the agent's PID namespace */
};

/* Counters in the per-CPU `stats` array, by index. */
#define BEYLA_STAT_EVENTS 0 /* records written to the ring buffer */
#define BEYLA_STAT_RINGBUF_DROPS 1 /* records lost: ring buffer full */
#define BEYLA_STAT_UNANSWERED 2 /* requests replaced before any response was seen */
#define BEYLA_STAT_CONN_FULL 3 /* connection state could not be created */
#define BEYLA_STAT_COUNT 4

#endif

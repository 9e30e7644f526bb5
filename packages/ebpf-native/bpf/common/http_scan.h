/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recognising HTTP/1.x messages and reading their headers in the kernel, just enough to know
 * where a message ends: the header length, Content-Length and chunked transfer encoding.
 */
#ifndef BEYLA_HTTP_SCAN_H
#define BEYLA_HTTP_SCAN_H

#include "base.h"

/* Header bytes examined per message; a power of two so indexes can be masked. */
#define BEYLA_SCAN_LEN 512
#define BEYLA_SCAN_MASK (BEYLA_SCAN_LEN - 1)

struct scan_buf {
  __u8 data[BEYLA_SCAN_LEN];
  __u32 len; /* valid bytes in data */
  __u32 header_len; /* 0: end of headers not within data */
  __u64 content_length;
  __u32 has_length;
  __u32 chunked;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scan_buf);
} scan_scratch SEC(".maps");

static __always_inline __u8 lower(__u8 c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* True when `name` (lowercase, NUL-terminated, at most 18 chars) starts at data[at]. */
static __always_inline int header_name_at(struct scan_buf *sb, __u32 at, const char *name,
                                          __u32 name_len) {
  if (at + name_len >= sb->len) {
    return 0;
  }
#pragma unroll
  for (__u32 k = 0; k < 18; k++) {
    if (k >= name_len) {
      break;
    }
    if (lower(sb->data[(at + k) & BEYLA_SCAN_MASK]) != (__u8)name[k]) {
      return 0;
    }
  }
  return 1;
}

static __always_inline __u32 skip_spaces(struct scan_buf *sb, __u32 at) {
#pragma unroll
  for (int k = 0; k < 4; k++) {
    if (sb->data[at & BEYLA_SCAN_MASK] != ' ') {
      break;
    }
    at++;
  }
  return at;
}

static __always_inline void parse_content_length(struct scan_buf *sb, __u32 at) {
  __u64 value = 0;
  int digits = 0;
  at = skip_spaces(sb, at);
#pragma unroll
  for (int k = 0; k < 12; k++) {
    __u8 c = sb->data[(at + k) & BEYLA_SCAN_MASK];
    if (at + k >= sb->len || c < '0' || c > '9') {
      break;
    }
    value = value * 10 + (c - '0');
    digits++;
  }
  if (digits > 0) {
    sb->content_length = value;
    sb->has_length = 1;
  }
}

static __always_inline void parse_transfer_encoding(struct scan_buf *sb, __u32 at) {
  at = skip_spaces(sb, at);
  if (header_name_at(sb, at, "chunked", 7)) {
    sb->chunked = 1;
  }
}

static __always_inline struct scan_buf *scratch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&scan_scratch, &zero);
}

/* One line start at data[line]: the blank line ending the headers, or a framing header. */
static __always_inline int scan_line(struct scan_buf *sb, __u32 line) {
  __u8 first = sb->data[line & BEYLA_SCAN_MASK];
  if (first == '\r' && sb->data[(line + 1) & BEYLA_SCAN_MASK] == '\n') {
    sb->header_len = line + 2;
    return 1;
  }
  first = lower(first);
  if (first == 'c' && header_name_at(sb, line, "content-length:", 15)) {
    parse_content_length(sb, line + 15);
  } else if (first == 't' && header_name_at(sb, line, "transfer-encoding:", 18)) {
    parse_transfer_encoding(sb, line + 18);
  }
  return 0;
}

#define BEYLA_ONES 0x0101010101010101ULL
#define BEYLA_HIGHS 0x8080808080808080ULL
#define BEYLA_NEWLINES 0x0a0a0a0a0a0a0a0aULL

/*
 * One step of the header scan: the 8 bytes at word i. Most words hold no newline and cost a
 * handful of instructions (the classic "has a zero byte" test on word ^ '\n'*8); only line
 * starts are examined. Run by bpf_loop, so the verifier checks one step, not 64.
 */
static long scan_step(__u32 i, void *unused) {
  struct scan_buf *sb = scratch();
  __u32 offset = (i * 8) & (BEYLA_SCAN_MASK & ~7u);
  if (!sb || offset + 2 >= sb->len) {
    return 1;
  }
  __u64 word;
  __builtin_memcpy(&word, &sb->data[offset], sizeof(word));
  __u64 x = word ^ BEYLA_NEWLINES;
  if (((x - BEYLA_ONES) & ~x & BEYLA_HIGHS) == 0) {
    return 0;
  }
#pragma unroll
  for (__u32 k = 0; k < 8; k++) {
    __u32 at = offset + k;
    if (at + 2 >= sb->len) {
      return 1;
    }
    if (((word >> (k * 8)) & 0xff) == '\n' && scan_line(sb, at + 1)) {
      return 1;
    }
  }
  return 0;
}

/* Finds the end of the headers and the body framing in sb->data[0, sb->len). */
static __always_inline void scan_http_headers(struct scan_buf *sb) {
  sb->header_len = 0;
  sb->content_length = 0;
  sb->has_length = 0;
  sb->chunked = 0;
  bpf_loop(BEYLA_SCAN_LEN / 8, scan_step, NULL, 0);
}

/* Copies the first bytes of a user buffer into the per-CPU scratch and scans them. */
static __always_inline struct scan_buf *scan_user_headers(const void *buf, __u64 len) {
  struct scan_buf *sb = scratch();
  if (!sb) {
    return NULL;
  }
  __u32 n = len > BEYLA_SCAN_LEN ? BEYLA_SCAN_LEN : (__u32)len;
  if (bpf_probe_read_user(sb->data, n & (BEYLA_SCAN_LEN * 2 - 1), buf) != 0) {
    return NULL;
  }
  sb->len = n;
  scan_http_headers(sb);
  return sb;
}

/* HTTP methods a request may start with (the first 8 bytes, as read). */
static __always_inline int is_http_request_start(const __u8 *b) {
  switch (b[0]) {
  case 'G':
    return b[1] == 'E' && b[2] == 'T' && b[3] == ' ';
  case 'P':
    return (b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ') ||
           (b[1] == 'U' && b[2] == 'T' && b[3] == ' ') ||
           (b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ');
  case 'D':
    return b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E' && b[6] == ' ';
  case 'H':
    return b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ';
  case 'O':
    return b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N' && b[6] == 'S' &&
           b[7] == ' ';
  default:
    return 0;
  }
}

static __always_inline int is_http_response_start(const __u8 *b) {
  return b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/' && b[5] == '1' &&
         b[6] == '.';
}

#endif

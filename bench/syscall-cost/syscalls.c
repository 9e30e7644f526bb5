// Times three kinds of call in tight loops: getppid (never traced by the agent), a 1-byte
// write to /dev/null (write is one of the syscall hooks' tracepoints), and a 1-byte write then
// read on a Unix socket pair (the socket hooks fire on both, for any socket). Prints ns per
// call (per write+read pair for the socket).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int fd = open("/dev/null", O_WRONLY);
  int pair[2];
  if (fd < 0 || n <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 2;
  char byte = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  double t1 = now_ns();
  for (long i = 0; i < n; i++) {
    if (write(fd, &byte, 1) != 1) return 3;
  }
  double t2 = now_ns();
  for (long i = 0; i < n; i++) {
    if (write(pair[0], &byte, 1) != 1 || read(pair[1], &byte, 1) != 1) return 4;
  }
  double t3 = now_ns();
  printf("getppid_ns=%.1f write_ns=%.1f sock_ns=%.1f\n", (t1 - t0) / n, (t2 - t1) / n,
         (t3 - t2) / n);
  return 0;
}

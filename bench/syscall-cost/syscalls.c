// Times two syscalls in a tight loop: getppid (never traced by the agent) and a 1-byte write
// to /dev/null (write is one of the agent's syscall tracepoints). Prints ns per call.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
  if (fd < 0 || n <= 0) return 2;
  char byte = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  double t1 = now_ns();
  for (long i = 0; i < n; i++) {
    if (write(fd, &byte, 1) != 1) return 3;
  }
  double t2 = now_ns();
  printf("getppid_ns=%.1f write_ns=%.1f\n", (t1 - t0) / n, (t2 - t1) / n);
  return 0;
}

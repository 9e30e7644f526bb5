// Loads a BPF object with the project's pinned libbpf, attaches every program, prints
// "attached" and waits for stdin to close. Used to time the kernel's hook cost alone.
#include <bpf/libbpf.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || bpf_object__load(obj)) {
    fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__attach(prog)) {
      fprintf(stderr, "cannot attach %s\n", bpf_program__name(prog));
      return 1;
    }
  }
  printf("attached\n");
  fflush(stdout);
  while (getchar() != EOF) {
  }
  bpf_object__close(obj);
  return 0;
}

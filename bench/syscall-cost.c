/*
 * Kernel cost of one syscall under a seccomp filter. Usage:
 *   syscall-cost FILTER.bpf|none ITERATIONS NR [A0 A1 ...]
 * Loads the filter (unless "none"), makes the syscall ITERATIONS times and prints the mean
 * nanoseconds per call. Used by bench/compile.mjs; built there with gcc.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  if (strcmp(argv[1], "none") != 0) {
    static struct sock_filter insns[4096];
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    size_t n = fread(insns, sizeof(insns[0]), 4096, f);
    fclose(f);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      perror("seccomp");
      return 2;
    }
  }
  long iters = atol(argv[2]);
  long nr = strtol(argv[3], NULL, 0);
  unsigned long a[6] = {0};
  for (int i = 0; i < 6 && 4 + i < argc; i++) a[i] = strtoul(argv[4 + i], NULL, 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < iters; i++) syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", ns / iters);
  return 0;
}

/*
 * Runs a command under a raw seccomp filter: run-under FILTER.bpf CMD [ARG...]. Sets
 * PR_SET_NO_NEW_PRIVS, loads the filter with seccomp(2), then execs CMD (so the filter must allow
 * execve and what the dynamic loader does). Used by the live generate test.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: run-under FILTER.bpf CMD [ARG...]\n");
    return 2;
  }
  static struct sock_filter insns[4096];
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  size_t n = fread(insns, sizeof(insns[0]), 4096, f);
  fclose(f);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    perror("seccomp");
    return 2;
  }
  execv(argv[2], argv + 2);
  perror("execv");
  return 127;
}

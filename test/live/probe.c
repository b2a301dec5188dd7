/*
 * Kernel probe for sysfence's live tests. Usage: probe FILTER.bpf < cases
 * Each input line is "NR A0 A1 A2 A3 A4 A5" (decimal or 0x hex, 64-bit). For each line the probe
 * forks; the child loads the raw filter (PR_SET_NO_NEW_PRIVS + seccomp(SECCOMP_SET_MODE_FILTER)),
 * makes the syscall and records the result in memory shared with the parent, so that the child
 * needs no further syscall (the filter under test may deny write and exit). The parent prints one
 * line per case:
 *   "RET <value>"    the call returned (it was allowed or logged)
 *   "ERRNO <n>"      the call failed with errno n
 *   "TRAP"           SIGSYS reached the child's handler (SECCOMP_RET_TRAP)
 *   "SIGNAL <n>"     the child was killed by signal n before recording anything (SECCOMP_RET_KILL_*)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile char *shared;

static void leave(void) {
  syscall(SYS_exit_group, 0);
  __builtin_trap(); /* exit_group denied by the filter: end the child anyway */
}

static void on_sigsys(int sig) {
  (void)sig;
  strcpy((char *)shared, "TRAP");
  leave();
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: probe FILTER.bpf < cases\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static struct sock_filter insns[4096];
  size_t n = fread(insns, sizeof(insns[0]), 4096, f);
  fclose(f);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
  shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 2;
  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    unsigned long long v[7] = {0};
    char *p = line;
    for (int i = 0; i < 7; i++) v[i] = strtoull(p, &p, 0);
    memset((char *)shared, 0, 128);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_sigsys;
      sigaction(SIGSYS, &sa, NULL);
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        snprintf((char *)shared, 128, "LOADFAIL %d", errno);
        _exit(3);
      }
      long r = syscall((long)v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
      int e = errno;
      if (r == -1) snprintf((char *)shared, 128, "ERRNO %d", e);
      else snprintf((char *)shared, 128, "RET %ld", r);
      leave();
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (shared[0]) printf("%s\n", (char *)shared);
    else if (WIFSIGNALED(status)) printf("SIGNAL %d\n", WTERMSIG(status));
    else printf("EXIT %d\n", WEXITSTATUS(status));
  }
  return 0;
}

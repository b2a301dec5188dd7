/*
 * Workloads for bench/record.mjs. Each prints the wall time of its own work in nanoseconds, so
 * tracer start-up is not counted (bench/record.mjs reports it apart).
 *   record-workload calls N      N cheap syscalls (getppid) in one thread
 *   record-workload threads N T  T threads, N getppid calls each
 *   record-workload forks N      N fork + exit + wait
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long n;

static void *calls(void *arg) {
  (void)arg;
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  return NULL;
}

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  n = atol(argv[2]);
  long long start = now();
  if (strcmp(argv[1], "calls") == 0) calls(NULL);
  else if (strcmp(argv[1], "threads") == 0) {
    int t = argc > 3 ? atoi(argv[3]) : 4;
    pthread_t th[64];
    for (int i = 0; i < t; i++) pthread_create(&th[i], NULL, calls, NULL);
    for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
  } else if (strcmp(argv[1], "forks") == 0) {
    for (long i = 0; i < n; i++) {
      pid_t p = fork();
      if (p == 0) _exit(0);
      waitpid(p, NULL, 0);
    }
  } else return 2;
  printf("%lld\n", now() - start);
  return 0;
}

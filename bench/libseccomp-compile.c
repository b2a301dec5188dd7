/*
 * In-process compile time of libseccomp (C, no binding overhead): builds a filter from a rule list
 * the way runc does and exports its BPF, REPEAT times; prints mean milliseconds per build+export.
 * Input (stdin), one item per line, written by bench/compile.mjs from a resolved profile:
 *   default ACTION            (ACTION is a 32-bit SCMP_ACT_* value)
 *   arch TOKEN                (an AUDIT_ARCH/SCMP_ARCH token)
 *   rule ACTION NAME N [ARG OP A B]*   (OP: 1..7 as enum scmp_compare)
 * Usage: libseccomp-compile REPEAT < rules     (built by bench/compile.mjs with -lseccomp)
 */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MAXRULES 4096
struct rule {
  uint32_t action;
  char name[64];
  unsigned n;
  struct scmp_arg_cmp args[6];
};
static struct rule rules[MAXRULES];
static unsigned nrules;
static uint32_t arches[32];
static unsigned narches;
static uint32_t def;

int main(int argc, char **argv) {
  int repeat = argc > 1 ? atoi(argv[1]) : 100;
  char kind[16];
  while (scanf("%15s", kind) == 1) {
    if (!strcmp(kind, "default")) scanf("%u", &def);
    else if (!strcmp(kind, "arch")) scanf("%u", &arches[narches++]);
    else if (!strcmp(kind, "rule")) {
      struct rule *r = &rules[nrules++];
      scanf("%u %63s %u", &r->action, r->name, &r->n);
      for (unsigned i = 0; i < r->n; i++) {
        unsigned arg, op;
        unsigned long long a, b;
        scanf("%u %u %llu %llu", &arg, &op, &a, &b);
        r->args[i] = (struct scmp_arg_cmp){arg, (enum scmp_compare)op, a, b};
      }
    }
  }
  int devnull = open("/dev/null", O_WRONLY);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int it = 0; it < repeat; it++) {
    scmp_filter_ctx ctx = seccomp_init(def);
    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    for (unsigned i = 0; i < narches; i++) seccomp_arch_add(ctx, arches[i]);
    for (unsigned i = 0; i < nrules; i++) {
      int nr = seccomp_syscall_resolve_name(rules[i].name);
      if (nr == __NR_SCMP_ERROR) continue;
      seccomp_rule_add_array(ctx, rules[i].action, nr, rules[i].n, rules[i].args);
    }
    seccomp_export_bpf(ctx, devnull);
    seccomp_release(ctx);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.4f\n", ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / repeat);
  return 0;
}

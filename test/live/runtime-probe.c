/*
 * Probe for the runtime-verdict live test: runs inside a container whose seccomp filter runc (or
 * crun) built with libseccomp. No C library (gcc -O2 -static -nostdlib -fno-stack-protector), so
 * that its own syscalls are few and known: mmap, rt_sigaction, fork, wait4, write, exit_group,
 * rt_sigreturn. Each argument is one case, "NR,A0,A1,A2,A3,A4,A5" in hex; for each, a forked child
 * makes the call and leaves the outcome in shared memory, and the parent prints one line:
 *   RET            the call returned (it was allowed or logged)
 *   ERRNO <n>      it failed with errno n (SECCOMP_RET_ERRNO, or -ENOSYS for TRACE without tracer)
 *   TRAP           SIGSYS reached the child's handler (SECCOMP_RET_TRAP)
 *   SIGNAL <n>     the child was killed by signal n (SECCOMP_RET_KILL_*: 31)
 */
typedef unsigned long u64;

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static volatile char *shared;

static void out(const char *s) {
  long n = 0;
  while (s[n]) n++;
  sys6(1, 1, (long)s, n, 0, 0, 0);
}

static void leave(void) {
  sys6(231, 0, 0, 0, 0, 0, 0);
  for (;;) {
  }
}

static void restorer(void) { sys6(15, 0, 0, 0, 0, 0, 0); }

static void on_sigsys(int sig) {
  (void)sig;
  shared[0] = 'T';
  leave();
}

static u64 hex(const char **p) {
  u64 v = 0;
  while (**p && **p != ',') {
    char c = **p;
    v = v * 16 + (u64)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
    (*p)++;
  }
  if (**p == ',') (*p)++;
  return v;
}

static void decimal(char *buf, long v) {
  char tmp[24];
  int n = 0;
  if (v == 0) tmp[n++] = '0';
  while (v > 0) {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  }
  int i = 0;
  while (n > 0) buf[i++] = tmp[--n];
  buf[i] = 0;
}

struct kact {
  void (*handler)(int);
  u64 flags;
  void (*restorer)(void);
  u64 mask;
};

void cmain(long *sp) {
  long argc = sp[0];
  const char **argv = (const char **)(sp + 1);
  shared = (volatile char *)sys6(9, 0, 4096, 3, 0x21, -1, 0); /* PROT_RW, MAP_SHARED|ANON */
  struct kact act = {on_sigsys, 0x04000000 /* SA_RESTORER */, restorer, 0};
  sys6(13, 31, (long)&act, 0, 8, 0, 0);
  for (long i = 1; i < argc; i++) {
    const char *p = argv[i];
    u64 v[7];
    for (int k = 0; k < 7; k++) v[k] = hex(&p);
    for (int k = 0; k < 16; k++) shared[k] = 0;
    long pid = sys6(57, 0, 0, 0, 0, 0, 0);
    if (pid == 0) {
      long r = sys6((long)v[0], (long)v[1], (long)v[2], (long)v[3], (long)v[4], (long)v[5], (long)v[6]);
      if (r < 0 && r > -4096) {
        shared[0] = 'E';
        long e = -r;
        shared[1] = (char)(e & 0xff);
        shared[2] = (char)(e >> 8);
      } else
        shared[0] = 'R';
      leave();
    }
    int status = 0;
    sys6(61, pid, (long)&status, 0, 0, 0, 0);
    char line[48];
    if (shared[0] == 'R')
      out("RET\n");
    else if (shared[0] == 'T')
      out("TRAP\n");
    else if (shared[0] == 'E') {
      out("ERRNO ");
      decimal(line, (unsigned char)shared[1] | ((unsigned char)shared[2] << 8));
      out(line);
      out("\n");
    } else if ((status & 0x7f) != 0) {
      out("SIGNAL ");
      decimal(line, status & 0x7f);
      out(line);
      out("\n");
    } else {
      out("EXIT ");
      decimal(line, (status >> 8) & 0xff);
      out(line);
      out("\n");
    }
  }
  leave();
}

__asm__(".global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call cmain\n hlt\n");

#!/usr/bin/python3
"""Dump how the installed libseccomp resolves syscall names on every ABI it knows.

sysfence's model of libseccomp (src/libseccomp/) needs libseccomp's own name tables: which names
it knows on the host ABI (runc skips the others), which number a name gets on each ABI of a filter,
and which names it gives a negative "pseudo" number (no such syscall on that ABI). Written to
data/libseccomp/names-<version>.json by `node scripts/gen-libseccomp-names.mjs` (which also passes
the candidate names: every name of sysfence's kernel tables and legacy list).

stdin:  {"names": [...]}
stdout: {"version": "x.y.z", "arches": {arch: {"numbers": {name: nr}, "pseudo": [names]}}}
  numbers: names with a real number on the ABI (for socketcall/ipc calls on ABIs that multiplex
           them: the direct syscall's number, when the ABI has one)
  pseudo:  names libseccomp knows but gives a negative pseudo number on the ABI
  a name in neither is unknown to libseccomp on that ABI
"""
import ctypes
import ctypes.util
import json
import sys

import seccomp

lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
libc = ctypes.CDLL(None)


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


lib.seccomp_version.restype = ctypes.POINTER(Version)
v = lib.seccomp_version().contents
version = "%d.%d.%d" % (v.major, v.minor, v.micro)

ARCHES = {
    "x86_64": "X86_64", "x86": "X86", "x32": "X32", "aarch64": "AARCH64", "arm": "ARM",
    "riscv64": "RISCV64", "ppc64le": "PPC64LE", "ppc64": "PPC64", "ppc": "PPC", "s390x": "S390X",
    "s390": "S390", "mips": "MIPS", "mipsel": "MIPSEL", "mips64": "MIPS64", "mipsel64": "MIPSEL64",
    "mips64n32": "MIPS64N32", "mipsel64n32": "MIPSEL64N32", "loongarch64": "LOONGARCH64",
}
# number ranges searched for reverse lookups (the ABIs' own numbering, with room above)
RANGES = {"x32": (0x40000000, 0x40000000 + 1100), "mips": (4000, 5100), "mipsel": (4000, 5100),
          "mips64": (5000, 6100), "mipsel64": (5000, 6100), "mips64n32": (6000, 7100),
          "mipsel64n32": (6000, 7100)}

req = json.load(sys.stdin)
names = set(req["names"])
out = {"version": version, "arches": {}}
tokens = {}
for arch, attr in ARCHES.items():
    token = getattr(seccomp.Arch, attr, None)
    if token is not None:
        tokens[arch] = int(token)
# names libseccomp knows that sysfence's candidates lack, found by reverse lookup
reverse = {}
for arch, token in tokens.items():
    lo, hi = RANGES.get(arch, (0, 1100))
    nrs = list(range(lo, hi)) + list(range(0xF0000, 0xF0010))
    rev = {}
    for nr in nrs:
        p = lib.seccomp_syscall_resolve_num_arch(token, nr)
        if p:
            n = ctypes.string_at(p).decode()
            libc.free(ctypes.c_void_p(p))
            rev.setdefault(n, nr)
            names.add(n)
    reverse[arch] = rev
for arch, token in tokens.items():
    numbers, pseudo = {}, []
    for n in sorted(names):
        nr = lib.seccomp_syscall_resolve_name_arch(token, n.encode())
        if nr >= 0:
            numbers[n] = nr
        elif nr != -1:  # __NR_SCMP_ERROR is -1: unknown name
            if n in reverse[arch]:
                numbers[n] = reverse[arch][n]  # a multiplexed call the ABI also has directly
            else:
                pseudo.append(n)
    out["arches"][arch] = {"numbers": numbers, "pseudo": pseudo}
json.dump(out, sys.stdout, sort_keys=True, indent=1)

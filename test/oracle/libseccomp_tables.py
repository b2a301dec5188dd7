#!/usr/bin/python3
"""Dump libseccomp's syscall tables (the test oracle: Debian's libseccomp2 via ctypes).

Calls seccomp_syscall_resolve_name_arch / seccomp_syscall_resolve_num_arch, the functions
`scmp_sys_resolver -a ARCH NAME` uses (no pseudo-number rewriting).
stdin:  {"names": [...], "arches": [...], "range": {arch: [lo, hi]}}
stdout: {arch: {"byName": {name: nr}, "byNr": {nr: name}, "version": "x.y.z"} | null}
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


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


lib.seccomp_version.restype = ctypes.POINTER(Version)
v = lib.seccomp_version().contents
version = "%d.%d.%d" % (v.major, v.minor, v.micro)

req = json.load(sys.stdin)
out = {"version": version, "arches": {}}
for arch in req["arches"]:
    token = getattr(seccomp.Arch, arch.upper(), None)
    if token is None:
        out["arches"][arch] = None
        continue
    token = int(token)
    by_name = {n: lib.seccomp_syscall_resolve_name_arch(token, n.encode()) for n in req["names"]}
    lo, hi = req["range"][arch]
    by_nr = {}
    for nr in list(range(lo, hi)):
        p = lib.seccomp_syscall_resolve_num_arch(token, nr)
        if p:
            by_nr[str(nr)] = ctypes.string_at(p).decode()
            ctypes.CDLL(None).free(ctypes.c_void_p(p))
    out["arches"][arch] = {"byName": by_name, "byNr": by_nr}
json.dump(out, sys.stdout, sort_keys=True)

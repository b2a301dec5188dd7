#!/usr/bin/python3
"""Build seccomp filters with libseccomp the way runc does, and export their BPF.

This is sysfence's test oracle (Debian's python3-seccomp), used by `sysfence verify
--against-libseccomp`, the differential tests and the benchmarks; never at run time otherwise.

stdin:  {"profiles": [{"defaultAction", "defaultErrnoRet"?, "architectures": [...],
          "syscalls": [{"names", "action", "errnoRet"?, "args"?: [{"index","value","valueTwo","op"}]}],
          "badArch": "KILL_PROCESS"|"KILL_THREAD", "optimize": 1|2, "repeat": N}]}
        (values are decimal strings, so that 64-bit integers stay exact)
stdout: {"version": "x.y.z", "results": [{"bpf": base64, "skipped": [names], "error": str|null,
          "timeout": bool, "seconds": mean build+export time}]}

Each profile is built in a forked child (a few at a time) with a time limit ("timeout" in the
request, seconds, default 5): some rule
sets make libseccomp's rule adding loop forever; such a profile is reported with "timeout": true.
"""
import base64
import json
import os
import select
import signal
import sys
import tempfile
import time

import seccomp

ACTIONS = {
    "SCMP_ACT_KILL": lambda d: seccomp.KILL,
    "SCMP_ACT_KILL_THREAD": lambda d: seccomp.KILL,
    "SCMP_ACT_KILL_PROCESS": lambda d: seccomp.KILL_PROCESS,
    "SCMP_ACT_TRAP": lambda d: seccomp.TRAP,
    "SCMP_ACT_ERRNO": lambda d: seccomp.ERRNO(1 if d is None else d),
    "SCMP_ACT_TRACE": lambda d: seccomp.TRACE(1 if d is None else d),
    "SCMP_ACT_ALLOW": lambda d: seccomp.ALLOW,
    "SCMP_ACT_LOG": lambda d: seccomp.LOG,
    "SCMP_ACT_NOTIFY": lambda d: seccomp.NOTIFY,
}
OPS = {
    "SCMP_CMP_NE": seccomp.NE, "SCMP_CMP_LT": seccomp.LT, "SCMP_CMP_LE": seccomp.LE,
    "SCMP_CMP_EQ": seccomp.EQ, "SCMP_CMP_GE": seccomp.GE, "SCMP_CMP_GT": seccomp.GT,
    "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}
ARCH = {
    "SCMP_ARCH_X86_64": seccomp.Arch.X86_64, "SCMP_ARCH_X86": seccomp.Arch.X86, "SCMP_ARCH_X32": seccomp.Arch.X32,
    "SCMP_ARCH_AARCH64": seccomp.Arch.AARCH64, "SCMP_ARCH_ARM": seccomp.Arch.ARM,
    "SCMP_ARCH_RISCV64": seccomp.Arch.RISCV64, "SCMP_ARCH_PPC64LE": seccomp.Arch.PPC64LE,
    "SCMP_ARCH_PPC64": seccomp.Arch.PPC64, "SCMP_ARCH_PPC": seccomp.Arch.PPC,
    "SCMP_ARCH_S390X": seccomp.Arch.S390X, "SCMP_ARCH_S390": seccomp.Arch.S390,
    "SCMP_ARCH_MIPS": seccomp.Arch.MIPS, "SCMP_ARCH_MIPSEL": seccomp.Arch.MIPSEL,
    "SCMP_ARCH_MIPS64": seccomp.Arch.MIPS64, "SCMP_ARCH_MIPSEL64": seccomp.Arch.MIPSEL64,
    "SCMP_ARCH_MIPS64N32": seccomp.Arch.MIPS64N32, "SCMP_ARCH_MIPSEL64N32": seccomp.Arch.MIPSEL64N32,
}


def action_value(name, errno):
    return ACTIONS[name](errno)


def build(p):
    default = action_value(p["defaultAction"], p.get("defaultErrnoRet"))
    f = seccomp.SyscallFilter(default)
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS if p.get("badArch", "KILL_PROCESS") == "KILL_PROCESS" else seccomp.KILL)
    if p.get("optimize", 1) == 2:
        f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
    for a in p.get("architectures") or []:
        token = ARCH.get(a)
        if token is None:
            raise ValueError("libseccomp %s lacks %s" % (version(), a))
        if not f.exist_arch(token):
            f.add_arch(token)
    skipped = []
    for rule in p.get("syscalls") or []:
        action = action_value(rule["action"], rule.get("errnoRet"))
        if action == default:  # runc drops rules equal to the default action
            continue
        conds = [seccomp.Arg(a["index"], OPS[a["op"]], int(a["value"]), int(a.get("valueTwo", "0"))) for a in rule.get("args") or []]
        counts = {}
        for a in rule.get("args") or []:
            counts[a["index"]] = counts.get(a["index"], 0) + 1
        groups = [[c] for c in conds] if any(n > 1 for n in counts.values()) else [conds]
        for name in rule["names"]:
            try:
                seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
            except (ValueError, RuntimeError):
                skipped.append(name)  # runc: "unknown seccomp syscall ignored"
                continue
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1:
                skipped.append(name)
                continue
            for g in groups:
                f.add_rule(action, name, *g)
    return f, skipped


def version():
    import ctypes
    import ctypes.util

    class V(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_version.restype = ctypes.POINTER(V)
    v = lib.seccomp_version().contents
    return "%d.%d.%d" % (v.major, v.minor, v.micro)


def build_one(p):
    repeat = max(1, int(p.get("repeat", 1)))
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        t0 = time.perf_counter()
        for _ in range(repeat):
            f, skipped = build(p)
            with open(path, "wb") as out:
                f.export_bpf(out)
        seconds = (time.perf_counter() - t0) / repeat
        with open(path, "rb") as fh:
            data = fh.read()
    finally:
        os.unlink(path)
    return {"bpf": base64.b64encode(data).decode(), "skipped": sorted(set(skipped)), "error": None,
            "timeout": False, "seconds": seconds}


def start(p):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = build_one(p)
        except Exception as e:  # noqa: BLE001 - reported per profile
            res = {"bpf": None, "skipped": [], "error": "%s: %s" % (type(e).__name__, e), "timeout": False,
                   "seconds": 0}
        data = json.dumps(res).encode()
        with os.fdopen(w, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(w)
    return {"pid": pid, "fd": r, "chunks": [], "deadline": time.monotonic() + LIMIT}


def finish(job, timed_out):
    os.close(job["fd"])
    if timed_out:
        os.kill(job["pid"], signal.SIGKILL)
    os.waitpid(job["pid"], 0)
    if timed_out:
        return {"bpf": None, "skipped": [], "error": "timeout: libseccomp did not finish in %ss" % LIMIT,
                "timeout": True, "seconds": LIMIT}
    return json.loads(b"".join(job["chunks"]).decode())


def run_all(profiles, parallel):
    """Builds every profile in forked children, a few at a time, each with the time limit."""
    results = [None] * len(profiles)
    pending = list(range(len(profiles)))
    running = {}
    while pending or running:
        while pending and len(running) < parallel:
            i = pending.pop(0)
            running[i] = start(profiles[i])
        now = time.monotonic()
        wait = max(0.0, min(j["deadline"] for j in running.values()) - now)
        ready, _, _ = select.select([j["fd"] for j in running.values()], [], [], wait)
        for i, job in list(running.items()):
            if job["fd"] in ready:
                chunk = os.read(job["fd"], 1 << 20)
                if chunk:
                    job["chunks"].append(chunk)
                    continue
                results[i] = finish(job, False)
                del running[i]
            elif time.monotonic() >= job["deadline"]:
                results[i] = finish(job, True)
                del running[i]
    return results


LIMIT = 5.0


def main():
    global LIMIT
    req = json.load(sys.stdin)
    LIMIT = float(req.get("timeout", 5))
    parallel = max(1, min(8, (os.cpu_count() or 1) * 2))
    results = run_all(req["profiles"], parallel)
    json.dump({"version": version(), "results": results}, sys.stdout)


main()

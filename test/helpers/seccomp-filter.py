#!/usr/bin/env python3
"""Print the seccomp filter installed on a process as JSON: [[code, jt, jf, k], ...].

    seccomp-filter.py PID

ptrace(2) PTRACE_SECCOMP_GET_FILTER (Linux 4.4, CONFIG_CHECKPOINT_RESTORE) copies out the classic
BPF program of the process's most recent filter (index 0); the tracer needs CAP_SYS_ADMIN and must
not run under seccomp itself (kernel/seccomp.c get_seccomp_filter). The process is seized,
interrupted for the copy (the call needs a ptrace-stopped tracee) and detached again. A test reads
the program a live sandbox really runs under and evaluates it (test/helpers/cbpf.ts).
"""
import ctypes
import json
import os
import sys

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_SECCOMP_GET_FILTER = 0x420C


class SockFilter(ctypes.Structure):
    """struct sock_filter (include/uapi/linux/filter.h)."""
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


def main() -> None:
    pid = int(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]

    def call(request: int, addr: int, data) -> int:
        r = libc.ptrace(request, pid, addr, data)
        if r < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"ptrace({request:#x}, {pid}): {os.strerror(err)}")
        return r

    call(PTRACE_SEIZE, 0, None)
    try:
        call(PTRACE_INTERRUPT, 0, None)
        os.waitpid(pid, getattr(os, "__WALL", 0x40000000))
        count = call(PTRACE_SECCOMP_GET_FILTER, 0, None)  # data NULL: the program's length
        prog = (SockFilter * count)()
        call(PTRACE_SECCOMP_GET_FILTER, 0, ctypes.addressof(prog))
    finally:
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    print(json.dumps([[i.code, i.jt, i.jf, i.k] for i in prog]))


main()

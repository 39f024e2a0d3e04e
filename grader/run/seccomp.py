"""A seccomp filter that keeps a run from creating user namespaces, for bwrap's --seccomp.

Why: inside a user namespace of its own a run is "root" with every capability over that
namespace, and the kernel's code paths reachable only that way (mounting, netfilter,
namespaced sysctls) are a large share of its local privilege-escalation bugs. A run
needs none of it. bubblewrap's own `--disable-userns` needs `--unshare-user`, which a
root grader deliberately does not use (grader.run.bwrap says why), so one filter serves
both modes, and the warm runner's zygote (grader.run.warm), whose children become the
runs, is started under it too.

The filter, hand-written classic BPF (no libseccomp binding is needed for 13
instructions): `unshare` and `clone` with CLONE_NEWUSER in their flags fail with EPERM;
`clone3` fails with ENOSYS, since its flags sit in a structure BPF cannot read, and libc
then falls back to `clone` (as Docker's and Flatpak's filters do); a system call of any
other architecture (32-bit or x32 code on a 64-bit machine, which has other numbers)
fails with EPERM. Everything else is allowed: this is one narrow rule, not a whitelist.
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import struct
from collections.abc import Iterator

CLONE_NEWUSER = 0x10000000
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_X32_BIT = 0x40000000
# seccomp_data: int nr; u32 arch; u64 ip; u64 args[6] (little-endian: the low half first)
_NR, _ARCH, _ARG0_LOW = 0, 4, 16

# machine: (AUDIT_ARCH_*, unshare, clone, clone3, whether x32 numbers exist)
_ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435, True),
    "aarch64": (0xC00000B7, 97, 220, 435, False),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for this machine's architecture, as bwrap reads it (struct sock_filter
    in a row); None where the system call numbers are not known here."""
    known = _ARCHES.get(machine or platform.machine())
    if known is None:
        return None
    arch, unshare, clone, clone3, x32 = known
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    # jump offsets count the instructions after the jumping one
    return b"".join([
        _insn(_LD_W_ABS, _ARCH),                   # 0
        _insn(_JEQ, arch, 0, 10),                  # 1: another architecture -> 12
        _insn(_LD_W_ABS, _NR),                     # 2
        _insn(_JGE, _X32_BIT if x32 else 0xFFFFFFFF, 8, 0),  # 3: x32 numbers -> 12
        _insn(_JEQ, clone3, 6, 0),                 # 4: -> 11
        _insn(_JEQ, unshare, 2, 0),                # 5: -> 8
        _insn(_JEQ, clone, 1, 0),                  # 6: -> 8
        _insn(_RET, _ALLOW),                       # 7
        _insn(_LD_W_ABS, _ARG0_LOW),               # 8: the flags
        _insn(_JSET, CLONE_NEWUSER, 2, 0),         # 9: a new user namespace -> 12
        _insn(_RET, _ALLOW),                       # 10
        _insn(_RET, enosys),                       # 11
        _insn(_RET, eperm),                        # 12
    ])


@contextlib.contextmanager
def filter_fd() -> Iterator[int | None]:
    """A descriptor bwrap reads the filter from (`--seccomp FD`, and FD in pass_fds), fresh
    for each sandbox since bwrap reads to its end; None where there is no filter for this
    architecture. Closed on leaving: the child has its own copy by then."""
    code = program()
    if code is None:
        yield None
        return
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, code)  # 104 bytes: far below a pipe's buffer, never blocks
        os.close(write_end)
        write_end = -1
        yield read_end
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)

"""The worker's seccomp program, evaluated in-process for every architecture it supports.

Only one architecture runs here; this interpreter of the few classic BPF instructions the
program uses checks the others' tables and jumps too (a jump past the end raises).
"""

from __future__ import annotations

import errno
import struct

import pytest

from antiphon.tools.code_interpreter._child import seccomp

_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_KILL, _ALLOW, _ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_CLONE_THREAD, _CLONE_VM, _CLONE_NEWUSER, _SIGCHLD = 0x10000, 0x100, 0x10000000, 17

# (x86_64, aarch64) numbers of calls the filter must let through or refuse.
_SYSCALLS = {
    "read": (0, 63), "close": (3, 57), "openat": (257, 56), "mmap": (9, 222),
    "prctl": (157, 167), "getrandom": (318, 278), "socket": (41, 198), "unshare": (272, 97),
    "memfd_create": (319, 279), "io_uring_setup": (425, 425), "keyctl": (250, 219),
    "ptrace": (101, 117), "setsid": (112, 157), "clone": (56, 220), "clone3": (435, 435),
    "socketpair": (53, 199), "mount": (165, 40), "open_by_handle_at": (304, 265),
}  # fmt: skip
# Metadata writes: refused only to a worker sharing the server's uid. -1: not in that table.
_METADATA = {
    "chmod": (90, -1), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, -1), "fchown": (93, 55), "lchown": (94, -1), "fchownat": (260, 54),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "utime": (132, -1), "utimes": (235, -1), "futimesat": (261, -1), "utimensat": (280, 88),
    "setxattrat": (463, 463), "removexattrat": (466, 466), "file_setattr": (469, 469),
}  # fmt: skip


def _run(
    machine: str, nr: int, *, arch: int | None = None, arg0: int = 0, metadata: bool = False
) -> int:
    data = struct.pack(
        "<iIQ6Q", nr, _ARCH[machine] if arch is None else arch, 0, arg0, 0, 0, 0, 0, 0
    )
    program = seccomp.program(machine, deny_metadata=metadata)
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:  # ld [k]
            accumulator = struct.unpack_from("<I", data, k)[0]
            pc += 1
            continue
        if code == 0x06:  # ret k
            return k
        taken = {0x15: accumulator == k, 0x35: accumulator >= k, 0x45: bool(accumulator & k)}[code]
        pc += 1 + (jt if taken else jf)
        assert pc < len(program), "a jump past the end of the program"


def _number(machine: str, name: str) -> int:
    return _SYSCALLS[name][0 if machine == "x86_64" else 1]


@pytest.fixture(params=sorted(_ARCH))
def machine(request: pytest.FixtureRequest) -> str:
    return request.param


def test_ordinary_calls_pass(machine: str) -> None:
    for name in ("read", "close", "openat", "mmap", "prctl", "getrandom"):
        assert _run(machine, _number(machine, name)) == _ALLOW, name


def test_the_denied_calls_fail_with_eperm(machine: str) -> None:
    names = ("socket", "unshare", "memfd_create", "io_uring_setup", "keyctl", "ptrace", "setsid")
    for name in (*names, "mount", "open_by_handle_at"):
        assert _run(machine, _number(machine, name)) == _ERRNO | errno.EPERM, name


def test_clone_makes_threads_only(machine: str) -> None:
    clone = _number(machine, "clone")
    thread = _CLONE_VM | _CLONE_THREAD
    assert _run(machine, clone, arg0=thread) == _ALLOW
    assert _run(machine, clone, arg0=_SIGCHLD) == _ERRNO | errno.EPERM  # fork
    assert _run(machine, clone, arg0=thread | _CLONE_NEWUSER) == _ERRNO | errno.EPERM
    assert _run(machine, _number(machine, "clone3")) == _ERRNO | errno.ENOSYS


def test_socketpair_only_for_unix_sockets(machine: str) -> None:
    socketpair = _number(machine, "socketpair")
    assert _run(machine, socketpair, arg0=1) == _ALLOW  # AF_UNIX
    assert _run(machine, socketpair, arg0=2) == _ERRNO | errno.EPERM  # AF_INET


def test_another_architecture_is_killed(machine: str) -> None:
    assert _run(machine, 0, arch=0x40000003) == _KILL  # i386
    if machine == "x86_64":
        assert _run(machine, 0x40000000 | 41) == _KILL  # x32 socket


def test_an_unknown_architecture_has_no_program() -> None:
    with pytest.raises(OSError, match="riscv64"):
        seccomp.program("riscv64")


def test_metadata_writes_fail_only_without_a_uid_of_its_own(machine: str) -> None:
    column = 0 if machine == "x86_64" else 1
    for name, numbers in _METADATA.items():
        if numbers[column] < 0:
            continue
        assert _run(machine, numbers[column]) == _ALLOW, name
        assert _run(machine, numbers[column], metadata=True) == _ERRNO | errno.EPERM, name
    for name in ("read", "close", "openat", "mmap", "prctl", "getrandom"):
        assert _run(machine, _number(machine, name), metadata=True) == _ALLOW, name
    assert _run(machine, _number(machine, "socket"), metadata=True) == _ERRNO | errno.EPERM

"""A seccomp filter through ctypes: system calls the worker never needs fail with ``EPERM``.

Written by hand as a classic BPF program (the worker runs ``python -I -S`` on the standard
library only, so no libseccomp binding). The filter holds without the audit hook and without
Landlock: a cell that loads ``ctypes`` and calls ``syscall(2)`` directly meets the same refusal.
It denies every ``socket`` (any address family, so no pathname UNIX socket on the host is
reachable whatever its file mode), ``socketpair`` other than ``AF_UNIX`` (asyncio's self-pipe
needs that one), new processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``:
threads stay possible where the uid allows them), leaving the process group (``setsid``,
``setpgid``: killing the group on expiry reaches everything), namespaces (``unshare``,
``setns``, ``clone`` with a ``CLONE_NEW*`` flag; ``clone3``, whose flags BPF cannot read, fails
with ``ENOSYS`` so the C library falls back to ``clone``), io_uring, the kernel keyring,
``memfd_create``, tracing and other processes' memory, BPF, userfaultfd, perf events, mounts,
module and kexec loading, file handles, and a few administrative calls. A worker without a uid
of its own (a server that is not root) also meets a refusal for every change of a file's mode,
owner, times or extended attributes: Landlock does not govern those, and the server's own files
would otherwise be the cell's to make setuid or world-writable. A system call from
another architecture's table (x32, or a foreign audit architecture) kills the process: it can
only be an attempt to slip past the filter.
"""

from __future__ import annotations

import ctypes
import errno
import os

__all__ = ["DENIED", "METADATA", "Instruction", "install", "program"]

# name: (x86_64, aarch64 and the other asm-generic tables); -1: absent from that table
_NUMBERS: dict[str, tuple[int, int]] = {
    "fork": (57, -1), "vfork": (58, -1), "setsid": (112, 157), "setpgid": (109, 154),
    "socket": (41, 198), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "unshare": (272, 97), "setns": (308, 268),
    "memfd_create": (319, 279), "memfd_secret": (447, 447), "ptrace": (101, 117),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "kcmp": (312, 272),
    "pidfd_getfd": (438, 438), "bpf": (321, 280), "userfaultfd": (323, 282),
    "perf_event_open": (298, 241), "fanotify_init": (300, 262), "mount": (165, 40),
    "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51), "open_tree": (428, 428),
    "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265), "swapon": (167, 224), "swapoff": (168, 225),
    "reboot": (169, 142), "acct": (163, 89), "quotactl": (179, 60), "syslog": (103, 116),
}  # fmt: skip
# Metadata writes, denied only to a worker that shares the server's uid: Landlock does not
# govern them, so such a worker could chmod, chown or re-date any file the server owns.
_METADATA_NUMBERS: dict[str, tuple[int, int]] = {
    "chmod": (90, -1), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, -1), "fchown": (93, 55), "lchown": (94, -1), "fchownat": (260, 54),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7), "setxattrat": (463, 463),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "removexattrat": (466, 466), "utime": (132, -1), "utimes": (235, -1),
    "futimesat": (261, -1), "utimensat": (280, 88), "file_setattr": (469, 469),
}  # fmt: skip
DENIED = tuple(sorted(_NUMBERS))
METADATA = tuple(sorted(_METADATA_NUMBERS))
_CLONE, _CLONE3, _SOCKETPAIR = (56, 220), (435, 435), (53, 199)
_ARCHITECTURES = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}
_X32_BIT = 0x40000000
_CLONE_THREAD = 0x10000
# CLONE_NEWNS, _NEWCGROUP, _NEWUTS, _NEWIPC, _NEWUSER, _NEWPID, _NEWNET
_CLONE_NAMESPACES = sum((0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 1 << 30))
_AF_UNIX = 1

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data, little-endian arg0
_KILL_PROCESS, _ALLOW, _ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_DENY, _NO_SUCH_CALL = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2

Instruction = tuple[int, int, int, int]  # code, jump if true, jump if false, constant


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def program(machine: str, *, deny_metadata: bool = False) -> list[Instruction]:
    """The classic BPF program for ``machine`` (``os.uname().machine``).

    ``deny_metadata`` also refuses the :data:`METADATA` calls (mode, owner, times, extended
    attributes), for a worker without a uid of its own. Raises :class:`OSError` for an
    architecture whose system call table this module lacks.
    """
    if machine not in _ARCHITECTURES:
        raise OSError(errno.ENOSYS, f"no seccomp filter for the {machine} architecture")
    audit_arch, column = _ARCHITECTURES[machine]

    def deny_if(number: int, action: int = _DENY) -> list[Instruction]:
        return [(_JEQ, 0, 1, number), (_RET, 0, 0, action)]

    instructions: list[Instruction] = [
        (_LD_ABS_W, 0, 0, _OFFSET_ARCH),
        (_JEQ, 1, 0, audit_arch),
        (_RET, 0, 0, _KILL_PROCESS),
        (_LD_ABS_W, 0, 0, _OFFSET_NR),
    ]
    if machine == "x86_64":
        instructions += [(_JGE, 0, 1, _X32_BIT), (_RET, 0, 0, _KILL_PROCESS)]
    numbers = {**_NUMBERS, **(_METADATA_NUMBERS if deny_metadata else {})}
    for name in sorted(numbers):
        if numbers[name][column] >= 0:
            instructions += deny_if(numbers[name][column])
    instructions += deny_if(_CLONE3[column], _NO_SUCH_CALL)
    instructions += [
        # clone: only a thread, and never into a new namespace
        (_JEQ, 0, 6, _CLONE[column]),
        (_LD_ABS_W, 0, 0, _OFFSET_ARG0),
        (_JSET, 0, 1, _CLONE_NAMESPACES),
        (_RET, 0, 0, _DENY),
        (_JSET, 0, 1, _CLONE_THREAD),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _DENY),
        # socketpair: only AF_UNIX
        (_JEQ, 0, 4, _SOCKETPAIR[column]),
        (_LD_ABS_W, 0, 0, _OFFSET_ARG0),
        (_JEQ, 0, 1, _AF_UNIX),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _DENY),
        (_RET, 0, 0, _ALLOW),
    ]
    return instructions


def install(*, deny_metadata: bool = False) -> str:
    """Apply the filter to this process for the rest of its life; describe what it denies.

    ``deny_metadata``: see :func:`program`. Needs ``no_new_privs`` (set by the caller). Raises
    :class:`OSError` on an architecture whose system call table this module does not know, or
    when the kernel refuses the filter.
    """
    filter_program = program(os.uname().machine, deny_metadata=deny_metadata)
    instructions = (_SockFilter * len(filter_program))(*filter_program)
    fprog = _SockFprog(len(filter_program), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl(PR_SET_SECCOMP): {os.strerror(code)}")
    denied = "sockets, new processes, namespaces, io_uring, keyrings, memfd, ptrace, bpf, mounts"
    if deny_metadata:
        return f"denies {denied}, modules, and changes of file mode, owner, times and xattrs"
    return f"denies {denied}, modules"

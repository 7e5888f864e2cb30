"""Landlock through ctypes: confine the worker's filesystem, TCP and signal/abstract-socket reach.

Landlock is a kernel LSM any process may apply to itself; once applied it cannot be lifted, it
is inherited by children, and it binds root too. The worker handles every access right the
kernel knows (ABI 1 to 6+) and grants back only: full access beneath the scratch directory,
read access to the Python installation and the shared libraries, and read/write to a few
character devices. With ABI 4+ TCP bind/connect are denied outright; with ABI 6+ abstract UNIX
sockets and signals to processes outside the sandbox are too. Syscall numbers 444 to 446 are
the same on every architecture Linux assigns them on.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable

__all__ = ["abi_version", "restrict"]

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> int:
    result = int(_libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def abi_version() -> int:
    """The Landlock ABI the kernel offers, 0 when Landlock is absent or disabled."""
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def _allow(ruleset: int, path: str, rights: int, handled: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this host lacks needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS  # directory rights on a file are EINVAL
        attr = _PathBeneathAttr(rights & handled, fd)
        _syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                 ctypes.byref(attr), ctypes.c_uint32(0))  # fmt: skip
    finally:
        os.close(fd)


def restrict(
    abi: int, *, writable: str, readable: Iterable[str], devices: Iterable[str]
) -> list[str]:
    """Apply the ruleset to this process; return the names of the layers now active."""
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, 0)
    layers = ["landlock_filesystem"]
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP  # no rule grants either
        layers.append("landlock_network")
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        layers.append("landlock_scope")
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                       ctypes.c_uint32(0))  # fmt: skip
    try:
        _allow(ruleset, writable, handled, handled)
        for path in readable:
            _allow(ruleset, path, _READ_FILE | _READ_DIR, handled)
        for path in devices:
            _allow(ruleset, path, _READ_FILE | _WRITE_FILE | _TRUNCATE, handled)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return layers

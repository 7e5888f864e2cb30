"""Confine the worker before any user code runs; report which protections took effect.

Each layer is tried in turn and a layer the host refuses is reported, never fatal: the server
exposes the report so an operator sees exactly what holds on this machine. Order matters: the
network namespace needs root (or a user namespace), Landlock is applied while the paths are
still reachable, and the uid is dropped last; the parent-death signal is set after the uid change
because the kernel clears it on credential changes.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import sysconfig
from collections.abc import Callable

from . import landlock

__all__ = ["confine"]

_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_PDEATHSIG, _PR_SET_KEEPCAPS, _PR_SET_NO_NEW_PRIVS = 1, 8, 38
_CAP_DAC_READ_SEARCH = 2
_CAP_VERSION_3 = 0x20080522
_SHARED_LIBRARIES = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
_SHARED_DATA = ("/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _isolate_network() -> str:
    # A fresh network namespace has only a loopback interface, and it is down: no route anywhere.
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    _check(_libc.unshare(flags), "unshare")
    return "new network namespace with no interface up"


def _readable_paths() -> list[str]:
    paths = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], sys.base_prefix}
    return [*sorted(paths), *_SHARED_LIBRARIES, *_SHARED_DATA]


def _drop_privileges(uid: int, *, keep_read_search: bool) -> str:
    """Become ``uid`` with no capability, or only CAP_DAC_READ_SEARCH when Landlock bounds reads.

    The standard library may sit in a directory only root can traverse (``/root/.pyenv``);
    keeping read-search lets imports keep working while Landlock still limits what is readable.
    """
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    if keep_read_search:
        _check(_libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    os.setresuid(uid, uid, uid)
    if not keep_read_search:
        return f"uid {uid}, no capabilities"
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capset")
    return f"uid {uid}, only CAP_DAC_READ_SEARCH (reads still bounded by Landlock)"


def _set_rlimits(config: dict[str, int], *, own_uid: bool) -> str:
    limits = {
        resource.RLIMIT_AS: config["memory_bytes"],
        resource.RLIMIT_FSIZE: config["max_file_bytes"],
        resource.RLIMIT_NOFILE: config["max_open_files"],
        resource.RLIMIT_CORE: 0,
    }
    if own_uid:
        # RLIMIT_NPROC counts every task of the uid: with a uid per container, 1 forbids any
        # fork or thread. With a shared uid it would count the server's own processes.
        limits[resource.RLIMIT_NPROC] = 1
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))
    return "address space, file size, open files, core" + (", processes" if own_uid else "")


def _attempt(report: dict[str, str], name: str, step: Callable[[], str]) -> bool:
    try:
        report[name] = "active: " + step()
    except OSError as exc:
        report[name] = f"unavailable: {exc}"
        return False
    return True


def _apply_landlock(report: dict[str, str], scratch: str) -> bool:
    abi = landlock.abi_version()
    if not abi:
        report["landlock_filesystem"] = "unavailable: the kernel offers no Landlock ABI"
        return False
    try:
        layers = landlock.restrict(
            abi, writable=scratch, readable=_readable_paths(), devices=_DEVICES
        )
    except OSError as exc:
        report["landlock_filesystem"] = f"unavailable: {exc}"
        return False
    for layer in layers:
        report[layer] = f"active: Landlock ABI {abi}"
    return True


def confine(
    limits: dict[str, int], *, scratch: str, uid: int | None, network: bool, use_landlock: bool
) -> dict[str, str]:
    """Apply every available layer to this process and return ``{protection: status}``.

    ``uid`` is the unprivileged uid reserved for this container (``None``: keep the server's).
    """
    report: dict[str, str] = {}
    if network:
        _attempt(report, "network_namespace", _isolate_network)
    landlocked = use_landlock and _apply_landlock(report, scratch)
    own_uid = False
    if uid is None:
        report["unprivileged_uid"] = "unavailable: disabled, or the server does not run as root"
    else:
        own_uid = _attempt(
            report,
            "unprivileged_uid",
            lambda: _drop_privileges(uid, keep_read_search=landlocked),
        )
    report["rlimits"] = "active: " + _set_rlimits(limits, own_uid=own_uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    report["no_new_privileges"] = "active: setuid binaries and file capabilities are inert"
    _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    return report

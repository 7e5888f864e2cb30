"""Confine the worker before any user code runs; report which protections took effect.

Each layer is tried in turn and a layer the host refuses is reported, never fatal: the server
exposes the report so an operator sees exactly what holds on this machine. Order matters: the
network namespace needs root (or a user namespace); the mount namespace is set up while the
process may still mount (Landlock forbids it afterwards); Landlock is applied while the paths
are still reachable; the uid is dropped after that; the parent-death signal is set after the uid
change because the kernel clears it on credential changes; the seccomp filter comes last because
it denies ``unshare`` and ``mount``.

A worker without a uid of its own (a server that is not root) gets its network and mount
namespaces from a user namespace that maps only the server's uid; every capability it holds
there is dropped after Landlock (which needs one when ``no_new_privs`` is not yet set).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import stat
import sys
import sysconfig
from collections.abc import Callable, Iterable

from . import landlock, seccomp

__all__ = ["confine"]

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
_PR_SET_PDEATHSIG, _PR_SET_KEEPCAPS, _PR_SET_NO_NEW_PRIVS = 1, 8, 38
_CAP_DAC_READ_SEARCH = 2
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAP_VERSION_3 = 0x20080522
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_SCRATCH_INODES = 32_768
_SHARED_LIBRARIES = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
_SHARED_DATA = ("/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
)


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


def _enter_user_namespace(flags: int) -> None:
    """Unshare a user namespace (and ``flags``) where this process keeps its own uid and gid.

    The one-id maps let a tmpfs mounted in it be owned by the worker. The process holds every
    capability inside the namespace, over files of its own uid too: :func:`_drop_capabilities`
    must follow before user code runs.
    """
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(_CLONE_NEWUSER | flags), "unshare(CLONE_NEWUSER)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w", encoding="ascii") as file:
            file.write(text)


def _isolate_network(*, user_namespace: bool) -> str:
    # A fresh network namespace has only a loopback interface, and it is down: no route anywhere.
    if user_namespace:
        _enter_user_namespace(_CLONE_NEWNET)
    else:
        _check(_libc.unshare(_CLONE_NEWNET), "unshare")
    return "new network namespace with no interface up"


def _user_mount_namespace(*, in_user_namespace: bool) -> str:
    """A private mount namespace for a server that is not root, from a user namespace."""
    if in_user_namespace:
        _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    else:
        _enter_user_namespace(_CLONE_NEWNS)
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    return "private mount namespace, in a user namespace mapping only the server's uid"


def _drop_capabilities() -> None:
    """Empty every capability set (bounding set included) this process holds in its namespace."""
    last_cap = 40
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as file:
            last_cap = int(file.read())
    except (OSError, ValueError):
        pass  # drop up to a generous guess; capabilities past the kernel's are EINVAL
    for capability in range(last_cap + 1):
        result = _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
        if result != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(result, f"prctl(PR_CAPBSET_DROP, {capability})")
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient")
    data = (_CapData * 2)()  # every set empty
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capset")


def _readable_paths() -> list[str]:
    paths = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], sys.base_prefix}
    return [*sorted(paths), *_SHARED_LIBRARIES, *_SHARED_DATA]


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str) -> None:
    encoded = [None if value is None else os.fsencode(value) for value in (source, target, fstype)]
    result = _libc.mount(encoded[0], encoded[1], encoded[2], flags, data.encode() or None)
    _check(result, f"mount {target}")


def _barrier(path: str) -> str | None:
    """The outermost directory above ``path`` that other users cannot traverse, if any."""
    current = "/"
    for part in path.split(os.sep)[1:-1]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return current
    return None


def _make_path(path: str, below: str) -> None:
    """Create the directories from ``below`` to ``path`` (inside a fresh tmpfs), mode 0755."""
    current = below
    for part in os.path.relpath(path, below).split(os.sep):
        current = os.path.join(current, part)
        if not os.path.isdir(current):
            os.mkdir(current)
            os.chmod(current, 0o755)


def _hidden(readable: Iterable[str]) -> dict[str, list[str]]:
    """``{barrier: [readable paths beneath it]}`` for paths other users cannot reach."""
    paths = sorted({os.path.realpath(path) for path in readable if os.path.exists(path)})
    hidden: dict[str, list[str]] = {}
    for path in paths:
        barrier = _barrier(path)
        covered = any(path.startswith(other + os.sep) for other in hidden.get(barrier or "", []))
        if barrier is not None and not covered:
            hidden.setdefault(barrier, []).append(path)
    return hidden


def _mount_namespace(readable: Iterable[str]) -> str:
    """Enter a private mount namespace where ``readable`` is reachable without any capability.

    A standard library under ``/root`` (pyenv) sits behind a directory only root may traverse.
    Rather than keep CAP_DAC_READ_SEARCH, the worker covers each such directory, in its own
    mount namespace only, with an empty root-owned tmpfs and bind-mounts just the readable paths
    back at their own names, so imports and tracebacks see the usual paths and nothing else of
    that directory is visible. The host's mounts are untouched (the namespace is private).
    """
    hidden = _hidden(readable)
    _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    for barrier, beneath in hidden.items():
        handles = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in beneath]
        try:
            _mount("tmpfs", barrier, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k")
            try:
                for path, handle in zip(beneath, handles, strict=True):
                    if stat.S_ISDIR(os.fstat(handle).st_mode):
                        _make_path(path, barrier)
                    else:
                        _make_path(os.path.dirname(path), barrier)
                        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
                    _mount(f"/proc/self/fd/{handle}", path, None, _MS_BIND | _MS_REC, "")
            except OSError:
                # Half done would hide the installation: show the directory as it was.
                _libc.umount2(os.fsencode(barrier), _MNT_DETACH)
                raise
        finally:
            for handle in handles:
                os.close(handle)
    if not hidden:
        return "private mount namespace"
    return f"private mount namespace; only the readable paths shown beneath {sorted(hidden)}"


def _scratch_tmpfs(scratch: str, uid: int, size: int) -> str:
    """Cover ``scratch`` with a tmpfs of ``size`` bytes owned by ``uid``, seen by this worker only.

    Bounds what a container can store (disk and shared memory alike: ``memfd_create`` is denied
    and nothing else is writable), keeps cell files off the host's disk, and is ``noexec``, so a
    cell cannot run a binary it wrote. It vanishes with the worker's mount namespace.
    """
    options = f"size={size},nr_inodes={_SCRATCH_INODES},mode=0700,uid={uid},gid={uid}"
    _mount("tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options)
    os.chdir(scratch)  # the working directory was the directory beneath the new mount
    return f"private {size // (1024 * 1024)} MiB tmpfs, noexec, {_SCRATCH_INODES} inodes"


def _drop_privileges(uid: int, *, keep_read_search: bool) -> str:
    """Become ``uid`` with no capability in any set, the bounding set included.

    ``keep_read_search`` is the fallback for a host that refuses the mount namespace while the
    standard library sits where only root may traverse: CAP_DAC_READ_SEARCH alone is kept (reads
    still bounded by Landlock), else no import would work.
    """
    os.setgroups([])
    last_cap = 40
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as file:
            last_cap = int(file.read())
    except (OSError, ValueError):
        pass  # drop up to a generous guess; capabilities past the kernel's are EINVAL
    kept = 1 << _CAP_DAC_READ_SEARCH if keep_read_search else 0
    for capability in range(last_cap + 1):
        if kept & (1 << capability):
            continue
        result = _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
        if result != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(result, f"prctl(PR_CAPBSET_DROP, {capability})")
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient")
    os.setresgid(uid, uid, uid)
    if kept:
        _check(_libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    os.setresuid(uid, uid, uid)  # without PR_SET_KEEPCAPS: permitted and effective go empty
    data = (_CapData * 2)()  # inheritable empty
    data[0].effective = data[0].permitted = kept
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "capset")
    if kept:
        return f"uid {uid}, only CAP_DAC_READ_SEARCH (no mount namespace; Landlock bounds reads)"
    return f"uid {uid}, no capabilities (bounding set empty)"


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
    limits: dict[str, int],
    *,
    scratch: str,
    uid: int | None,
    network: bool,
    use_landlock: bool,
    use_seccomp: bool = True,
    scratch_tmpfs: bool = True,
    user_namespace: bool | None = None,
) -> dict[str, str]:
    """Apply every available layer to this process and return ``{protection: status}``.

    ``uid`` is the unprivileged uid reserved for this container (``None``: keep the server's).
    ``user_namespace``: whether the namespaces come from a user namespace of the worker's own
    (``None``: when not root, the only way an unprivileged process gets them).
    """
    report: dict[str, str] = {}
    in_user_namespace = False
    if user_namespace is None:
        user_namespace = os.geteuid() != 0
    user_namespace = user_namespace and uid is None  # a uid of its own: root's namespaces
    if network:
        in_user_namespace = _attempt(
            report,
            "network_namespace",
            lambda: _isolate_network(user_namespace=bool(user_namespace)),
        ) and bool(user_namespace)
    mounted = False
    if user_namespace and uid is None:
        mounted = _attempt(
            report,
            "mount_namespace",
            lambda: _user_mount_namespace(in_user_namespace=in_user_namespace),
        )
        in_user_namespace = in_user_namespace or mounted
    elif uid is None:
        report["mount_namespace"] = "unavailable: the worker has no uid of its own"
    else:
        mounted = _attempt(report, "mount_namespace", lambda: _mount_namespace(_readable_paths()))
    if not mounted:
        report["scratch_tmpfs"] = "unavailable: needs the mount namespace"
    elif not scratch_tmpfs:
        report["scratch_tmpfs"] = "unavailable: disabled by the server's policy"
    else:
        size = limits["max_scratch_bytes"]
        owner = os.getuid() if uid is None else uid
        _attempt(report, "scratch_tmpfs", lambda: _scratch_tmpfs(scratch, owner, size))
    landlocked = use_landlock and _apply_landlock(report, scratch)
    own_uid = False
    if uid is None:
        report["unprivileged_uid"] = "unavailable: disabled, or the server does not run as root"
    else:
        keep = landlocked and not mounted and bool(_hidden(_readable_paths()))
        own_uid = _attempt(
            report, "unprivileged_uid", lambda: _drop_privileges(uid, keep_read_search=keep)
        )
    if in_user_namespace and not own_uid:
        # After Landlock (which needs CAP_SYS_ADMIN in the namespace without no_new_privs): the
        # maps make the server's files the namespace's, so no capability may remain over them.
        _drop_capabilities()
    report["rlimits"] = "active: " + _set_rlimits(limits, own_uid=own_uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    report["no_new_privileges"] = "active: setuid binaries and file capabilities are inert"
    _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    # Last: the filter denies unshare and mount, which the steps above may use.
    if use_seccomp:
        # A worker sharing the server's uid owns the server's files: no metadata writes at all.
        _attempt(report, "seccomp", lambda: seccomp.install(deny_metadata=not own_uid))
    else:
        report["seccomp"] = "unavailable: disabled by the server's policy"
    return report

"""A courtesy, not a layer: an audit hook giving clear early errors for what the kernel refuses.

It runs in the cell's own interpreter, so a cell can switch it off (rebind its tables, reach its
gate through frames or the garbage collector, call the worker's cached ``ctypes`` handle), and
native code acts without raising audit events at all. What holds is the kernel: seccomp,
Landlock, the namespaces and the uid set up in :mod:`.confine`; the tests in
``tests/security/test_sandbox_escape.py`` run with this hook off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["Gate", "Hook", "install", "make_hook"]

Hook = Callable[[str, tuple[object, ...]], None]

_REFUSED = frozenset({
    "socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "signal.pthread_kill",
    "ctypes.dlopen", "ctypes.dlsym", "resource.setrlimit", "resource.prlimit", "webbrowser.open",
})  # fmt: skip
# Events that modify a path, with the positions of the path arguments to check.
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.truncate": (0,), "os.utime": (0,), "os.mkfifo": (0,), "os.mknod": (0,),
    "os.setxattr": (0,), "os.removexattr": (0,), "os.chflags": (0,), "shutil.rmtree": (0,),
    "os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (1,),
}  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _inside(path: object, root: str) -> bool:
    if isinstance(path, int) or path is None:
        return True  # an already-open descriptor: whatever opened it was checked then
    if not isinstance(path, str | bytes | os.PathLike):
        return False
    resolved = os.path.realpath(os.fsdecode(path))  # pyright: ignore[reportUnknownArgumentType]
    return resolved == root or resolved.startswith(root + os.sep)


def _opens_for_writing(args: Sequence[object]) -> bool:
    mode, flags = args[1], args[2]
    if isinstance(mode, str) and any(char in mode for char in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


class Gate:
    """Lets the worker's own limit bookkeeping (``resource.setrlimit``) through the hook."""

    def __init__(self) -> None:
        self.open = False

    def __enter__(self) -> None:
        self.open = True

    def __exit__(self, *exc_info: object) -> None:
        self.open = False


def make_hook(scratch: str, gate: Gate) -> Hook:
    """Build the hook for a sandbox whose only writable place is ``scratch``."""
    root = os.path.realpath(scratch)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if gate.open:
            return
        if event in _REFUSED:
            raise PermissionError(f"sandbox: {event} is not allowed in the code interpreter")
        if event == "open" and _opens_for_writing(args) and not _inside(args[0], root):
            raise PermissionError(f"sandbox: writing {args[0]!r} outside {root} is not allowed")
        positions = _PATH_EVENTS.get(event)
        if positions and not all(_inside(args[i], root) for i in positions):
            raise PermissionError(f"sandbox: {event} outside {root} is not allowed")

    return hook


def install(scratch: str, gate: Gate) -> None:
    """Install the hook for the rest of this process's life (audit hooks cannot be removed)."""
    sys.addaudithook(make_hook(scratch, gate))

"""Issue 9, code interpreter: the sandbox holds with its friendly layer (the audit hook) off.

The audit hook runs in the worker's own interpreter, so a cell can switch it off (rebind its
tables, reach its gate, call the worker's cached ``ctypes`` handle). These tests start real
workers with ``SandboxPolicy(audit_hook=False)``, as if the cell had already done so, and try
what would follow: reach a host UNIX socket whose file mode admits anyone, open sockets, and
make the system calls that widen the kernel's attack surface. The kernel layers (seccomp above
all) must refuse each. Scratch removal must never follow a link a cell planted.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

import antiphon
from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits, SandboxPolicy

pytestmark = pytest.mark.e2e

LIMITS = SandboxLimits(
    cpu_seconds=2,
    memory_bytes=256 * 1024 * 1024,
    wall_seconds=5,
    max_output_bytes=8192,
    idle_expiry_seconds=60,
    max_containers=2,
    kill_grace_seconds=0.5,
)
# The cell has already switched the audit hook off; every kernel layer is on.
HOOK_OFF = SandboxPolicy(audit_hook=False, warm_worker=False)
# Only seccomp (and the uid, rlimits, no_new_privs) stands: no Landlock, no network namespace.
SECCOMP_ALONE = SandboxPolicy(
    audit_hook=False, landlock=False, isolate_network=False, warm_worker=False
)

# x86_64 and aarch64 numbers of the calls the cell makes through ctypes.
_SYSCALLS = {
    "x86_64": {"socket": 41, "memfd_create": 319, "unshare": 272, "io_uring_setup": 425,
               "keyctl": 250, "add_key": 248, "bpf": 321, "userfaultfd": 323, "ptrace": 101},
    "aarch64": {"socket": 198, "memfd_create": 279, "unshare": 97, "io_uring_setup": 425,
                "keyctl": 219, "add_key": 217, "bpf": 280, "userfaultfd": 282, "ptrace": 117},
}  # fmt: skip

# Each call with arguments that succeed on an unconfined Linux process; the cell prints the
# errno of each (0: it succeeded).
_RAW_CALLS = """
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
numbers = {numbers}
params = ctypes.create_string_buffer(120)
keyring = ctypes.c_int(-3)  # KEY_SPEC_SESSION_KEYRING
calls = {{
    "socket": (2, 1, 0),                            # AF_INET, SOCK_STREAM
    "memfd_create": (ctypes.c_char_p(b"x"), 0),
    "unshare": (0x10000000 | 0x40000000,),          # CLONE_NEWUSER | CLONE_NEWNET
    "io_uring_setup": (1, params),
    "keyctl": (0, keyring, 0),                      # KEYCTL_GET_KEYRING_ID
    "add_key": (ctypes.c_char_p(b"user"), ctypes.c_char_p(b"k"), ctypes.c_char_p(b"v"), 1,
                keyring),
    "bpf": (0, None, 0),
    "userfaultfd": (0,),
    "ptrace": (16, 1, 0, 0),                        # PTRACE_ATTACH to init
}}
errnos = {{}}
for name, args in calls.items():
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(numbers[name]), *args)
    errnos[name] = ctypes.get_errno() if result < 0 else 0
print(json.dumps(errnos))
"""


@pytest.fixture(params=[HOOK_OFF, SECCOMP_ALONE], ids=["hook-off", "seccomp-alone"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[ContainerManager]:
    async with ContainerManager(LIMITS, request.param) as manager:
        if not any(p.name == "seccomp" and p.active for p in manager.protections):
            pytest.fail(f"seccomp is not active on this host: {manager.protections}")
        yield manager


@pytest.fixture
def host_socket() -> Iterator[tuple[str, socket.socket]]:
    # A 0777 directory and a 0666 socket: file modes admit anyone, so only the sandbox refuses.
    # Not under tmp_path: pytest's base directory is 0700, which would refuse a worker anyway.
    directory = tempfile.mkdtemp(prefix="antiphon-host-socket-")
    os.chmod(directory, 0o777)
    path = os.path.join(directory, "host.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(4)
        listener.setblocking(False)
        yield path, listener
    finally:
        listener.close()
        shutil.rmtree(directory)


def _accepted_any(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


async def test_a_host_unix_socket_is_unreachable(
    sandbox: ContainerManager, host_socket: tuple[str, socket.socket]
) -> None:
    path, listener = host_socket
    code = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.connect({path!r})\n"
        "print('connected')"
    )
    result = await sandbox.run(None, code)
    assert result.status == "failed", result.output
    assert result.error is not None
    assert "PermissionError: [Errno 1]" in result.error  # the kernel's EPERM, no hook message
    assert "connected" not in result.output
    assert not _accepted_any(listener)


async def test_a_cell_that_defeats_the_audit_hook_still_meets_the_kernel(
    host_socket: tuple[str, socket.socket],
) -> None:
    # The hook as shipped, switched off from pure Python: its gate is an ordinary object.
    path, listener = host_socket
    code = (
        "import gc, socket\n"
        "gates = [o for o in gc.get_objects() if type(o).__name__ == 'Gate']\n"
        "for gate in gates:\n"
        "    gate.__class__.__exit__ = lambda *args: None\n"
        "    gate.open = True\n"
        "print('gates', len(gates))\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.connect({path!r})\n"
        "print('connected')"
    )
    async with ContainerManager(LIMITS, SandboxPolicy(warm_worker=False)) as manager:
        result = await manager.run(None, code)
    assert result.output.startswith("gates 1\n"), (result.output, result.error)
    assert result.error is not None
    assert "sandbox:" not in result.error  # not the hook's refusal: the kernel's
    assert "PermissionError: [Errno 1] Operation not permitted" in result.error
    assert "connected" not in result.output
    assert not _accepted_any(listener)


async def test_a_host_unix_socket_is_unreachable_through_raw_ctypes(
    sandbox: ContainerManager, host_socket: tuple[str, socket.socket]
) -> None:
    path, listener = host_socket
    numbers = _SYSCALLS.get(os.uname().machine)
    if numbers is None:
        pytest.skip("no system call table for this architecture in the test")
    code = f"""
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(ctypes.c_long({numbers["socket"]}), 1, 1, 0)  # AF_UNIX, SOCK_STREAM
print("socket", fd, ctypes.get_errno())
if fd >= 0:
    address = struct.pack("H", 1) + {path.encode()!r}
    print("connect", libc.connect(fd, address, len(address)), ctypes.get_errno())
"""
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    assert result.output.splitlines() == [f"socket -1 {errno.EPERM}"]
    assert not _accepted_any(listener)


async def test_sockets_of_every_family_are_refused(sandbox: ContainerManager) -> None:
    code = """
import socket
for family, kind in [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM),
                     (socket.AF_UNIX, socket.SOCK_DGRAM), (socket.AF_NETLINK, socket.SOCK_RAW),
                     (socket.AF_PACKET, socket.SOCK_RAW), (40, socket.SOCK_STREAM)]:
    try:
        socket.socket(family, kind).close()
        print(family, "opened")
    except OSError as exc:
        print(family, exc.errno)
"""
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    lines = result.output.splitlines()
    assert len(lines) == 6
    assert all(line.endswith(f" {errno.EPERM}") for line in lines), lines


async def test_kernel_attack_surface_calls_fail_with_eperm(sandbox: ContainerManager) -> None:
    numbers = _SYSCALLS.get(os.uname().machine)
    if numbers is None:
        pytest.skip("no system call table for this architecture in the test")
    result = await sandbox.run(None, _RAW_CALLS.format(numbers=numbers))
    assert result.error is None, result.error
    errnos: dict[str, Any] = json.loads(result.output)
    assert errnos == dict.fromkeys(numbers, errno.EPERM)


async def test_the_standard_library_apis_fail_cleanly(sandbox: ContainerManager) -> None:
    code = """
import os
try:
    os.memfd_create("x")
except PermissionError as exc:
    print("memfd", exc.errno)
"""
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    assert result.output == f"memfd {errno.EPERM}\n"


async def test_asyncio_still_runs_in_a_cell(sandbox: ContainerManager) -> None:
    # asyncio's event loop needs an AF_UNIX socketpair: the filter lets exactly that through.
    code = "import asyncio\nasync def f():\n    return 42\nasyncio.run(f())"
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    assert result.output == "42\n"


async def test_threads_still_start_where_the_uid_allows_them() -> None:
    # clone3 answers ENOSYS so the C library falls back to clone, whose flags the filter reads;
    # a uid of its own would forbid threads (RLIMIT_NPROC), so this worker keeps the server's.
    policy = SandboxPolicy(audit_hook=False, drop_privileges=False, warm_worker=False)
    code = """
import threading
seen = []
worker = threading.Thread(target=lambda: seen.append(1))
worker.start()
worker.join()
seen
"""
    async with ContainerManager(LIMITS, policy) as manager:
        result = await manager.run(None, code)
    assert result.error is None, result.error
    assert result.output == "[1]\n"


async def test_no_process_can_be_started() -> None:
    # The server's own uid (as when it is not root): no RLIMIT_NPROC, so only seccomp refuses.
    # Without a second process, killing the worker's process group on expiry reaches everything.
    policy = SandboxPolicy(audit_hook=False, drop_privileges=False, warm_worker=False)
    numbers = {"x86_64": 56, "aarch64": 220}
    if os.uname().machine not in numbers:
        pytest.skip("no clone number for this architecture in the test")
    clone = numbers[os.uname().machine]
    code = f"""
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def raw_clone():
    result = libc.syscall(ctypes.c_long({clone}), int(signal.SIGCHLD), 0, 0, 0, 0)
    if result < 0:
        raise OSError(ctypes.get_errno(), "clone")
    return result
for name, call in [("fork", os.fork), ("clone", raw_clone)]:
    try:
        if call() == 0:
            os._exit(0)  # a child: leave at once
        print(name, "succeeded")
    except OSError as exc:
        print(name, exc.errno)
"""
    async with ContainerManager(LIMITS, policy) as manager:
        result = await manager.run(None, code)
    assert result.error is None, result.error
    assert result.output.splitlines() == [f"fork {errno.EPERM}", f"clone {errno.EPERM}"]


async def test_a_worker_of_a_root_server_keeps_no_capability(sandbox: ContainerManager) -> None:
    if os.geteuid() != 0:
        pytest.skip("the server runs workers under its own uid only when it runs as root")
    # Landlock hides /proc/self/status; ask the kernel directly.
    code = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)()
assert libc.capget(header, data) == 0
bounding = [c for c in range(64) if libc.prctl(23, c, 0, 0, 0) == 1]  # PR_CAPBSET_READ
ambient = [c for c in range(64) if libc.prctl(47, 1, c, 0, 0) == 1]  # PR_CAP_AMBIENT_IS_SET
print(json.dumps([os.getuid(), os.geteuid(), list(data), bounding, ambient]))
"""
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    uid, euid, sets, bounding, ambient = json.loads(result.output)
    assert uid != 0
    assert euid != 0
    assert sets == [0] * 6  # effective, permitted, inheritable: two 32-bit words each
    assert bounding == []
    assert ambient == []


async def test_the_standard_library_stays_importable_without_capabilities(
    sandbox: ContainerManager,
) -> None:
    # Modules the worker has not imported itself, read from disk after the privileges are gone.
    code = "import decimal, json, sqlite3, zoneinfo, email.parser\nprint(decimal.Decimal('1.5'))"
    result = await sandbox.run(None, code)
    assert result.error is None, result.error
    assert result.output == "1.5\n"


async def test_seccomp_can_be_required(caplog: pytest.LogCaptureFixture) -> None:
    policy = SandboxPolicy(warm_worker=False, required=frozenset({"seccomp"}))
    caplog.set_level("INFO", logger="antiphon.code_interpreter")
    async with ContainerManager(LIMITS, policy) as manager:
        seccomp = [p for p in manager.protections if p.name == "seccomp"]
    assert len(seccomp) == 1
    assert seccomp[0].active
    assert any("seccomp: active" in record.getMessage() for record in caplog.records)


@pytest.fixture
def unprivileged_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make removal meet the permission errors a server that is not root would meet.

    As root, unlinking from a read-only directory succeeds and the retry path never runs; a
    server under its own uid gets ``EACCES`` and retries after making the directory writable.
    """
    real_unlink = os.unlink

    def unlink(path: str, *, dir_fd: int | None = None) -> None:
        parent = os.fstat(dir_fd) if dir_fd is not None else os.stat(os.path.dirname(path))
        if not parent.st_mode & stat.S_IWUSR:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)


@pytest.mark.usefixtures("unprivileged_removal")
async def test_scratch_removal_never_follows_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "server-secret"
    target.write_text("key")
    target.chmod(0o600)
    code = (
        "import os\n"
        "os.mkdir('trap')\n"
        f"os.symlink({str(target)!r}, 'trap/link')\n"
        "os.symlink('trap', 'dirlink')\n"
        "os.chmod('trap', 0o500)\n"
        "print(os.getcwd())"
    )
    # Without the private tmpfs (a server that is not root, a host without mount namespaces),
    # the cell's files are in the server's scratch directory itself.
    policy = SandboxPolicy(warm_worker=False, scratch_tmpfs=False)
    async with ContainerManager(LIMITS, policy) as manager:
        result = await manager.run(None, code)
        assert result.error is None, result.error
        scratch = Path(result.output.strip())
        assert (scratch / "trap" / "link").is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not await asyncio.to_thread(os.path.lexists, scratch)
    assert target.read_text() == "key"


_FILL_SCRATCH = """
import errno, os
chunk = b"x" * (4 * 1024 * 1024)
written, failure = 0, None
try:
    for index in range(6):
        with open(f"fill-{index}", "wb") as file:
            written += file.write(chunk)
except OSError as exc:
    failure = exc.errno
print(written, failure, os.getcwd())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the private tmpfs needs a server running as root")
async def test_scratch_is_bounded_as_a_whole_and_never_on_the_hosts_disk() -> None:
    limits = SandboxLimits(
        max_scratch_bytes=8 * 1024 * 1024, max_file_bytes=64 * 1024 * 1024, max_containers=2
    )
    async with ContainerManager(limits, HOOK_OFF) as manager:
        layer = [p for p in manager.protections if p.name == "scratch_tmpfs"]
        assert layer, manager.protections
        assert layer[0].active, layer[0].detail
        result = await manager.run(None, _FILL_SCRATCH)
        assert result.error is None, result.error
        written, failure, scratch = result.output.split()
        assert int(written) <= 8 * 1024 * 1024
        assert failure == str(errno.ENOSPC)
        # The files live in the worker's own mount namespace: the host directory stays empty.
        assert await asyncio.to_thread(os.listdir, scratch) == []
        again = await manager.run(result.container_id, "sorted(os.listdir('.'))[:2]")
        assert again.output == "['fill-0', 'fill-1']\n"


_METADATA_CHANGES = """
import ctypes, errno, os
path = {path!r}
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def fchmodat2():  # Linux 6.6, the same number on x86_64 and aarch64
    if libc.syscall(ctypes.c_long(452), -100, path.encode(), 0o4777, 0) < 0:
        raise OSError(ctypes.get_errno(), "fchmodat2")

attempts = [
    ("chmod", lambda: os.chmod(path, 0o4777)),
    ("chown", lambda: os.chown(path, 4321, 4321)),
    ("lchown", lambda: os.lchown(path, 4321, 4321)),
    ("utime", lambda: os.utime(path, (0, 0))),
    ("setxattr", lambda: os.setxattr(path, "user.planted", b"x")),
    ("removexattr", lambda: os.removexattr(path, "user.kept")),
    ("fchmodat2", fchmodat2),
]
for name, attempt in attempts:
    try:
        attempt()
        print(name, 0)
    except OSError as exc:
        print(name, exc.errno)
"""


@pytest.fixture
def server_file() -> Iterator[str]:
    # A 0777 directory and a 0666 file with a user xattr, owned by the server's uid: only the
    # sandbox stands between a cell sharing that uid and the file's metadata.
    directory = tempfile.mkdtemp(prefix="antiphon-host-file-")
    os.chmod(directory, 0o777)
    path = os.path.join(directory, "server-file")
    try:
        Path(path).write_text("server")
        os.chmod(path, 0o666)
        os.setxattr(path, "user.kept", b"1")
        yield path
    finally:
        shutil.rmtree(directory)


@pytest.mark.parametrize("landlock", [True, False], ids=["landlock", "seccomp-alone"])
async def test_a_worker_sharing_the_servers_uid_cannot_change_file_metadata(
    server_file: str, landlock: bool
) -> None:
    # No uid of its own (as under a server that is not root; here the worker keeps root's, which
    # owns the file): Landlock does not govern metadata writes, so seccomp must refuse them.
    policy = SandboxPolicy(
        audit_hook=False, drop_privileges=False, landlock=landlock, warm_worker=False
    )
    before = os.stat(server_file)
    async with ContainerManager(LIMITS, policy) as manager:
        result = await manager.run(None, _METADATA_CHANGES.format(path=server_file))
    assert result.error is None, result.error
    names = ["chmod", "chown", "lchown", "utime", "setxattr", "removexattr", "fchmodat2"]
    assert result.output.splitlines() == [f"{name} {errno.EPERM}" for name in names]
    after = os.stat(server_file)
    assert stat.S_IMODE(after.st_mode) == 0o666
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_mtime_ns == before.st_mtime_ns
    assert os.listxattr(server_file) == ["user.kept"]


async def test_a_worker_with_a_uid_of_its_own_still_changes_metadata_in_scratch() -> None:
    if os.geteuid() != 0:
        pytest.skip("a uid per container needs a server running as root")
    code = (
        "import os, shutil\n"
        "open('a', 'w').close()\n"
        "os.chmod('a', 0o600)\n"
        "os.utime('a', (0, 0))\n"
        "shutil.copy2('a', 'b')\n"
        "print(oct(os.stat('b').st_mode & 0o777), os.stat('b').st_mtime)"
    )
    async with ContainerManager(LIMITS, HOOK_OFF) as manager:
        result = await manager.run(None, code)
    assert result.error is None, result.error
    assert result.output == "0o600 0.0\n"


_USER_NAMESPACE_CELL = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
sets = (ctypes.c_uint32 * 6)()
assert libc.capget(header, sets) == 0
bounding = [c for c in range(64) if libc.prctl(23, c, 0, 0, 0) == 1]  # PR_CAPBSET_READ
try:
    os.chmod(os.getcwd(), 0o777)
    chmod = 0
except OSError as exc:
    chmod = exc.errno
print(json.dumps([list(sets), bounding, chmod]))
"""


async def test_a_worker_without_a_uid_of_its_own_gets_its_scratch_tmpfs_from_a_user_namespace() -> (
    None
):
    # What a server that is not root does (forced here under root): a user namespace mapping only
    # the server's uid gives the worker its mount namespace, hence the bounded private scratch,
    # and every capability it held in that namespace is gone before user code runs.
    limits = SandboxLimits(
        max_scratch_bytes=8 * 1024 * 1024, max_file_bytes=64 * 1024 * 1024, max_containers=2
    )
    policy = SandboxPolicy(
        audit_hook=False, drop_privileges=False, user_namespace=True, warm_worker=False
    )
    async with ContainerManager(limits, policy) as manager:
        active = {p.name: p.active for p in manager.protections}
        assert active["mount_namespace"], manager.protections
        assert active["scratch_tmpfs"], manager.protections
        assert active["network_namespace"], manager.protections
        assert not active["unprivileged_uid"]
        result = await manager.run(None, _FILL_SCRATCH)
        assert result.error is None, result.error
        written, failure, scratch = result.output.split()
        assert int(written) <= 8 * 1024 * 1024
        assert failure == str(errno.ENOSPC)
        assert await asyncio.to_thread(os.listdir, scratch) == []
        again = await manager.run(result.container_id, _USER_NAMESPACE_CELL)
    assert again.error is None, again.error
    sets, bounding, chmod = json.loads(again.output)
    assert sets == [0] * 6
    assert bounding == []
    assert chmod == errno.EPERM  # a shared uid: metadata stays refused


_NON_ROOT_SERVER = """
import asyncio, json, sys
sys.path[:0] = [{src!r}]
sys.path.append({site!r})
from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits, SandboxPolicy

async def main():
    limits = SandboxLimits(max_scratch_bytes=8 * 1024 * 1024, max_containers=2)
    policy = SandboxPolicy(audit_hook=False, warm_worker=False)
    async with ContainerManager(limits, policy) as manager:
        active = {{p.name: p.active for p in manager.protections}}
        result = await manager.run(None, {cell!r})
    print(json.dumps([active, result.output, result.error]))

asyncio.run(main())
"""
_NON_ROOT_CELL = """
import os
try:
    open("fill", "wb").write(b"x" * (9 * 1024 * 1024))
except OSError as exc:
    print("fill", exc.errno)
try:
    os.chmod("fill", 0o4777)
except OSError as exc:
    print("chmod", exc.errno)
print(os.getuid())
"""


def test_a_server_that_is_not_root_bounds_its_scratch_through_a_user_namespace() -> None:
    # A real server as uid 65534 (nobody), run by the system's Python of the same version: the
    # development interpreter lives under /root, which nobody may read.
    system_python = f"/usr/bin/python3.{sys.version_info.minor}"
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None or not os.access(system_python, os.X_OK):
        pytest.skip("needs root, setpriv and a system Python of this version to become nobody")
    package = Path(antiphon.__file__).resolve().parent.parent
    site = Path(openai.__file__).resolve().parent.parent
    directory = tempfile.mkdtemp(prefix="antiphon-non-root-")
    os.chmod(directory, 0o755)
    script = Path(directory, "server.py")
    script.write_text(
        _NON_ROOT_SERVER.format(src=str(package), site=str(site), cell=_NON_ROOT_CELL)
    )
    try:
        process = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", system_python, "-I",
             str(script)],
            capture_output=True, cwd=directory, env={"HOME": directory, "PATH": "/usr/bin:/bin"},
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(directory)
    out, err = process.stdout, process.stderr
    if process.returncode != 0 and b"ModuleNotFoundError" in err:
        pytest.skip(f"the system Python cannot import antiphon's dependencies: {err[-300:]!r}")
    assert process.returncode == 0, err.decode(errors="replace")
    active, output, error = json.loads(out.decode().splitlines()[-1])
    assert error is None, error
    assert not active["unprivileged_uid"]
    if not active["network_namespace"]:  # also from a user namespace: the host has none
        pytest.skip(f"no unprivileged user namespaces on this host: {active}")
    assert active["mount_namespace"], active
    assert active["scratch_tmpfs"], active
    assert active["seccomp"], active
    assert active["landlock_filesystem"], active
    assert output.splitlines() == [f"fill {errno.ENOSPC}", f"chmod {errno.EPERM}", "65534"]

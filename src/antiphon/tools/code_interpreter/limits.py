"""The knobs of the code interpreter: resource limits and which isolation layers to use.

Both are frozen values handed to :class:`~.manager.ContainerManager`; validation happens here, at
construction, so a bad setting fails when the server starts rather than on the first call.
"""

from __future__ import annotations

from dataclasses import dataclass

from antiphon.exceptions import ConfigurationError

__all__ = ["PROTECTIONS", "SandboxLimits", "SandboxPolicy"]

#: The name of every protection a worker reports (:attr:`~.result.Protection.name`): the names
#: :attr:`SandboxPolicy.required` may list.
PROTECTIONS = frozenset(
    {
        "network_namespace",
        "mount_namespace",
        "scratch_tmpfs",
        "landlock_filesystem",
        "landlock_network",
        "landlock_scope",
        "unprivileged_uid",
        "rlimits",
        "no_new_privileges",
        "seccomp",
        "audit_hook",
    }
)


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Resource limits of every container.

    ``cpu_seconds`` and ``wall_seconds`` apply per call; a call past either is interrupted and the
    container kept. ``memory_bytes`` bounds the worker's address space, ``max_file_bytes`` any one
    file it writes, ``max_scratch_bytes`` all its files together (a tmpfs, so RAM, where the
    ``scratch_tmpfs`` layer is active), ``max_output_bytes`` the logs returned per call. A
    container idle for ``idle_expiry_seconds`` is removed with its scratch directory; at most
    ``max_containers`` run at once. ``kill_grace_seconds`` is how long past ``wall_seconds`` the
    server waits for a cooperative interruption before killing the process (and losing its
    state).
    """

    cpu_seconds: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    wall_seconds: float = 30.0
    max_output_bytes: int = 64 * 1024
    idle_expiry_seconds: float = 20 * 60.0
    max_containers: int = 8
    max_file_bytes: int = 64 * 1024 * 1024
    max_scratch_bytes: int = 256 * 1024 * 1024
    max_open_files: int = 64
    kill_grace_seconds: float = 1.0
    start_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        positive = {
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_bytes,
            "wall_seconds": self.wall_seconds,
            "max_output_bytes": self.max_output_bytes,
            "idle_expiry_seconds": self.idle_expiry_seconds,
            "max_containers": self.max_containers,
            "max_file_bytes": self.max_file_bytes,
            "max_scratch_bytes": self.max_scratch_bytes,
            "start_timeout_seconds": self.start_timeout_seconds,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ConfigurationError(f"SandboxLimits.{name} must be positive, got {value}")
        if self.max_open_files < 16:
            raise ConfigurationError("SandboxLimits.max_open_files must be at least 16")
        if self.kill_grace_seconds < 0:
            raise ConfigurationError("SandboxLimits.kill_grace_seconds must not be negative")


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """Which isolation layers the workers try; each is reported as active or unavailable.

    Every layer defaults to on; turning one off exists for hosts where it misbehaves and for
    tests that prove each remaining layer holds by itself. ``required`` names protections
    (as reported in :attr:`~.result.Protection.name`, one of :data:`PROTECTIONS`) without which
    the manager refuses to start; an unknown name is refused here.
    ``warm_worker`` keeps one pre-started worker to cut the first call's latency.
    ``user_namespace`` is how a worker without a uid of its own gets its network and mount
    namespaces (and so the scratch tmpfs): ``None`` uses a user namespace when the server is
    not root, ``True`` forces one (tests under root), ``False`` never.
    """

    isolate_network: bool = True
    landlock: bool = True
    seccomp: bool = True
    scratch_tmpfs: bool = True
    drop_privileges: bool = True
    audit_hook: bool = True
    warm_worker: bool = True
    required: frozenset[str] = frozenset()
    uid_base: int = 1_700_000_000
    user_namespace: bool | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.required) - PROTECTIONS)
        if unknown:
            raise ConfigurationError(
                f"unknown sandbox protections {unknown}; known: {', '.join(sorted(PROTECTIONS))}"
            )

"""The container manager: lazily created, stateful, bounded, idle-expiring sandboxed containers.

Owns every worker process and every background task (the idle reaper and the warm-worker
refill) for the span of an ``async with`` block; leaving it kills every worker and removes every
scratch directory. An unknown or expired container id is not an error: the call runs in a new
container and the result says so (``new_container`` and ``notice``), because the model can
recover from lost state by re-running its set-up, whereas a refusal would leave it stuck.

Containers live in the process that started them. Each manager tags its ids (``cntr_TAG_...``,
a tag of its own), so an id from another worker process (several ``antiphon serve`` workers
behind one load balancer), or from before a restart, gets a notice that says so and what to do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Literal

from antiphon._resource import AsyncResource
from antiphon.exceptions import ProtocolError, SandboxCapacityError, SandboxError

from ._process import CellOutcome, WorkerProcess, finish_cleanup
from .limits import SandboxLimits, SandboxPolicy
from .result import ExecutionResult, Protection

__all__ = ["ContainerManager"]

_log = logging.getLogger("antiphon.code_interpreter")
_UID_SLOTS = 100_000


async def _close_all(workers: list[WorkerProcess]) -> None:
    await asyncio.gather(*(worker.close() for worker in workers))


@dataclass(slots=True)
class _Container:
    id: str
    worker: WorkerProcess
    last_used: float
    users: int = 0  # calls holding or waiting for this container: never reaped while > 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ContainerManager(AsyncResource):
    """Runs Python cells in sandboxed containers; the real :class:`~.result.CodeExecutor`."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        policy: SandboxPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        reap_interval: float | None = None,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.policy = policy or SandboxPolicy()
        self._tag = secrets.token_hex(3)  # this manager's, so this worker's, container ids
        self._clock = clock
        self._reap_interval = reap_interval or min(self.limits.idle_expiry_seconds / 4, 60.0)
        self._containers: dict[str, _Container] = {}
        self._warm: WorkerProcess | None = None
        self._want_warm = asyncio.Event()
        self._starting = 0
        self._slot = 0
        self._state: Literal["new", "running", "closed"] = "new"
        self._tasks = asyncio.TaskGroup()
        self._background: list[asyncio.Task[None]] = []
        self.protections: tuple[Protection, ...] = ()

    async def _open(self, stack: AsyncExitStack) -> None:
        if self._state != "new":
            raise ProtocolError(f"ContainerManager enter: expected new, found {self._state}")
        probe = await self._start_worker()
        self.protections = probe.protections
        self._report_protections()
        missing = self.policy.required - {p.name for p in self.protections if p.active}
        if missing:
            await probe.close()
            raise SandboxError(f"required sandbox protections are unavailable: {sorted(missing)}")
        if self.policy.warm_worker:
            self._warm = probe
        else:
            await probe.close()
        # On exit, last-registered first: stop the background tasks, let the group end, then
        # kill every worker (even when a task failed).
        stack.push_async_callback(self._close_workers)
        await stack.enter_async_context(self._tasks)
        stack.callback(self._stop)
        self._state = "running"
        self._background.append(self._tasks.create_task(self._reap_forever()))
        if self.policy.warm_worker:
            self._background.append(self._tasks.create_task(self._keep_warm()))

    def _stop(self) -> None:
        self._state = "closed"
        # The background tasks loop forever by design; cancelling them is their normal end.
        for task in self._background:
            task.cancel()

    async def _close_workers(self) -> None:
        workers = [c.worker for c in self._containers.values()]
        workers += [self._warm] if self._warm else []
        self._containers.clear()
        self._warm = None
        await finish_cleanup(_close_all(workers))

    def _report_protections(self) -> None:
        for protection in self.protections:
            level = logging.INFO if protection.active else logging.WARNING
            _log.log(level, "code interpreter sandbox: %s: %s", protection.name, protection.detail)

    @property
    def container_count(self) -> int:
        """How many containers are live now (the warm worker is not one yet)."""
        return len(self._containers)

    async def run(self, container_id: str | None, code: str) -> ExecutionResult:
        """Run ``code`` in ``container_id``; ``None``, unknown or expired ids get a new container.

        Raises :class:`SandboxCapacityError` when a new container is needed while every slot is
        busy, and :class:`SandboxError` when a worker cannot be started. Every limit the cell
        meets is reported in the result, never raised.
        """
        if self._state != "running":
            raise ProtocolError(f"ContainerManager.run: expected running, found {self._state}")
        await self.reap_idle()
        container, new, notice = await self._acquire(container_id)
        try:
            async with container.lock:
                outcome = await container.worker.execute(code)
        finally:
            container.users -= 1
            container.last_used = self._clock()
        if outcome.lost:
            self._containers.pop(container.id, None)
        return self._result(container.id, outcome, new=new, notice=notice)

    async def ensure(self, container_id: str | None) -> str:
        """The id of a running container: ``container_id`` while it lives, else a new one.

        A response calls this when the model starts writing code, so the call's item can name
        its container before the code runs. Raises like :meth:`run` when none can be started.
        """
        if self._state != "running":
            raise ProtocolError(f"ContainerManager.ensure: expected running, found {self._state}")
        container, _, _ = await self._acquire(container_id)
        container.users -= 1
        container.last_used = self._clock()
        return container.id

    @staticmethod
    def _result(
        container_id: str, outcome: CellOutcome, *, new: bool, notice: str | None
    ) -> ExecutionResult:
        if outcome.lost:
            lost = (
                f"The container {container_id} was stopped and its state is lost; "
                "the next call starts a new container."
            )
            notice = f"{notice}\n{lost}" if notice else lost
        failed = outcome.error is not None or outcome.crashed
        return ExecutionResult(
            container_id=container_id,
            status="failed" if failed else "completed",
            output=outcome.output,
            error=outcome.error,
            timed_out=outcome.timed_out,
            output_truncated=outcome.output_truncated,
            memory_exceeded=outcome.memory_exceeded,
            crashed=outcome.crashed,
            new_container=new,
            container_lost=outcome.lost,
            notice=notice,
        )

    async def _acquire(self, container_id: str | None) -> tuple[_Container, bool, str | None]:
        existing = self._containers.get(container_id) if container_id else None
        if existing is not None:
            existing.users += 1
            return existing, False, None
        container = await self._create()
        container.users += 1
        if container_id is None:
            return container, True, None
        if _foreign(container_id, self._tag):
            return container, True, _elsewhere(container_id, container.id)
        return (
            container,
            True,
            (
                f"The container {container_id} is not running (idle expiry, a lost process, or an "
                f"unknown id); this code ran in a new container {container.id}, so variables and "
                "files from earlier calls are gone."
            ),
        )

    async def _create(self) -> _Container:
        if len(self._containers) + self._starting >= self.limits.max_containers:
            await self._evict_one()
        self._starting += 1
        try:
            worker, self._warm = self._warm, None
            if worker is None or not worker.alive:
                if worker is not None:
                    await worker.close()
                worker = await self._start_worker()
        finally:
            self._starting -= 1
        self._want_warm.set()
        container = _Container(f"cntr_{self._tag}_{secrets.token_hex(10)}", worker, self._clock())
        self._containers[container.id] = container
        return container

    async def _evict_one(self) -> None:
        idle = [c for c in self._containers.values() if c.users == 0]
        if not idle:
            raise SandboxCapacityError(max_containers=self.limits.max_containers)
        victim = min(idle, key=lambda c: c.last_used)
        _log.info("code interpreter: evicting least recently used container %s", victim.id)
        await self._remove(victim)

    async def _remove(self, container: _Container) -> None:
        self._containers.pop(container.id, None)
        await finish_cleanup(container.worker.close())

    async def _start_worker(self) -> WorkerProcess:
        uid = None
        if self.policy.drop_privileges and os.geteuid() == 0:
            # A uid of its own per container: processes of one cannot signal or read another's.
            uid = self.policy.uid_base + self._slot % _UID_SLOTS
            self._slot += 1
        return await WorkerProcess.start(self.limits, self.policy, uid)

    async def reap_idle(self) -> int:
        """Remove containers idle for longer than the expiry (and dead ones); return how many."""
        now = self._clock()
        expired = [
            c
            for c in self._containers.values()
            if c.users == 0
            and (now - c.last_used >= self.limits.idle_expiry_seconds or not c.worker.alive)
        ]
        for container in expired:
            await self._remove(container)
        return len(expired)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self._reap_interval)  # a periodic timer, not a synchronisation
            await self.reap_idle()

    async def _keep_warm(self) -> None:
        while True:
            await self._want_warm.wait()
            self._want_warm.clear()
            room = len(self._containers) + self._starting < self.limits.max_containers
            if self._warm is None and room:
                try:
                    self._warm = await self._start_worker()
                except SandboxError as exc:
                    _log.warning("code interpreter: could not pre-start a worker: %s", exc)


def _foreign(container_id: str, tag: str) -> bool:
    """Whether ``container_id`` was made by another manager (another worker or run)."""
    parts = container_id.split("_")
    return len(parts) == 3 and parts[0] == "cntr" and parts[1] != tag


def _elsewhere(container_id: str, new_id: str) -> str:
    return (
        f"The container {container_id} belongs to another antiphon worker process (or to this "
        "server before it restarted): containers live in the memory of the worker that started "
        "them, so with several workers the requests of a conversation that uses the code "
        f"interpreter must reach the same worker (sticky sessions). This code ran in a new "
        f"container {new_id}, so variables and files from earlier calls are gone."
    )

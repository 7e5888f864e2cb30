from __future__ import annotations

import asyncio
import dataclasses

import pytest

from antiphon.exceptions import ConfigurationError, ProtocolError, SandboxError
from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits, SandboxPolicy
from antiphon.tools.code_interpreter.limits import PROTECTIONS

from .conftest import LIMITS, FakeClock

pytestmark = pytest.mark.e2e


async def test_state_is_kept_across_two_calls_in_one_container(manager: ContainerManager) -> None:
    first = await manager.run(None, "x = 41\nprint('set')")
    second = await manager.run(first.container_id, "x + 1")
    assert first.new_container
    assert first.container_id.startswith("cntr_")
    assert (first.status, first.output) == ("completed", "set\n")
    assert second.container_id == first.container_id
    assert not second.new_container
    assert (second.status, second.output) == ("completed", "42\n")


async def test_stdout_and_stderr_interleave_in_write_order(manager: ContainerManager) -> None:
    code = "import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')\n'last'"
    result = await manager.run(None, code)
    assert result.output == "a\nb\nc\n'last'\n"


async def test_native_writes_to_fd_1_reach_the_output(manager: ContainerManager) -> None:
    result = await manager.run(None, "import os\nos.write(1, b'native\\n')\nNone")
    assert result.output == "native\n"


async def test_exception_answers_with_the_users_traceback_only(manager: ContainerManager) -> None:
    result = await manager.run(None, "def f():\n    return 1 / 0\nf()")
    assert result.status == "failed"
    assert result.error is not None
    assert "ZeroDivisionError: division by zero" in result.error
    assert 'File "<cell-1>", line 2, in f' in result.error
    assert "_child" not in result.error
    assert result.error.rstrip() in result.logs


async def test_syntax_error_is_reported_and_keeps_the_container(manager: ContainerManager) -> None:
    first = await manager.run(None, "y = 3")
    broken = await manager.run(first.container_id, "def (:")
    after = await manager.run(first.container_id, "y")
    assert broken.status == "failed"
    assert broken.error is not None
    assert "SyntaxError" in broken.error
    assert after.output == "3\n"


async def test_cpu_loop_is_interrupted_and_state_survives(clock: FakeClock) -> None:
    # A generous wall clock, so the CPU limit trips first even on a loaded machine.
    limits = dataclasses.replace(LIMITS, wall_seconds=30)
    async with ContainerManager(limits, clock=clock) as manager:
        await _spin(manager)


async def _spin(manager: ContainerManager) -> None:
    first = await manager.run(None, "kept = 'yes'")
    spin = await manager.run(first.container_id, "while True:\n    pass")
    after = await manager.run(first.container_id, "kept")
    assert spin.timed_out
    assert spin.status == "failed"
    assert spin.error is not None
    assert "CPU time limit of 1 s exceeded" in spin.error
    assert not spin.container_lost
    assert after.output == "'yes'\n"


async def test_sleep_past_the_wall_clock_is_interrupted(manager: ContainerManager) -> None:
    result = await manager.run(None, "import time\ntime.sleep(30)")
    assert result.timed_out
    assert result.error is not None
    assert "wall-clock limit of 1.5 s exceeded" in result.error
    assert not result.container_lost


async def test_code_ignoring_the_alarm_is_killed_and_its_state_lost(
    manager: ContainerManager,
) -> None:
    code = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(30)"
    first = await manager.run(None, "z = 1")
    stuck = await manager.run(first.container_id, code)
    after = await manager.run(first.container_id, "z")
    assert stuck.timed_out
    assert stuck.container_lost
    assert stuck.notice is not None
    assert "state is lost" in stuck.notice
    assert after.new_container
    assert after.container_id != first.container_id
    assert after.error is not None
    assert "NameError" in after.error


async def test_memory_hog_fails_with_memory_exceeded(manager: ContainerManager) -> None:
    first = await manager.run(None, "small = [1, 2]")
    hog = await manager.run(first.container_id, "big = bytearray(400 * 1024 * 1024)")
    after = await manager.run(first.container_id, "small")
    assert hog.memory_exceeded
    assert hog.status == "failed"
    assert after.output == "[1, 2]\n"


async def test_huge_print_is_truncated_to_the_output_limit(manager: ContainerManager) -> None:
    result = await manager.run(None, "print('x' * 100_000)")
    assert result.output_truncated
    assert len(result.output.encode()) == LIMITS.max_output_bytes
    assert result.logs.endswith("[output truncated]")


async def test_worker_exit_is_a_crash_and_the_next_call_gets_a_fresh_container(
    manager: ContainerManager,
) -> None:
    first = await manager.run(None, "w = 5")
    crash = await manager.run(first.container_id, "import os\nos._exit(3)")
    after = await manager.run(first.container_id, "'w' in globals()")
    assert crash.crashed
    assert crash.container_lost
    assert crash.status == "failed"
    assert crash.error is not None
    assert "status 3" in crash.error
    assert after.new_container
    assert after.output == "False\n"
    assert after.notice is not None
    assert first.container_id in after.notice


async def test_unknown_container_id_runs_in_a_new_container_and_says_so(
    manager: ContainerManager,
) -> None:
    result = await manager.run("cntr_unknown", "1 + 1")
    assert result.new_container
    assert result.container_id != "cntr_unknown"
    assert result.output == "2\n"
    assert result.notice is not None
    assert "cntr_unknown" in result.notice
    assert result.notice in result.logs


async def test_idle_container_expires_by_the_reaper(
    manager: ContainerManager, clock: FakeClock
) -> None:
    first = await manager.run(None, "v = 1")
    clock.now += LIMITS.idle_expiry_seconds - 1
    assert await manager.reap_idle() == 0
    clock.now += 1
    assert await manager.reap_idle() == 1
    assert manager.container_count == 0
    after = await manager.run(first.container_id, "v")
    assert after.new_container
    assert after.error is not None
    assert "NameError" in after.error


async def test_idle_container_expires_on_access(
    manager: ContainerManager, clock: FakeClock
) -> None:
    first = await manager.run(None, "v = 1")
    clock.now += LIMITS.idle_expiry_seconds
    after = await manager.run(first.container_id, "v")
    assert after.new_container
    assert manager.container_count == 1


async def test_least_recently_used_idle_container_is_evicted_at_capacity(
    clock: FakeClock,
) -> None:
    limits = dataclasses.replace(LIMITS, max_containers=1)
    async with ContainerManager(limits, clock=clock) as manager:
        first = await manager.run(None, "a = 1")
        second = await manager.run(None, "b = 2")
        again = await manager.run(first.container_id, "a")
        assert second.container_id != first.container_id
        assert manager.container_count == 1
        assert again.new_container


async def test_protections_are_reported_as_data(manager: ContainerManager) -> None:
    names = {protection.name for protection in manager.protections}
    assert {"audit_hook", "rlimits", "network_namespace", "landlock_filesystem"} <= names
    audit = next(p for p in manager.protections if p.name == "audit_hook")
    assert audit.active


async def test_a_required_protection_that_is_missing_refuses_to_start() -> None:
    policy = SandboxPolicy(landlock=False, required=frozenset({"landlock_filesystem", "rlimits"}))
    with pytest.raises(SandboxError, match=r"unavailable: \['landlock_filesystem'\]"):
        async with ContainerManager(LIMITS, policy):
            pytest.fail("the manager started without a required protection")


def test_an_unknown_required_protection_is_refused_with_the_known_names() -> None:
    with pytest.raises(ConfigurationError, match=r"\['no_such_layer'\]; known: .*seccomp"):
        SandboxPolicy(required=frozenset({"no_such_layer"}))
    assert "landlock_filesystem" in PROTECTIONS


async def test_manager_without_warm_worker_still_runs(clock: FakeClock) -> None:
    async with ContainerManager(LIMITS, SandboxPolicy(warm_worker=False), clock=clock) as manager:
        result = await manager.run(None, "6 * 7")
    assert result.output == "42\n"


async def test_run_outside_the_context_is_a_state_error() -> None:
    manager = ContainerManager(LIMITS)
    with pytest.raises(ProtocolError, match="expected running, found new"):
        await manager.run(None, "1")


async def test_cancelled_call_kills_its_container(manager: ContainerManager) -> None:
    first = await manager.run(None, "q = 1")
    call = asyncio.create_task(manager.run(first.container_id, "import time\ntime.sleep(1)"))
    await asyncio.sleep(0)  # let the call reach the worker before cancelling it
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    after = await manager.run(first.container_id, "'q' in globals()")
    assert after.new_container


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(Exception, match="cpu_seconds must be positive"):
        SandboxLimits(cpu_seconds=0)
    with pytest.raises(Exception, match="max_open_files"):
        SandboxLimits(max_open_files=3)
    with pytest.raises(Exception, match="kill_grace_seconds"):
        SandboxLimits(kill_grace_seconds=-1)


async def test_a_container_id_of_another_worker_is_named_as_such(
    manager: ContainerManager,
) -> None:
    mine = await manager.run(None, "1")
    assert mine.container_id.count("_") == 2  # cntr_TAG_RANDOM: the tag names this worker
    result = await manager.run("cntr_0a0b0c_ffffffffffffffffffff", "1 + 1")
    assert result.new_container
    assert result.output == "2\n"
    assert result.notice is not None
    assert "belongs to another antiphon worker" in result.notice
    assert "cntr_0a0b0c_ffffffffffffffffffff" in result.notice

"""What the sandbox claims, checked against real sockets and real files, layer by layer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from antiphon.tools.code_interpreter import ContainerManager, SandboxPolicy

from .conftest import LIMITS

pytestmark = pytest.mark.e2e

WITH_AUDIT = SandboxPolicy()
KERNEL_ONLY = SandboxPolicy(audit_hook=False)


@pytest.fixture(params=[WITH_AUDIT, KERNEL_ONLY], ids=["all-layers", "kernel-layers-only"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[ContainerManager]:
    policy: SandboxPolicy = request.param
    async with ContainerManager(LIMITS, policy) as manager:
        yield manager


def _active(manager: ContainerManager, name: str) -> bool:
    return any(p.name == name and p.active for p in manager.protections)


async def test_connecting_to_a_local_listener_fails_and_it_sees_nothing(
    sandbox: ContainerManager,
) -> None:
    if not sandbox.policy.audit_hook and not _active(sandbox, "network_namespace"):
        pytest.skip("no kernel network isolation on this host")
    accepted: list[int] = []
    ours_arrived = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("peername")[1])
        ours_arrived.set()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)"
    async with server:
        result = await sandbox.run(None, code)
        # Our own connection is accepted after any earlier one: when it arrives, the
        # sandbox's attempt (had it got through) would already be in `accepted`.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(5):
            await ours_arrived.wait()
        writer.close()
        await writer.wait_closed()
    assert result.status == "failed"
    assert result.error is not None
    assert "Error" in result.error
    assert len(accepted) == 1


@pytest.fixture
def open_dir(tmp_path: Path) -> Path:
    # World-writable and readable, so only the sandbox, not file permissions, can refuse access.
    tmp_path.chmod(0o777)
    return tmp_path


async def test_writing_outside_the_scratch_directory_fails(
    sandbox: ContainerManager, open_dir: Path
) -> None:
    target = open_dir / "escape.txt"
    result = await sandbox.run(None, f"open({str(target)!r}, 'w').write('x')")
    assert result.status == "failed"
    assert result.error is not None
    assert "PermissionError" in result.error
    assert not target.exists()


async def test_the_scratch_directory_is_the_writable_working_directory(
    sandbox: ContainerManager,
) -> None:
    code = "import os\nopen('notes.txt', 'w').write('kept')\nos.getcwd() == os.environ['HOME']"
    first = await sandbox.run(None, code)
    second = await sandbox.run(first.container_id, "open('notes.txt').read()")
    assert first.output == "True\n"
    assert second.output == "'kept'\n"


async def test_files_outside_the_allowed_paths_cannot_be_read(
    sandbox: ContainerManager, open_dir: Path
) -> None:
    if not _active(sandbox, "landlock_filesystem"):
        pytest.skip("Landlock is not available on this host")
    secret = open_dir / "secret.txt"
    secret.write_text("s3cret")  # small local file in a test: blocking is harmless
    secret.chmod(0o644)
    result = await sandbox.run(None, f"open({str(secret)!r}).read()")
    assert result.error is not None
    assert "PermissionError" in result.error
    assert "s3cret" not in result.output


async def test_spawning_a_process_fails(sandbox: ContainerManager) -> None:
    result = await sandbox.run(None, "import subprocess\nsubprocess.run(['/bin/true'])")
    assert result.status == "failed"
    assert result.error is not None
    assert "Error" in result.error

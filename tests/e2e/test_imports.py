"""What importing a part of antiphon loads, measured in a fresh interpreter.

The realtime SDK must work with the core dependencies alone, and the protocol cores must not pay
for the realtime SDK: each check starts a new Python process, imports one module and lists which
of the watched modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import antiphon

pytestmark = pytest.mark.e2e

#: What the server needs and the realtime SDK must not load (the ``server`` extra, and
#: antiphon's server-side layers).
SERVER_SIDE = (
    "starlette",
    "uvicorn",
    "mcp",
    "typer",
    "rich",
    "platformdirs",
    "antiphon.cli",
    "antiphon.server",
    "antiphon.responses",
    "antiphon.engines",
    "antiphon.store",
    "antiphon.tools",
)
REALTIME_SIDE = ("websockets", "antiphon.realtime")


def loaded_after(statement: str, watched: tuple[str, ...]) -> list[str]:
    """The ``watched`` modules present in ``sys.modules`` after running ``statement``."""
    code = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps([name for name in {list(watched)!r} if name in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_wire_cores_loads_neither_websockets_nor_the_realtime_sdk() -> None:
    assert loaded_after("import antiphon.wire", REALTIME_SIDE) == []


def test_importing_the_top_level_package_loads_nothing_heavy() -> None:
    assert loaded_after("import antiphon", REALTIME_SIDE + SERVER_SIDE) == []


def test_function_tool_is_loaded_on_first_access() -> None:
    statement = (
        "import antiphon\nassert antiphon.function_tool.__module__ == 'antiphon.realtime.tools'"
    )
    assert loaded_after(statement, REALTIME_SIDE) == list(REALTIME_SIDE)


def test_importing_the_realtime_sdk_loads_nothing_of_the_server() -> None:
    statement = "import antiphon.realtime, antiphon.realtime.testing"
    assert loaded_after(statement, SERVER_SIDE) == []


def test_the_harmony_cores_load_nothing_of_the_server_or_the_realtime_sdk() -> None:
    assert loaded_after("import antiphon.harmony", REALTIME_SIDE + SERVER_SIDE) == []


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    name = "no_such_name"
    with pytest.raises(AttributeError, match=name):
        getattr(antiphon, name)
    assert "function_tool" in dir(antiphon)

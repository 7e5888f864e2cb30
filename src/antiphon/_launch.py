"""The ``antiphon`` console script: check that the server extra is installed, then run the CLI.

``pip install antiphon`` installs the realtime agents SDK and its needs only; the command and the
server need the ``server`` extra. Without it, importing :mod:`antiphon.cli` would fail with a
bare ``ModuleNotFoundError``: this entry point says what to install instead.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["SERVER_MODULES", "main", "missing_server_modules"]

#: The top-level modules of the ``server`` extra's distributions.
SERVER_MODULES = (
    "httpx",
    "mcp",
    "platformdirs",
    "prometheus_client",
    "rich",
    "starlette",
    "typer",
    "uvicorn",
)


def missing_server_modules() -> list[str]:
    """The modules of the ``server`` extra that cannot be imported here."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def main() -> None:
    """Entry point of the ``antiphon`` script and of ``python -m antiphon``."""
    missing = missing_server_modules()
    if missing:
        sys.exit(
            f"antiphon: the command needs the server extra ({', '.join(missing)} not installed).\n"
            "Install it with: pip install 'antiphon[server]'"
        )
    from antiphon.cli import main as run_cli

    run_cli()

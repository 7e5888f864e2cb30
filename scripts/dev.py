#!/usr/bin/env python3
"""The project's two entry points, runnable with nothing but ``python3``.

``python3 scripts/dev.py test`` creates ``.venv`` (if missing), installs antiphon with its dev
extra, then runs ruff (lint and format check), pyright (strict) and the whole pytest suite with
branch coverage. ``python3 scripts/dev.py demo`` sets up the same environment and runs
``antiphon demo``. Only the standard library is used here, on purpose: this file is what a fresh
machine runs first.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".antiphon-installed"


def _run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def _ensure_env() -> None:
    """Create the virtual environment and install the project when pyproject.toml changed."""
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(digest)


def test(extra: list[str]) -> None:
    """Lint, type-check and run every test."""
    _ensure_env()
    _run(BIN / "ruff", "check", "src", "tests", "bench", "scripts")
    _run(BIN / "ruff", "format", "--check", "src", "tests", "bench", "scripts")
    _run(BIN / "pyright")
    _run(BIN / "python", "-m", "pytest", *extra)


def demo(extra: list[str]) -> None:
    """Run the offline demo: antiphon serve + the official client, shown live."""
    _ensure_env()
    _run(BIN / "antiphon", "demo", *extra)


def main() -> None:
    """Dispatch ``test`` or ``demo``; anything after the command goes to the tool it runs."""
    commands = {"test": test, "demo": demo}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 scripts/dev.py {{{'|'.join(commands)}}} [args...]")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()

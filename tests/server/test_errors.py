"""Error answers: OpenAI-shaped bodies, and nothing internal in a 500."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from antiphon.exceptions import InvalidRequestError
from antiphon.server.errors import error_response, handle_invalid_request, handle_unexpected
from tests.server.support import serving


async def _broken(request: Request) -> Response:
    raise RuntimeError("database password is hunter2")


async def _refused(request: Request) -> Response:
    raise InvalidRequestError("Bad limit.", param="limit", code="invalid_value", status=422)


def _app() -> Starlette:
    return Starlette(
        routes=[Route("/broken", _broken), Route("/refused", _refused)],
        exception_handlers={
            InvalidRequestError: handle_invalid_request,
            Exception: handle_unexpected,
        },
    )


async def test_an_unexpected_error_is_a_generic_500_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="antiphon.server"):
        async with serving(_app(), lifespan="off") as url, httpx.AsyncClient(base_url=url) as http:
            answer = await http.get("/broken")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {
            "message": "The server had an error processing the request.",
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
    }
    assert "hunter2" not in answer.text
    logged = [r for r in caplog.records if r.name == "antiphon.server"]
    assert logged[0].getMessage() == (
        "unhandled RuntimeError on GET /broken: database password is hunter2"
    )
    assert logged[0].exc_info is not None


async def test_an_invalid_request_keeps_its_status_param_and_code() -> None:
    async with serving(_app(), lifespan="off") as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/refused")
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "message": "Bad limit.",
        "type": "invalid_request_error",
        "param": "limit",
        "code": "invalid_value",
    }


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "invalid_request_error"),
        (409, "invalid_request_error"),
        (502, "server_error"),
    ],
)
def test_each_status_gets_its_error_type(status: int, kind: str) -> None:
    answer = error_response(status, "m", code="c")
    assert answer.status_code == status
    assert answer.body == (
        b'{"error":{"message":"m","type":"' + kind.encode() + b'","param":null,"code":"c"}}'
    )

"""``POST /v1/realtime/client_secrets``: issue an ephemeral key for one ``/v1/realtime`` session.

The body is the hosted API's (``openai.types.realtime.client_secret_create_params``):
``expires_after`` (``anchor`` ``"created_at"``, ``seconds`` 10 to 7200, default 600) and an
optional realtime ``session``. Both are checked strictly (no unknown field at any depth, no
type coercion) and the session also as a connection would apply it, so a session the endpoint
could not serve is a 400 naming the field now, not a surprise at connect time. The answer is a
:class:`~openai.types.realtime.ClientSecretCreateResponse`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, cast

from openai.types.realtime import (
    ClientSecretCreateResponse,
    RealtimeSessionCreateRequest,
)
from openai.types.realtime.realtime_session_create_response import RealtimeSessionCreateResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from antiphon.exceptions import InvalidRequestError
from antiphon.realtime_server.errors import field_path, short_id
from antiphon.realtime_server.session import RealtimeSession
from antiphon.responses.catalog import ModelCatalog
from antiphon.responses.request import (
    CreateResponseBody,
    RequestLimits,
    check_json,
    decode_body,
)
from antiphon.responses.runtime import ToolRuntime
from antiphon.server.client_secrets import ClientSecret, ClientSecretStore
from antiphon.wire.json import dump, dump_json

__all__ = [
    "ClientSecretRequest",
    "client_secret_response",
    "create_client_secret",
    "parse_client_secret_body",
]

DEFAULT_SECONDS: Final = 600
MIN_SECONDS: Final = 10
MAX_SECONDS: Final = 7200
#: The largest session a client secret may carry (live secrets keep theirs in memory).
MAX_SESSION_BYTES: Final = 256 * 1024
#: Deeper JSON is refused (a tool's parameter schema needs a handful of levels, not hundreds).
MAX_DEPTH: Final = 64


class _ExpiresAfter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    anchor: Literal["created_at"] = "created_at"
    seconds: int = Field(default=DEFAULT_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    expires_after: _ExpiresAfter = _ExpiresAfter()
    session: RealtimeSessionCreateRequest | None = None


@dataclass(frozen=True, slots=True)
class ClientSecretRequest:
    """A checked ``POST /v1/realtime/client_secrets`` body."""

    seconds: int
    session: RealtimeSessionCreateRequest | None


def parse_client_secret_body(raw: object) -> ClientSecretRequest:
    """Check a decoded body; :class:`InvalidRequestError` (400) names the first bad field."""
    if not isinstance(raw, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    fields = cast(dict[str, object], raw)  # JSON boundary: decoded objects have string keys
    check_json(fields, MAX_DEPTH)
    session = fields.get("session")
    if isinstance(session, dict) and cast(dict[str, object], session).get("type") == (
        "transcription"
    ):
        raise InvalidRequestError(
            "Transcription sessions are not supported; use session.type 'realtime'.",
            param="session.type",
            code="unsupported_value",
        )
    try:
        body = _Body.model_validate(fields, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = field_path(first["loc"])
        code = "missing_required_parameter" if first["type"] == "missing" else "invalid_value"
        if first["type"] == "extra_forbidden":
            code = "unknown_parameter"
        raise InvalidRequestError(
            f"Invalid value for '{param}': {first['msg']}.", param=param or None, code=code
        ) from exc
    if body.session is not None:
        _reject_extras(body.session, "session")
        # Applied as a connection will apply it: what it cannot serve is refused now (its
        # server-side tools are checked against the operator's by the route).
        size = len(dump_json(body.session))
        if size > MAX_SESSION_BYTES:
            # Every live secret keeps its session in memory: each must stay small.
            raise InvalidRequestError(
                f"session is {size} bytes; a client secret's session may hold at most "
                f"{MAX_SESSION_BYTES}.",
                param="session",
                code="request_too_large",
            )
        _applied(body.session, "", _any_tools, speaks=True)  # the route checks modalities
    return ClientSecretRequest(body.expires_after.seconds, body.session)


def client_secret_response(secret: ClientSecret) -> ClientSecretCreateResponse:
    """The hosted API's answer: the secret, its expiry and the session it opens with."""
    model = secret.session.model if secret.session is not None else None
    session = RealtimeSession(model or "", _any_tools, speaks=True)  # checked when issued
    if secret.session is not None:
        session.update(secret.session, {})
    view = dump(session.view())
    if model is None:
        del view["model"]  # no model chosen yet: the connection's ?model= names it
    view.update(id=short_id("sess"), object="realtime.session")
    session = RealtimeSessionCreateResponse.model_validate(view)
    return ClientSecretCreateResponse(
        value=secret.value, expires_at=secret.expires_at, session=session
    )


async def create_client_secret(request: Request) -> Response:
    """``POST /v1/realtime/client_secrets`` (needs the server's API key, like every route)."""
    limits: RequestLimits = request.app.state.request_limits
    data = await request.body()
    # The official client sends {} when given nothing; an empty body means the same.
    parsed = parse_client_secret_body(decode_body(data, limits) if data.strip() else {})
    model = parsed.session.model if parsed.session is not None else None
    catalog: ModelCatalog = request.app.state.models
    if model is not None and await catalog.resolve(model) is None:
        raise InvalidRequestError(
            f"The model '{model}' does not exist or is not served here.",
            param="session.model",
            code="model_not_found",
        )
    if parsed.session is not None:
        runtime: ToolRuntime = request.app.state.tool_runtime
        speaks = request.app.state.speech is not None
        _applied(parsed.session, model or "", runtime.check, speaks=speaks)
    store: ClientSecretStore = request.app.state.client_secrets
    secret = store.issue(parsed.seconds, parsed.session)
    return Response(dump_json(client_secret_response(secret)), media_type="application/json")


def _any_tools(body: CreateResponseBody) -> None:
    """No check of server-side tools (the route makes it, with the operator's runtime)."""


def _applied(
    session: RealtimeSessionCreateRequest,
    model: str,
    check: Callable[[CreateResponseBody], None],
    *,
    speaks: bool,
) -> RealtimeSession:
    applied = RealtimeSession(model, check, speaks=speaks)
    applied.update(session, {})
    return applied


def _reject_extras(model: BaseModel, path: str) -> None:
    """The official models accept unknown keys; a key they do not define is refused here."""
    for name in model.model_extra or {}:
        where = f"{path}.{name}"
        raise InvalidRequestError(
            f"Unrecognized parameter: '{where}'.", param=where, code="unknown_parameter"
        )
    for name in type(model).model_fields:
        _reject_extras_in(getattr(model, name), f"{path}.{name}")


def _reject_extras_in(value: object, path: str) -> None:
    if isinstance(value, BaseModel):
        _reject_extras(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(cast(list[object], value)):
            _reject_extras_in(item, f"{path}[{index}]")

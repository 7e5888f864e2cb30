"""Secrets out of a cassette: headers, keys, and MCP credentials in request bodies (no I/O).

What is redacted: the ``Authorization``, ``Api-Key``, ``X-Api-Key``, ``Cookie`` and
``Set-Cookie`` headers, ``api_key``/``key`` query parameters, and anywhere in a JSON body (a
Responses request, a Realtime client event) the values of ``authorization``, ``api_key``,
``client_secret``, ``password`` and ``token`` keys and every value of a ``headers`` object (the
credentials an MCP tool carries). Redaction keeps the key and writes :data:`REDACTED`, so a
replayed request redacted the same way still compares equal.

What the server answers is kept as it came, with one exception: a JSON answer's issued
secrets (:func:`redact_answer`), the ``value`` of every ``{"value", "expires_at"}`` object
(a Realtime client secret, a bearer key for its lifetime), and the string values of
``authorization``, ``api_key``, ``client_secret`` and ``password`` keys. Strings are replaced in
place, so the answer keeps the shape its client parses; ``token`` and ``headers`` are kept (an
answer's log probabilities and tool schemas use those names).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from antiphon.record._json import is_list, is_mapping

__all__ = ["REDACTED", "redact_answer", "redact_headers", "redact_json", "redact_query"]

REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "cookie", "set-cookie"})
_SECRET_KEYS = frozenset({"authorization", "api_key", "client_secret", "password", "token"})
_ANSWER_SECRET_KEYS = frozenset({"authorization", "api_key", "client_secret", "password"})
_SECRET_QUERY = frozenset({"api_key", "key"})


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the values of secret ones replaced."""
    return [
        (name, REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in headers
    ]


def redact_query(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query parameters with keys replaced."""
    return [(name, REDACTED if name.lower() in _SECRET_QUERY else value) for name, value in pairs]


def redact_json(value: object) -> object:
    """A decoded JSON value with every secret replaced (a copy; the input is not changed)."""
    return _redacted(value, answer=False)


def redact_answer(body: bytes) -> bytes | None:
    """A JSON answer with its issued secrets replaced, or ``None`` when it holds none."""
    try:
        value: object = json.loads(body)
    except ValueError:
        return None
    redacted = _redacted(value, answer=True)
    if redacted == value:
        return None
    return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False).encode()


def _redacted(value: object, *, answer: bool) -> object:
    """``value`` with its secrets replaced: whole in a request, strings only in an answer."""
    if is_mapping(value):
        issued = answer and "expires_at" in value and isinstance(value.get("value"), str)
        out: dict[str, object] = {}
        for name, inner in value.items():
            if answer:
                # Strings only, and no "token" or "headers": an answer holds log-probability
                # tokens and tool schemas with such names, which replay must give back intact.
                secret = name.lower() in _ANSWER_SECRET_KEYS and isinstance(inner, str)
            else:
                secret = name.lower() in _SECRET_KEYS and inner is not None
            if secret or (issued and name == "value"):
                out[name] = REDACTED
            elif name == "headers" and not answer and is_mapping(inner):
                out[name] = dict.fromkeys(inner, REDACTED)
            else:
                out[name] = _redacted(inner, answer=answer)
        return out
    if is_list(value):
        return [_redacted(inner, answer=answer) for inner in value]
    return value

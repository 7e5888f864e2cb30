"""HTTP for the Responses battery: requests, event streams read and checked, error bodies.

Thin: every byte read goes through :mod:`antiphon.check.stream`'s rules. A request a feature
check makes that the server refuses with a 4xx and an error body is :class:`NotSupported`; any
other unexpected status is :class:`CheckFailed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from openai.types.responses import Response

from antiphon.check._json import JSON, as_json, is_json
from antiphon.check.outcome import CheckFailed, NotSupported
from antiphon.check.schema import validate_body
from antiphon.check.stream import ResponseStreamChecker, final_response
from antiphon.check.violation import Violation
from antiphon.wire.sse import SSEDecoder

__all__ = ["ResponsesSession", "Streamed"]

_UNSUPPORTED_STATUSES = frozenset({400, 404, 405, 422, 501})
_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Streamed:
    """A stream read to its end (or to ``stop_after`` events) and checked."""

    payloads: list[JSON]
    checker: ResponseStreamChecker
    feature: str | None = None

    @property
    def final(self) -> Response:
        """The response the official stream helper hands its caller.

        A feature's stream that ends ``response.failed`` with an error message is the server
        saying, clearly, that it cannot do the feature: :class:`NotSupported`, with the message.
        """
        final = final_response(self.checker.events)
        if final is None:
            raise CheckFailed("the official stream helper yielded no final response")
        if self.feature is not None and final.status == "failed" and final.error is not None:
            raise NotSupported(f"{self.feature}: response.failed: {final.error.message}")
        return final


class ResponsesSession:
    """One server under check: ``http`` has its base URL (``.../v1``) and headers set."""

    def __init__(self, http: httpx.AsyncClient, model: str) -> None:
        self.http = http
        self.model = model

    async def create(self, body: JSON, *, feature: str | None = None) -> Response:
        """``POST /responses`` without streaming; the body checked against ``Response``."""
        answer = await self.http.post("responses", json={"model": self.model, **body})
        return response_body(self._ok(answer, feature), "the response body")

    async def stream(
        self,
        body: JSON,
        *,
        feature: str | None = None,
        stop_after: int | None = None,
    ) -> Streamed:
        """``POST /responses`` with ``stream: true``, every event checked as it arrives."""
        request = self.http.build_request(
            "POST", "responses", json={"model": self.model, **body, "stream": True}
        )
        return await self._read(request, ResponseStreamChecker(), feature, stop_after)

    async def resume(self, response_id: str, starting_after: int) -> Streamed:
        """``GET /responses/{id}?stream=true&starting_after=N``, checked as a resumed stream."""
        params = {"stream": "true", "starting_after": str(starting_after)}
        request = self.http.build_request("GET", f"responses/{response_id}", params=params)
        checker = ResponseStreamChecker(starting_after=starting_after)
        return await self._read(request, checker, None, None)

    async def get(self, response_id: str) -> httpx.Response:
        """``GET /responses/{id}`` as the server answers it."""
        return await self.http.get(f"responses/{response_id}")

    async def cancel(self, response_id: str, feature: str) -> Response:
        """``POST /responses/{id}/cancel``."""
        answer = await self.http.post(f"responses/{response_id}/cancel")
        return response_body(self._ok(answer, feature), "the cancel answer")

    async def _read(
        self,
        request: httpx.Request,
        checker: ResponseStreamChecker,
        feature: str | None,
        stop_after: int | None,
    ) -> Streamed:
        payloads: list[JSON] = []
        decoder = SSEDecoder()
        answer = await self.http.send(request, stream=True)
        try:
            if answer.status_code != 200:
                await answer.aread()
                self._ok(answer, feature)
            kind = answer.headers.get("content-type", "")
            if not kind.startswith("text/event-stream"):
                raise CheckFailed(f"a stream answered with content-type {kind!r}")
            async for chunk in answer.aiter_bytes():
                for message in decoder.feed(chunk):
                    payload = _decode(len(payloads), message.event, message.data)
                    payloads.append(payload)
                    _raise_first(checker.feed(payload))
                    if stop_after is not None and len(payloads) >= stop_after:
                        return Streamed(payloads, checker, feature)
        finally:
            await answer.aclose()
        _raise_first(checker.finish())
        return Streamed(payloads, checker, feature)

    def _ok(self, answer: httpx.Response, feature: str | None) -> JSON:
        try:
            body: object = answer.json()
        except ValueError:
            body = None
        if answer.status_code == 200 and is_json(body):
            return body
        error = as_json(as_json(body).get("error"))
        message = str(error.get("message") or answer.text[:_SHOWN])
        if feature is not None and answer.status_code in _UNSUPPORTED_STATUSES and error:
            raise NotSupported(f"{feature}: HTTP {answer.status_code}: {message}")
        raise CheckFailed(f"HTTP {answer.status_code}: {message}")


def response_body(payload: JSON, what: str) -> Response:
    """``payload`` as a ``Response``, held to the official model like a stream event."""
    body, violations = validate_body(Response, payload, what)
    _raise_first(violations)
    assert body is not None  # validate_body returns None only with a violation
    return body


def _decode(index: int, name: str | None, data: str) -> JSON:
    try:
        payload: object = json.loads(data)
    except ValueError as error:
        found = Violation("sse.json", f"data is not JSON: {data[:_SHOWN]!r}", index)
        raise CheckFailed(found.message, found) from error
    if not is_json(payload):
        found = Violation("sse.json", "data is not a JSON object", index, payload)
        raise CheckFailed(found.message, found)
    if name not in (None, "message", payload.get("type")):  # "message": no event line
        found = Violation("sse.event-name", f"SSE event {name!r} != type", index, payload)
        raise CheckFailed(found.message, found)
    return payload


def _raise_first(violations: list[Violation]) -> None:
    if violations:
        raise CheckFailed(violations[0].message, violations[0])

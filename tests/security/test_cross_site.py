"""Issue 9, defect 7: a web page must not drive a server that has no API key.

A browser sends a cross-site POST without a preflight when its content type is "simple"
(``text/plain``), always with an ``Origin``; a DNS-rebinding page reaches 127.0.0.1 under its own
hostname, so its ``Host`` is foreign. Each such request is refused before it runs a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from antiphon.cli import app as cli
from antiphon.exceptions import ConfigurationError
from antiphon.server import run as server_run
from antiphon.server.settings import ENVIRONMENT, ServeOptions, ServerSettings, resolve_settings
from tests.security.support import JSON_HEADERS, RecordingUpstream, running, settings_for

_BODY = json.dumps({"model": "chat", "input": "Hi"})


async def test_a_text_plain_post_is_refused_with_415_and_runs_nothing(tmp_path: Path) -> None:
    upstream = RecordingUpstream()
    async with running(settings_for(tmp_path), upstream) as http:
        answer = await http.post(
            "/v1/responses", content=_BODY, headers={"content-type": "text/plain"}
        )
        unlabelled = await http.post("/v1/responses", content=_BODY)
    assert answer.status_code == 415
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == ("Content-Type", "unsupported_media_type")
    assert "'text/plain'" in error["message"]
    assert unlabelled.status_code == 415
    assert upstream.bodies == []


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999"])
async def test_a_foreign_origin_is_refused_with_403_and_runs_nothing(
    tmp_path: Path, origin: str
) -> None:
    upstream = RecordingUpstream()
    async with running(settings_for(tmp_path), upstream) as http:
        created = await http.post(
            "/v1/responses", content=_BODY, headers={**JSON_HEADERS, "origin": origin}
        )
        # A body-less POST is a "simple" request too: no preflight protects it.
        cancelled = await http.post("/v1/responses/resp_x/cancel", headers={"origin": origin})
    assert created.status_code == 403
    assert (created.json()["error"]["param"], created.json()["error"]["code"]) == (
        "Origin",
        "origin_not_allowed",
    )
    assert cancelled.status_code == 403
    assert upstream.bodies == []


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:8000", "http://localhost:8000"),
        ("[::1]:8000", "http://[::1]:8000"),
    ],
)
async def test_same_origin_requests_pass(tmp_path: Path, host: str, origin: str) -> None:
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post(
            "/v1/responses",
            content=_BODY,
            headers={**JSON_HEADERS, "host": host, "origin": origin},
        )
    assert answer.status_code == 200
    assert answer.json()["status"] == "completed"


async def test_an_allowed_origin_passes_with_cors_headers(tmp_path: Path) -> None:
    origin = "https://app.example"
    settings = settings_for(tmp_path, allow_origins=("https://APP.example/",))
    async with running(settings) as http:
        preflight = await http.options(
            "/v1/responses",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        answer = await http.post(
            "/v1/responses", content=_BODY, headers={**JSON_HEADERS, "origin": origin}
        )
        other = await http.post(
            "/v1/responses",
            content=_BODY,
            headers={**JSON_HEADERS, "origin": "https://other.example"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin
    assert other.status_code == 403


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "evil.example", "127.0.0.1:9999", "127.0.0.1.nip.io:8000", ""]
)
async def test_a_loopback_server_refuses_a_foreign_host_with_421(tmp_path: Path, host: str) -> None:
    upstream = RecordingUpstream()
    async with running(settings_for(tmp_path), upstream) as http:
        answer = await http.post(
            "/v1/responses", content=_BODY, headers={**JSON_HEADERS, "host": host}
        )
        health = await http.get("/health", headers={"host": host})
    assert answer.status_code == 421
    assert answer.json()["error"]["param"] == "Host"
    assert health.status_code == 421
    assert upstream.bodies == []


async def test_a_server_bound_to_every_interface_answers_any_host(tmp_path: Path) -> None:
    # Reached under names the server cannot know: protect it with --api-key instead.
    async with running(settings_for(tmp_path, host="0.0.0.0")) as http:
        answer = await http.post(
            "/v1/responses", content=_BODY, headers={**JSON_HEADERS, "host": "gpu-box.lan:8000"}
        )
    assert answer.status_code == 200


def test_allowed_origins_merge_flags_over_environment_over_file(tmp_path: Path) -> None:
    config = tmp_path / "antiphon.toml"
    config.write_text('[server]\nallow_origins = ["https://file.example"]\n')
    base = {"config": config, "upstream_url": "http://u/v1"}
    variable = ENVIRONMENT["allow_origins"]
    assert variable == "ANTIPHON_ALLOW_ORIGIN"
    from_file = resolve_settings(ServeOptions(**base), {})  # pyright: ignore[reportArgumentType]
    from_env = resolve_settings(
        ServeOptions(**base),  # pyright: ignore[reportArgumentType]
        {variable: "https://a.example, https://b.example"},
    )
    from_flags = resolve_settings(
        ServeOptions(**base, allow_origins=("https://flag.example",)),  # pyright: ignore[reportArgumentType]
        {variable: "https://a.example"},
    )
    assert from_file.allow_origins == ("https://file.example",)
    assert from_env.allow_origins == ("https://a.example", "https://b.example")
    assert from_flags.allow_origins == ("https://flag.example",)


@pytest.mark.parametrize("origin", ["https://app.example/path", "ftp://x", "null", "app.example"])
def test_an_allowed_origin_that_is_not_an_origin_is_a_configuration_error(
    origin: str,
) -> None:
    with pytest.raises(ConfigurationError, match="is not an origin"):
        resolve_settings(ServeOptions(upstream_url="http://u/v1", allow_origins=(origin,)), {})


def test_allow_origin_is_a_repeatable_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    started: list[ServerSettings] = []
    monkeypatch.setattr(server_run, "serve", started.append)
    argv = ["serve", "--upstream-url", "http://u/v1", "--allow-origin", "https://a.example"]
    result = CliRunner().invoke(cli, [*argv, "--allow-origin", "http://b.example:3000"])
    plain = CliRunner().invoke(cli, ["serve", "--upstream-url", "http://u/v1"])
    assert (result.exit_code, plain.exit_code) == (0, 0)
    assert started[0].allow_origins == ("https://a.example", "http://b.example:3000")
    assert started[1].allow_origins == ()

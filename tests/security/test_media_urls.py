"""Issue 9, defect 11: media URLs the upstream would fetch are checked before they reach it.

An ``input_image`` URL used to be forwarded verbatim, so a client could make the upstream fetch
cloud metadata (169.254.169.254), a loopback service or a ``file://`` path. Only http(s) and
``data:`` URLs pass, and by default none naming a loopback, private or link-local address.
``input_file``, which no engine can send, is a 400 rather than a run cancelled with a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.security.support import RecordingUpstream, running, settings_for

_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
    "60e6kgAAAABJRU5ErkJggg=="
)


def _image(url: str) -> dict[str, Any]:
    part = {"type": "input_image", "image_url": url, "detail": "auto"}
    return {"model": "chat", "input": [{"role": "user", "content": [part]}]}


def _sent_urls(upstream: RecordingUpstream) -> list[str]:
    return [
        part["image_url"]["url"]
        for body in upstream.bodies
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "ftp://example.com/cat.png",
        "javascript:alert(1)",
        "http://127.0.0.1:6379/",
        "http://localhost:8000/v1/responses",
        "http://LOCALHOST./x.png",
        "http://api.localhost/x.png",
        "http://10.0.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://[::1]:8000/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://[fe80::1]/x.png",
        "http://0.0.0.0:8000/x.png",
        "http://2130706433/x.png",
        "http://0x7f.1/x.png",
        "http://127.1/x.png",
        "http://user:pass@example.com/x.png",
        "http://example.com\\@127.0.0.1/x.png",
        "http://%31%32%37.0.0.1/x.png",
        "http://\uff11\uff12\uff17.0.0.1/x.png",
        "http:///x.png",
        "",
    ],
)
async def test_a_media_url_the_upstream_must_not_fetch_is_a_400(tmp_path: Path, url: str) -> None:
    upstream = RecordingUpstream()
    async with running(settings_for(tmp_path), upstream) as http:
        answer = await http.post("/v1/responses", json=_image(url))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "input[0].content[0].image_url"
    assert upstream.bodies == []


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://8.8.8.8/x.png", _PNG])
async def test_public_and_data_urls_reach_the_upstream(tmp_path: Path, url: str) -> None:
    upstream = RecordingUpstream()
    async with running(settings_for(tmp_path), upstream) as http:
        answer = await http.post("/v1/responses", json=_image(url))
    assert answer.status_code == 200
    assert _sent_urls(upstream) == [url]


async def test_the_operator_can_allow_private_media_urls_but_not_other_schemes(
    tmp_path: Path,
) -> None:
    upstream = RecordingUpstream()
    settings = settings_for(tmp_path, allow_private_media_urls=True)
    async with running(settings, upstream) as http:
        private = await http.post("/v1/responses", json=_image("http://127.0.0.1:9000/cat.png"))
        local_file = await http.post("/v1/responses", json=_image("file:///etc/passwd"))
    assert private.status_code == 200
    assert local_file.status_code == 400
    assert _sent_urls(upstream) == ["http://127.0.0.1:9000/cat.png"]


async def test_an_image_in_a_function_output_is_checked_too(tmp_path: Path) -> None:
    upstream = RecordingUpstream()
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    image = {"type": "input_image", "image_url": "http://169.254.169.254/", "detail": "auto"}
    output = {"type": "function_call_output", "call_id": "c1", "output": [image]}
    async with running(settings_for(tmp_path), upstream) as http:
        answer = await http.post("/v1/responses", json={"model": "chat", "input": [call, output]})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "input[1].output[0].image_url"
    assert upstream.bodies == []


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "input_file", "file_url": "http://example.com/a.pdf"}, "file_url"),
        ({"type": "input_file", "file_data": "JVBERi0=", "filename": "a.pdf"}, "file_data"),
        ({"type": "input_file", "file_id": "file-1"}, "file_id"),
        ({"type": "input_image", "file_id": "file-1", "detail": "auto"}, "file_id"),
    ],
)
async def test_files_no_engine_can_send_are_a_400_not_a_cancelled_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, part: dict[str, Any], param: str
) -> None:
    upstream = RecordingUpstream()
    body = {"model": "chat", "input": [{"role": "user", "content": [part]}]}
    with caplog.at_level(logging.ERROR):
        async with running(settings_for(tmp_path), upstream) as http:
            answer = await http.post("/v1/responses", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == f"input[0].content[0].{param}"
    assert caplog.records == []
    assert upstream.bodies == []

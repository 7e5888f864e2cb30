"""Sinks: each classification opens its own item; calls the request cannot run are refused."""

from __future__ import annotations

import pytest

from antiphon.engines.base import ItemStarted
from antiphon.exceptions import ProtocolError
from antiphon.harmony.classifier import Classification, MessageKind
from antiphon.responses.items import TurnState, open_refused_mcp_call, open_sink
from antiphon.responses.server_tools import RequestTools
from tests.responses.support import check_batches, ledger


def test_a_message_sink_streams_text_with_the_engines_phase() -> None:
    book = ledger()
    sink = open_sink(
        book,
        ItemStarted("message", phase="commentary"),
        Classification(MessageKind.MESSAGE),
        RequestTools(),
        TurnState(),
    )
    sink.delta("Checking")
    sink.delta(" now.")
    sink.done()
    book.complete()
    final = check_batches([book.drain()])
    item = final.output[0]
    assert item.type == "message"
    assert item.phase == "commentary"
    assert final.output_text == "Checking now."


def test_a_refused_call_streams_its_arguments_then_fails() -> None:
    book, state = ledger(), TurnState()
    sink = open_refused_mcp_call(book, "calc", "rm", "Tool 'rm' is not allowed.", state)
    sink.delta('{"path": "/"}')
    sink.done()
    book.complete()
    final = check_batches([book.drain()])
    refused = final.output[0]
    assert refused.type == "mcp_call"
    assert (refused.status, refused.arguments) == ("failed", '{"path": "/"}')
    assert "Tool 'rm' is not allowed." in str(refused.error)
    assert state.refused_calls == 1
    assert state.pending == []


def test_code_without_a_declared_interpreter_is_a_protocol_error() -> None:
    verdict = Classification(MessageKind.CODE_INTERPRETER_CALL, "python")
    with pytest.raises(ProtocolError, match="code_interpreter_call message"):
        open_sink(ledger(), ItemStarted("tool_call"), verdict, RequestTools(), TurnState())


def test_an_mcp_call_to_an_undeclared_server_is_a_protocol_error() -> None:
    verdict = Classification(MessageKind.MCP_CALL, "ghost.add", name="add", server_label="ghost")
    with pytest.raises(ProtocolError, match="undeclared server 'ghost'"):
        open_sink(ledger(), ItemStarted("tool_call"), verdict, RequestTools(), TurnState())

"""Function tools: a Python callable described to the model and invoked with its JSON arguments.

:func:`function_tool` turns a function into a :class:`FunctionTool`. Its JSON schema comes from the
type hints through pydantic (no hand type walker) and its descriptions from the docstring
(see :mod:`antiphon.realtime._schema`). :meth:`FunctionTool.invoke` validates the arguments,
runs the function (sync functions in a worker thread, so they never block the event loop),
enforces the timeout and serialises the result to a string. Every failure it can see comes out
as a :class:`~antiphon.ToolExecutionError` whose message is fit for the model; cancellation
always propagates. Deciding what to send and when is the executor's job, not this module's.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from openai.types.realtime import RealtimeFunctionTool
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from antiphon.exceptions import ToolExecutionError, ToolTimeoutError
from antiphon.realtime._schema import ArgumentsModel, build_arguments_model, summarise_errors

if TYPE_CHECKING:
    from antiphon.realtime.agent import RealtimeAgent

__all__ = ["FunctionTool", "OnTimeout", "ToolContext", "function_tool"]

OnTimeout = Literal["error_as_result", "raise"]
"""What a timeout means: answer the model and report it (``error_as_result``), or also let the
session's ``tool_failure`` policy decide whether to raise (``raise``)."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool (or handoff callback) may learn about the call it serves.

    A tool function receives it when its first parameter is annotated ``ToolContext``.
    """

    call_id: str
    tool_name: str
    agent: RealtimeAgent


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool the model can call: its name, description, parameter schema and invoker.

    ``on_invoke`` receives the context and the raw JSON arguments and returns the raw result;
    :meth:`invoke` wraps it with the timeout, error translation and serialisation. Build one with
    :func:`function_tool`, or directly to control the schema yourself.
    """

    name: str
    description: str
    params_json_schema: dict[str, object]
    on_invoke: Callable[[ToolContext, str], Awaitable[object]] = field(repr=False)
    timeout: float | None = None
    on_timeout: OnTimeout = "error_as_result"

    def to_session_tool(self) -> RealtimeFunctionTool:
        """The GA ``session.update`` tool entry: ``{type, name, description, parameters}``."""
        return RealtimeFunctionTool(
            type="function",
            name=self.name,
            description=self.description,
            parameters=self.params_json_schema,
        )

    async def invoke(self, context: ToolContext, arguments: str) -> str:
        """Run the tool on ``arguments`` (a JSON object text) and return its output string.

        Raises :class:`~antiphon.ToolTimeoutError` past ``timeout`` and
        :class:`~antiphon.ToolExecutionError` for any other failure (invalid arguments, the
        function raising, an unserialisable result), with the cause chained. Cancellation
        propagates untouched.
        """
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                result = await self.on_invoke(context, arguments)
        except TimeoutError as exc:
            # Our deadline surfaces as TimeoutError; a TimeoutError the tool raised itself before
            # the deadline is an ordinary failure.
            if deadline.expired():
                message = f"Tool '{self.name}' timed out after {self.timeout:g}s."
                raise ToolTimeoutError(
                    message, call_id=context.call_id, tool_name=self.name
                ) from exc
            raise self._failure(context, _reason(exc)) from exc
        except ToolExecutionError:
            raise
        except Exception as exc:
            raise self._failure(context, _reason(exc)) from exc
        try:
            return serialise_result(result)
        except PydanticSerializationError as exc:
            reason = f"result of type {type(result).__name__} is not serialisable"
            raise self._failure(context, reason) from exc

    def _failure(self, context: ToolContext, reason: str) -> ToolExecutionError:
        return ToolExecutionError(
            f"Tool '{self.name}' failed: {reason}", call_id=context.call_id, tool_name=self.name
        )


def _reason(exc: BaseException) -> str:
    """The exception's own text, or its class name when it has none (never a traceback)."""
    return str(exc) or type(exc).__name__


def serialise_result(result: object) -> str:
    """A tool result as the model sees it: strings as is, everything else as JSON.

    Raises ``PydanticSerializationError`` when the value has no JSON form.
    """
    if isinstance(result, str):
        return result
    return to_json(result).decode()


ToolFunction = Callable[..., object]
"""Any sync or async function; its signature is read at decoration time."""


@overload
def function_tool(func: ToolFunction, /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    on_timeout: OnTimeout = "error_as_result",
) -> Callable[[ToolFunction], FunctionTool]: ...


def function_tool(
    func: ToolFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    on_timeout: OnTimeout = "error_as_result",
) -> FunctionTool | Callable[[ToolFunction], FunctionTool]:
    """Make a :class:`FunctionTool` from a function; use bare or with arguments.

    Args:
        func: The function (when used bare as ``@function_tool``).
        name: The tool name; defaults to the function's name.
        description: The tool description; defaults to the docstring summary.
        timeout: Seconds the call may take; ``None`` means no limit. A sync function cannot be
            stopped: on timeout the model is answered but its thread runs to completion.
        on_timeout: ``"error_as_result"`` (default) or ``"raise"``; see :data:`OnTimeout`.

    Raises:
        ConfigurationError: the signature cannot be described (``*args``, a bad annotation).
    """

    def decorate(fn: ToolFunction) -> FunctionTool:
        spec = build_arguments_model(fn, ToolContext)
        return FunctionTool(
            name=name or fn.__name__,
            description=description if description is not None else spec.description,
            params_json_schema=spec.json_schema,
            on_invoke=functools.partial(_call, fn, spec),
            timeout=timeout,
            on_timeout=on_timeout,
        )

    return decorate if func is None else decorate(func)


async def _call(fn: ToolFunction, spec: ArgumentsModel, context: ToolContext, raw: str) -> object:
    """Validate ``raw`` against the arguments model and call ``fn``."""
    try:
        parsed: BaseModel = spec.model.model_validate_json(raw.strip() or "{}")
    except ValidationError as exc:
        message = f"Tool '{context.tool_name}' failed: invalid arguments: {summarise_errors(exc)}"
        raise ToolExecutionError(
            message, call_id=context.call_id, tool_name=context.tool_name
        ) from exc
    # Attribute access (not model_dump) keeps nested pydantic models and enums as instances.
    values: dict[str, Any] = {key: getattr(parsed, key) for key in spec.parameters}
    args: list[object] = [context] if spec.wants_context else []
    args += [values.pop(key) for key in spec.positional_only]
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **values)
    # A sync tool runs in a worker thread so that it never stalls the event loop.
    result = await asyncio.to_thread(fn, *args, **values)
    # A callable object with an async __call__ looks sync until it returns its coroutine.
    return await result if inspect.isawaitable(result) else result

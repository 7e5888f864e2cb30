"""The code interpreter's execution layer: sandboxed, stateful Python containers.

Boundary: no HTTP and no event ledger here. The Responses turn loop calls
:meth:`ContainerManager.run` (through the :class:`CodeExecutor` seam) and turns the
:class:`ExecutionResult` into a ``code_interpreter_call`` item. See ``_child`` for the code
that runs inside each worker process. The threat model (what each isolation layer stops, and
what none of them does) is stated in the README, section "The code interpreter sandbox".
"""

from __future__ import annotations

from .limits import SandboxLimits, SandboxPolicy
from .manager import ContainerManager
from .result import CodeExecutor, ExecutionResult, Protection

__all__ = [
    "CodeExecutor",
    "ContainerManager",
    "ExecutionResult",
    "Protection",
    "SandboxLimits",
    "SandboxPolicy",
]

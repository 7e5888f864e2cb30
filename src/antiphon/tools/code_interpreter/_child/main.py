"""The worker's entry point: set up the channel, confine the process, then serve cells.

Started by the server as ``python -I -S -c <bootstrap> <dir> <config-json>``. The framed channel
moves to private descriptors first, so user code writing to fd 1 or 2 (``os.write``, C
extensions) lands in a memory file that is drained into the cell's output instead of corrupting
the frames. Requests are ``{"code": str}``; the first frame sent is ``{"ready": true,
"protections": {...}}`` (or ``{"ready": false, "error": str}``), then one result per request.
"""

from __future__ import annotations

import json
import os
import sys

from . import audit, confine, execute, framing

__all__ = ["main"]

_REQUEST_LIMIT = 16 * 1024 * 1024


class _Channel:
    """The framed pipe to the server plus the memory file standing in for fds 1 and 2."""

    def __init__(self) -> None:
        self.incoming = os.dup(0)
        self.outgoing = os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        self.spill = os.memfd_create("cell-output")
        os.dup2(self.spill, 1)
        os.dup2(self.spill, 2)

    def drain_spill(self, sink: execute.OutputSink) -> None:
        """Move what native code wrote to fds 1/2 into ``sink`` and empty the memory file."""
        size = os.lseek(self.spill, 0, os.SEEK_END)
        if size:
            os.lseek(self.spill, 0, os.SEEK_SET)
            sink.write(os.read(self.spill, min(size, 1 << 20)).decode(errors="replace"))
            if size > 1 << 20:
                sink.truncated = True
            os.ftruncate(self.spill, 0)
            os.lseek(self.spill, 0, os.SEEK_SET)


def _serve(channel: _Channel, session: execute.Session, max_output: int) -> None:
    while (request := framing.read_frame(channel.incoming, limit=_REQUEST_LIMIT)) is not None:
        sink = execute.OutputSink(max_output)
        outcome = session.run(str(request.get("code", "")), sink)
        channel.drain_spill(sink)
        outcome.update(output=sink.text(), output_truncated=sink.truncated)
        framing.write_frame(channel.outgoing, outcome)


def main(config_json: str) -> None:
    """Run the worker until the server closes its end of the channel."""
    # The JSON boundary: the server wrote this config itself (see _process.py), so it is trusted.
    config = json.loads(config_json)
    channel = _Channel()
    scratch: str = config["scratch"]
    try:
        os.chdir(scratch)
        os.environ.clear()
        os.environ.update(HOME=scratch, TMPDIR=scratch, PATH="/usr/bin:/bin", LANG="C.UTF-8")
        report = confine.confine(
            config["limits"],
            scratch=scratch,
            uid=config["uid"],
            network=config["isolate_network"],
            use_landlock=config["landlock"],
            use_seccomp=config["seccomp"],
            scratch_tmpfs=config["scratch_tmpfs"],
            user_namespace=config["user_namespace"],
        )
        gate = audit.Gate()
        guard = execute.LimitGuard(config["cpu_seconds"], config["wall_seconds"], gate)
        if config["audit_hook"]:
            audit.install(scratch, gate)
            report["audit_hook"] = (
                "active: clear early errors for sockets, processes, writes outside scratch "
                "(a courtesy, not a boundary: a cell can switch it off)"
            )
        else:
            report["audit_hook"] = "unavailable: disabled by the server's policy"
    except Exception as exc:  # any set-up failure is reported to the server, then the worker ends
        framing.write_frame(channel.outgoing, {"ready": False, "error": repr(exc)})
        raise SystemExit(1) from exc
    sys.path[:] = [path for path in sys.path if path != config["package_dir"]]
    framing.write_frame(channel.outgoing, {"ready": True, "protections": report})
    _serve(channel, execute.Session(guard), config["max_output_bytes"])

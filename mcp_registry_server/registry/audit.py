"""The audit log: one JSON line per tool call the editor made, for whoever must answer "what ran?".

Contract: `AuditLog.record` appends `{"time", "workspace", "entry", "tool", "duration_ms",
"outcome", "argument_bytes"}` as one line to `<state dir>/audit.jsonl` (0600, in a 0700 dir):
`time` is when the call ended (UTC, RFC 3339, milliseconds), `workspace` is "default" for the
stdio registry and the token's workspace under `serve --http`, `entry` the catalog entry that served it ("registry" for the registry's own tools,
"unknown" for a name nothing serves), `outcome` is `ok`, `error` (a tool error), `input_required`,
`cancelled` or `failed` (an error the editor got as a JSON-RPC error). Argument values are never
written unless `MCP_REGISTRY_AUDIT_ARGUMENTS=on` (`arguments` is added then): they may hold
anything the model passed. The file is rotated by size like the container logs
(`container_logs.RotatingFile`), keeping `KEEP_FILES` older ones. Writing never raises: an audit
log that cannot be written is switched off with one warning.

Lines are written in batches while `flush_periodically` runs (the registry runs it in its task
group): a call only appends to a list, and the lines reach the file (one write) at most
`FLUSH_DELAY` seconds later, at `MAX_PENDING` lines, and on `close`. Formatting and writing per
call cost the hot path about a tenth of the registry's own time per call. Without the flusher,
every record is written at once. A registry killed outright loses at most the last FLUSH_DELAY.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Self

import anyio

from mcp_registry_server.container_logs import RotatingFile, ensure_log_dir

__all__ = ["AUDIT_FILE", "FLUSH_DELAY", "KEEP_FILES", "MAX_AUDIT_BYTES", "MAX_PENDING", "AuditLog"]

logger = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
MAX_AUDIT_BYTES = 8 * 1024 * 1024
KEEP_FILES = 4
WORKSPACE = "default"
FLUSH_DELAY = 0.25
MAX_PENDING = 512

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_second: tuple[int, str] = (0, "")


def _utc_time(now: float) -> str:
    """`now` (a time.time()) in UTC, RFC 3339 with milliseconds; the seconds are formatted once a second."""
    global _second
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


class AuditLog:
    """Appends one line per tool call; see the module contract."""

    def __init__(
        self,
        path: Path,
        *,
        include_arguments: bool = False,
        max_bytes: int = MAX_AUDIT_BYTES,
        workspace: str = WORKSPACE,
    ) -> None:
        self.path = path
        self._workspace = _encode(workspace)
        self._include_arguments = include_arguments
        self._file = RotatingFile(path, max_bytes=max_bytes, keep=KEEP_FILES)
        self._failed = False
        self._pending: list[tuple[float, str, str, float, str, Any]] = []
        self._flushing = False  # flush_periodically is running
        self._due = anyio.Event()

    @classmethod
    def open(cls, state_dir: Path, *, include_arguments: bool = False, workspace: str = WORKSPACE) -> Self:
        """The audit log in `state_dir` (created 0700); never raises."""
        audit = cls(state_dir / AUDIT_FILE, include_arguments=include_arguments, workspace=workspace)
        try:
            ensure_log_dir(state_dir)
        except OSError as error:
            audit._fail(error)
        return audit

    def record(self, *, entry: str, tool: str, arguments: Any, started: float, outcome: str) -> None:
        """One call ended; `started` is its `time.perf_counter()` at the start."""
        if self._failed:
            return
        self._pending.append((time.time(), entry, tool, time.perf_counter() - started, outcome, arguments))
        if not self._flushing or len(self._pending) >= MAX_PENDING:
            self.flush()
        elif len(self._pending) == 1:
            self._due.set()

    async def flush_periodically(self) -> None:
        """Writes the pending lines FLUSH_DELAY after the first of them; runs until cancelled."""
        self._flushing = True
        try:
            while True:
                await self._due.wait()
                await anyio.sleep(FLUSH_DELAY)
                self._due = anyio.Event()
                self.flush()
        finally:
            self._flushing = False
            self.flush()

    def flush(self) -> None:
        """Writes the pending lines, in one write."""
        if not self._pending or self._failed:
            return
        pending, self._pending = self._pending, []
        if not self._file.write("".join(self._line(*record) for record in pending).encode()):
            self._fail(self._file.error)

    def _line(self, now: float, entry: str, tool: str, seconds: float, outcome: str, arguments: Any) -> str:
        try:
            encoded = _encode(arguments) if arguments else ""
        except (TypeError, ValueError):
            encoded = ""
        # Formatted by hand: a dict through json.dumps costs several times more.
        line = (
            f'{{"time":"{_utc_time(now)}","workspace":{self._workspace},"entry":{_encode(entry)},"tool":{_encode(tool)},'
            f'"duration_ms":{round(seconds * 1000, 3)},"outcome":"{outcome}","argument_bytes":{len(encoded.encode())}'
        )
        if self._include_arguments:
            line += f',"arguments":{encoded or "null"}'
        return line + "}\n"

    def _fail(self, error: BaseException | None) -> None:
        if not self._failed:
            logger.warning("Not writing the audit log %s any more: %s", self.path, error)
        self._failed = True
        self._file.close()

    def close(self) -> None:
        self.flush()
        self._file.close()

"""The audit log: one JSON line per tool call the editor made, for whoever must answer "what ran?".

Contract: `AuditLog.record` appends `{"time", "workspace", "entry", "tool", "duration_ms",
"outcome", "argument_bytes"}` as one line to `<state dir>/audit.jsonl` (0600, in a 0700 dir):
`time` is when the call ended (UTC, RFC 3339, milliseconds), `workspace` is "default" for the
stdio registry, `entry` the catalog entry that served it ("registry" for the registry's own tools,
"unknown" for a name nothing serves), `outcome` is `ok`, `error` (a tool error), `input_required`,
`cancelled` or `failed` (an error the editor got as a JSON-RPC error). Argument values are never
written unless `MCP_REGISTRY_AUDIT_ARGUMENTS=on` (`arguments` is added then): they may hold
anything the model passed. The file is rotated by size like the container logs
(`container_logs.RotatingFile`), keeping `KEEP_FILES` older ones. Writing never raises: an audit
log that cannot be written is switched off with one warning. Each line is one write and one flush,
a few microseconds on the hot path.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from mcp_registry_server.container_logs import RotatingFile, ensure_log_dir

__all__ = ["AUDIT_FILE", "KEEP_FILES", "MAX_AUDIT_BYTES", "AuditLog"]

logger = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
MAX_AUDIT_BYTES = 8 * 1024 * 1024
KEEP_FILES = 4
WORKSPACE = "default"

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_second: tuple[int, str] = (0, "")


def _utc_now() -> str:
    """Now in UTC, RFC 3339 with milliseconds; the part up to the second is formatted once a second."""
    global _second
    now = time.time()
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


class AuditLog:
    """Appends one line per tool call; see the module contract."""

    def __init__(self, path: Path, *, include_arguments: bool = False, max_bytes: int = MAX_AUDIT_BYTES) -> None:
        self.path = path
        self._include_arguments = include_arguments
        self._file = RotatingFile(path, max_bytes=max_bytes, keep=KEEP_FILES)
        self._failed = False

    @classmethod
    def open(cls, state_dir: Path, *, include_arguments: bool = False) -> AuditLog:
        """The audit log in `state_dir` (created 0700); never raises."""
        audit = cls(state_dir / AUDIT_FILE, include_arguments=include_arguments)
        try:
            ensure_log_dir(state_dir)
        except OSError as error:
            audit._fail(error)
        return audit

    def record(self, *, entry: str, tool: str, arguments: Any, started: float, outcome: str) -> None:
        """One call ended; `started` is its `time.perf_counter()` at the start."""
        if self._failed:
            return
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        try:
            encoded = _encode(arguments) if arguments else ""
        except (TypeError, ValueError):
            encoded = ""
        # Formatted by hand: this runs once per call, and a dict through json.dumps costs several times more.
        line = (
            f'{{"time":"{_utc_now()}","workspace":"{WORKSPACE}","entry":{_encode(entry)},"tool":{_encode(tool)},'
            f'"duration_ms":{duration_ms},"outcome":"{outcome}","argument_bytes":{len(encoded.encode())}'
        )
        if self._include_arguments:
            line += f',"arguments":{encoded or "null"}'
        if not self._file.write(f"{line}}}\n".encode()):
            self._fail(self._file.error)

    def _fail(self, error: BaseException | None) -> None:
        if not self._failed:
            logger.warning("Not writing the audit log %s any more: %s", self.path, error)
        self._failed = True
        self._file.close()

    def close(self) -> None:
        self._file.close()

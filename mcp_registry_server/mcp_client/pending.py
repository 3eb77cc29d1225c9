"""One request awaiting its response: what the session's reader and deadline watch fill in.

A `Pending` is a plain record with an `anyio.Event`: the reader sets `result` or `error` and
`done`, the deadline watch sets `expired`, and either sets `event` to wake the caller. Progress
for the request is queued in `progress` and restarts its timeout (`extend`), never past
`hard_deadline`. No task and no cancel scope per request: this is the registry's hot path.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio

from .errors import MCPClientError
from .wire import RawJSON

__all__ = ["Pending", "ProgressHandler"]

from collections.abc import Awaitable, Callable

ProgressHandler = Callable[[dict[str, Any]], Awaitable[None]]
"""Receives the raw params of each notifications/progress for one request, in order."""


class Pending:
    """One request awaiting its response. The reader (or the deadline watch) fills it in and sets `event`."""

    __slots__ = (
        "deadline",
        "done",
        "error",
        "event",
        "expired",
        "hard_deadline",
        "method",
        "on_progress",
        "progress",
        "raw",
        "result",
        "sent",
        "timeout",
    )

    def __init__(self, method: str, on_progress: ProgressHandler | None, timeout: float, deadline: float) -> None:
        self.method = method
        self.event = anyio.Event()
        self.done = False
        self.expired = False
        self.sent = False
        self.result: dict[str, Any] | RawJSON | None = None
        self.raw = False
        self.error: MCPClientError | None = None
        self.on_progress = on_progress
        self.progress: deque[dict[str, Any]] | None = deque() if on_progress is not None else None
        self.timeout = timeout
        self.deadline = deadline
        self.hard_deadline = deadline

    def extend(self) -> None:
        """Progress arrived: restart the timeout, never past the hard deadline."""
        self.deadline = min(anyio.current_time() + self.timeout, self.hard_deadline)

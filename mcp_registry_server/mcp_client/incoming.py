"""What a server sends its client unasked: notifications, and requests of its own.

`ServerMessages` is the part of a `JSONRPCSession` that answers them. Contract:
- Notifications go, in arrival order, to one `on_notification` task (`deliver_notifications`);
  while it is behind by `NOTIFICATION_BUFFER`, newer ones are dropped and counted, so a slow
  handler never stalls the reader.
- Each server-to-client request runs `on_request(method, params)` in its own task (`answer`):
  its result, or the `MCPRemoteError` it raises, becomes the reply; any other exception is an
  internal error reply. `ping` is answered here, and without `on_request` every request gets
  -32601. A request the server cancels (`cancelled`) is not answered, as the spec says.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import TaskGroup
from mcp_types import INTERNAL_ERROR, METHOD_NOT_FOUND

from .errors import MCPRemoteError
from .transport import StdioTransport, TransportClosedError

__all__ = ["NOTIFICATION_BUFFER", "ServerMessages"]

logger = logging.getLogger(__name__)

NOTIFICATION_BUFFER = 10_000
"""Notifications queued for a slow `on_notification` before newer ones are dropped."""


class ServerMessages:
    """Answers a server's requests and delivers its notifications. See the module docstring."""

    def __init__(
        self,
        name: str,
        transport: StdioTransport,
        task_group: TaskGroup,
        on_notification: Any,
        on_request: Any,
    ) -> None:
        self._name = name
        self._transport = transport
        self._task_group = task_group
        self._on_notification = on_notification
        self._on_request = on_request
        self._answering: dict[Any, anyio.CancelScope] = {}
        self._queue_in, self._queue_out = anyio.create_memory_object_stream[tuple[str, dict[str, Any] | None]](
            NOTIFICATION_BUFFER
        )
        self.notifications_dropped = 0

    def notification(self, method: str, params: dict[str, Any] | None) -> None:
        if self._on_notification is None:
            return
        try:
            self._queue_in.send_nowait((method, params))
        except anyio.WouldBlock:
            self.notifications_dropped += 1
            logger.warning("%s: notification handler is behind; dropped %s", self._name, method)

    def cancelled(self, request_id: Any) -> None:
        """The server cancelled one of its requests: stop answering it."""
        if isinstance(request_id, int | str) and (scope := self._answering.get(request_id)) is not None:
            scope.cancel()

    def answer(self, request_id: Any, method: str, params: dict[str, Any] | None) -> None:
        self._task_group.start_soon(self._answer, request_id, method, params)

    def close(self) -> None:
        """The server's output ended: `deliver_notifications` finishes what is queued, then returns."""
        self._queue_in.close()

    async def deliver_notifications(self) -> None:
        async with self._queue_out:
            async for method, params in self._queue_out:
                try:
                    await self._on_notification(method, params)
                except Exception:
                    logger.exception("%s: notification handler failed on %s", self._name, method)

    async def _answer(self, request_id: Any, method: str, params: dict[str, Any] | None) -> None:
        """Runs `on_request` for one server-to-client request and sends its reply."""
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        with anyio.CancelScope() as scope:
            hashable = isinstance(request_id, int | str)
            if hashable:
                self._answering[request_id] = scope
            try:
                if method == "ping":
                    reply["result"] = {}
                elif self._on_request is None:
                    raise MCPRemoteError(METHOD_NOT_FOUND, f"Method not found: {method}")
                else:
                    result = await self._on_request(method, params)
                    if not isinstance(result, dict):
                        raise TypeError(f"request handler returned {type(result).__name__}, not a dict")
                    reply["result"] = result
            except MCPRemoteError as exc:
                reply["error"] = _error_object(exc.code, exc.message, exc.data)
            except Exception as exc:
                logger.exception("%s: handler for server request %s failed", self._name, method)
                reply["error"] = _error_object(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", None)
            finally:
                if hashable:
                    self._answering.pop(request_id, None)
        if scope.cancelled_caught:
            return  # the server cancelled its request; the spec says not to answer
        try:
            await self._transport.send(reply)
        except TransportClosedError:
            logger.debug("%s: could not answer %s; the server is gone", self._name, method)


def _error_object(code: int, message: str, data: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return error

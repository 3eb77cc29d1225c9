"""What a server sends its client unasked: notifications, and requests of its own.

`ServerMessages` is the part of a `JSONRPCSession` that answers them. Contract:
- Notifications go, in arrival order, to one `on_notification` task (`deliver_notifications`);
  while it is behind by `NOTIFICATION_BUFFER`, newer ones are dropped and counted, so a slow
  handler never stalls the reader.
- Each server-to-client request runs `on_request(method, params)` in its own task (`answer`):
  its result, or the `MCPRemoteError` it raises, becomes the reply; any other exception is an
  internal error reply. `ping` is answered here, and without `on_request` every request gets
  -32601. A request the server cancels (`cancelled`) is not answered, as the spec says.
- At most `MAX_SERVER_REQUESTS` are answered at once, so a server that floods requests cannot make
  us run unbounded tasks: past the bound each gets an error reply (-32603, "too many requests")
  from one task (`refuse_overflow`), and while that one is `REFUSAL_BUFFER` behind (the server does
  not even read its stdin) further requests are dropped unanswered and counted.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import TaskGroup
from mcp_types import INTERNAL_ERROR, METHOD_NOT_FOUND

from .errors import MCPRemoteError
from .transport import MessageTransport, TransportClosedError

__all__ = ["MAX_SERVER_REQUESTS", "NOTIFICATION_BUFFER", "REFUSAL_BUFFER", "ServerMessages"]

logger = logging.getLogger(__name__)

NOTIFICATION_BUFFER = 10_000
"""Notifications queued for a slow `on_notification` before newer ones are dropped."""
MAX_SERVER_REQUESTS = 64
"""Server-to-client requests answered at once (sampling, elicitation, roots); more get an error reply."""
REFUSAL_BUFFER = 1_000
"""Error replies queued for requests past `MAX_SERVER_REQUESTS` before further ones are dropped."""


class ServerMessages:
    """Answers a server's requests and delivers its notifications. See the module docstring."""

    def __init__(
        self,
        name: str,
        transport: MessageTransport,
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
        self._refusals_in, self._refusals_out = anyio.create_memory_object_stream[tuple[Any, str]](REFUSAL_BUFFER)
        self._answers_running = 0
        self.notifications_dropped = 0
        self.requests_refused = 0
        """Server requests past `MAX_SERVER_REQUESTS`: refused with an error reply, or dropped."""

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
        if self._answers_running >= MAX_SERVER_REQUESTS:
            self.requests_refused += 1
            try:
                self._refusals_in.send_nowait((request_id, method))
            except anyio.WouldBlock:
                logger.warning("%s: dropped server request %s unanswered; it sends too many", self._name, method)
            return
        self._answers_running += 1
        self._task_group.start_soon(self._answer, request_id, method, params)

    def close(self) -> None:
        """The server's output ended: the delivering tasks finish what is queued, then return."""
        self._queue_in.close()
        self._refusals_in.close()

    async def refuse_overflow(self) -> None:
        """Sends the error replies for requests past `MAX_SERVER_REQUESTS`. Run it for the session's life."""
        async with self._refusals_out:
            async for request_id, method in self._refusals_out:
                logger.warning(
                    "%s: refusing server request %s: more than %d at once", self._name, method, MAX_SERVER_REQUESTS
                )
                message = f"Too many requests: the client answers at most {MAX_SERVER_REQUESTS} at once"
                reply = {"jsonrpc": "2.0", "id": request_id, "error": _error_object(INTERNAL_ERROR, message, None)}
                try:
                    await self._transport.send(reply)
                except TransportClosedError:
                    return

    async def deliver_notifications(self) -> None:
        async with self._queue_out:
            async for method, params in self._queue_out:
                try:
                    await self._on_notification(method, params)
                except Exception:
                    logger.exception("%s: notification handler failed on %s", self._name, method)

    async def _answer(self, request_id: Any, method: str, params: dict[str, Any] | None) -> None:
        """Runs `on_request` for one server-to-client request and sends its reply."""
        try:
            await self._answer_one(request_id, method, params)
        finally:
            self._answers_running -= 1

    async def _answer_one(self, request_id: Any, method: str, params: dict[str, Any] | None) -> None:
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

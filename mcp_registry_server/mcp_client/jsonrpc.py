"""JSON-RPC 2.0 session over a transport: pipelined requests, notifications, server requests.

`JSONRPCSession.connect(process, ...)` is an async context manager owning a task group with four
kinds of task: the reader (the only consumer of stdout), the transport's own task (for a child:
the stderr drainer), the deadline watch,
and handlers for messages from the server (`incoming`, which bounds how many run at once). The
reader never awaits anything but the next message: a response wakes the caller waiting on its id (a dict lookup and an Event; see
`pending`), a progress notification is queued for its request's `on_progress`, and the server's
other notifications and its own requests go to `incoming.ServerMessages`.

Contract: `request()` returns the `result` object or raises an `MCPClientError`. On timeout or
caller cancellation the server is sent notifications/cancelled and the id is forgotten; when stdout
ends every pending and later request fails at once with `MCPProcessExitedError` (for a remote
server, whose transport says why its connection ended: `MCPConnectionError`). Leaving the
context stops the child (see `StdioTransport.aclose`: close stdin, wait, SIGTERM, SIGKILL, each
bounded, shielded) and then cancels the remaining tasks. JSON-RPC batches are never sent.
MCP's own methods (initialize, listing, tools) live one layer up, in `client.MCPClient`.
`connect()` takes a child process (wrapped in a `StdioTransport`) or a ready `MessageTransport`
such as `http_transport.HTTPTransport`; nothing here knows which.

This is the registry's hot path, so a request costs no task and no cancel scope: timeouts are
deadlines that one watch task enforces (it sleeps until the soonest one, and a request only wakes
it when its deadline comes sooner), and a send only opens a cancel scope when the pipe is full.
"""

# `timeout=` parameters (ASYNC109) are deliberate: a timed-out request must be reported by method
# and cancelled on the server with notifications/cancelled, which a caller's cancel scope cannot do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Self

import anyio
from anyio.abc import Process, TaskGroup

from .errors import (
    MCPClientClosedError,
    MCPClientError,
    MCPConnectionError,
    MCPProcessExitedError,
    MCPProtocolError,
    MCPRemoteError,
    MCPRequestCancelledError,
    MCPTimeoutError,
)
from .incoming import ServerMessages
from .pending import Pending, ProgressHandler
from .transport import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MessageTooLargeError,
    MessageTransport,
    ShutdownTimeouts,
    StdioTransport,
    TransportClosedError,
)
from .wire import RawJSON, raw_response

__all__ = ["JSONRPCSession", "NotificationHandler", "ProgressHandler", "RequestHandler"]

logger = logging.getLogger(__name__)

NotificationHandler = Callable[[str, dict[str, Any] | None], Awaitable[None]]
"""`(method, params)` for each notification from the server, called in arrival order."""
RequestHandler = Callable[[str, dict[str, Any] | None], Awaitable[dict[str, Any]]]
"""`(method, params) -> result` for a server-to-client request; raise `MCPRemoteError` to refuse."""

# After stdout ends, how long to wait for stderr to finish and the exit code to appear.
_EXIT_SETTLE_TIMEOUT = 0.05
# Bound for writing notifications/cancelled when a request is abandoned.
_CANCEL_SEND_TIMEOUT = 1.0
# Characters of stderr appended to error messages.
_ERROR_STDERR_CHARS = 2000


class JSONRPCSession:
    """One JSON-RPC peer over a transport (a child's stdio, a remote server's HTTP). Create it (or `MCPClient`) with `connect()`."""

    def __init__(
        self,
        transport: MessageTransport,
        task_group: TaskGroup,
        *,
        name: str,
        on_notification: NotificationHandler | None = None,
        on_request: RequestHandler | None = None,
        default_timeout: float | None = 60.0,
        init_timeout: float | None = None,
    ) -> None:
        """Internal: `connect()` builds the session inside the task group that runs its tasks."""
        self.name = name
        self.default_timeout = default_timeout
        self.init_timeout = init_timeout if init_timeout is not None else default_timeout
        self._transport = transport
        self._task_group = task_group
        self._next_id = 1
        self._pending: dict[int, Pending] = {}
        self._progress: dict[int, Pending] = {}
        self._from_server = ServerMessages(name, transport, task_group, on_notification, on_request)
        self._dead: Callable[[], MCPClientError] | None = None
        # The deadline watch sleeps until `_watch_until`; a sooner deadline sets `_watch_wakeup`.
        self._watch_until = math.inf
        self._watch_wakeup = anyio.Event()
        self._exited = anyio.Event()
        self._closing = False
        self.requests_sent = 0
        self.end_reason: str | None = None
        """Why the registry ended the session itself (a message over the size limit), else None."""

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        process: Process | MessageTransport,
        *,
        name: str,
        on_notification: NotificationHandler | None = None,
        on_request: RequestHandler | None = None,
        default_timeout: float | None = 60.0,
        init_timeout: float | None = None,
        stderr_limit: int = 65536,
        on_stderr_line: Callable[[str], None] | None = None,
        shutdown_timeouts: ShutdownTimeouts | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> AsyncIterator[Self]:
        """Runs a client over `process` (which it now owns) and stops the process on exit.

        `process` may instead be a transport not yet run (a remote server's); the stdio options
        (`stderr_limit`, `on_stderr_line`, `shutdown_timeouts`) then do not apply.

        `default_timeout` applies to requests without their own (None: wait forever);
        `init_timeout` to `initialize()` (None: the default timeout). A message from the server
        longer than `max_message_bytes` ends the session: every request fails saying so, and the
        process is stopped.
        """
        transport: MessageTransport
        if isinstance(process, Process):
            transport = StdioTransport(
                process,
                stderr_limit=stderr_limit,
                on_stderr_line=on_stderr_line,
                shutdown_timeouts=shutdown_timeouts,
                max_message_bytes=max_message_bytes,
            )
        else:
            transport = process
        async with anyio.create_task_group() as task_group:
            client = cls(
                transport,
                task_group,
                name=name,
                on_notification=on_notification,
                on_request=on_request,
                default_timeout=default_timeout,
                init_timeout=init_timeout,
            )
            transport.raw_lines = client._raw_line
            task_group.start_soon(transport.run, name=f"{name}: transport")
            task_group.start_soon(client._read_loop, name=f"{name}: reader")
            task_group.start_soon(client._watch_deadlines, name=f"{name}: deadlines")
            task_group.start_soon(client._from_server.deliver_notifications, name=f"{name}: notifications")
            task_group.start_soon(client._from_server.refuse_overflow, name=f"{name}: refusals")
            try:
                yield client
            finally:
                # Must finish even if the owner is cancelled, or the process would leak; bounded.
                with anyio.CancelScope(shield=True):
                    client._closing = True
                    await transport.aclose()
                    client._fail_all(client._closed_error)
                task_group.cancel_scope.cancel()

    # --- state ---------------------------------------------------------------------------------

    @property
    def is_alive(self) -> bool:
        """Whether requests can still be sent: not closed, and the process's stdout is open."""
        return self._dead is None and not self._transport.at_eof

    async def wait_ended(self) -> None:
        """Returns once no request can complete any more: the process's output ended, or we closed."""
        await self._exited.wait()

    @property
    def pid(self) -> int | None:
        """The server process's pid; None for a remote server."""
        return self._transport.pid

    @property
    def connection_failure(self) -> str | None:
        """Why a remote server's connection ended (naming its URL); None for a child process."""
        return self._transport.failure

    @property
    def exit_code(self) -> int | None:
        return self._transport.returncode

    @property
    def garbage_lines(self) -> int:
        return self._transport.garbage_lines

    @property
    def notifications_dropped(self) -> int:
        """Notifications dropped because `on_notification` fell behind (see `incoming`)."""
        return self._from_server.notifications_dropped

    @property
    def in_flight(self) -> dict[int, str]:
        """Ids of the requests awaiting a response, with their methods (for `cancel()`)."""
        return {request_id: pending.method for request_id, pending in self._pending.items()}

    def stderr_tail(self, max_chars: int = 4000) -> str:
        return self._transport.stderr_tail(max_chars)

    # --- requests ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_timeout: float | None = None,
        on_progress: ProgressHandler | None = None,
        raw: bool = False,
    ) -> Any:
        """Sends a request and returns its `result` object.

        `timeout` (default: the client's) runs from sending; with `on_progress`, each progress
        notification restarts it, up to `max_timeout` in total (default 10 x `timeout`). With
        `raw`, a large result may come back as `RawJSON` (see `wire`) instead of a dict.
        """
        if self._dead is not None:
            raise self._dead()
        if timeout is None:
            timeout = self.default_timeout if self.default_timeout is not None else math.inf
        request_id = self._next_id
        self._next_id = request_id + 1
        deadline = anyio.current_time() + timeout
        pending = Pending(method, on_progress, timeout, deadline)
        pending.raw = raw
        if on_progress is not None:
            pending.hard_deadline = deadline - timeout + (max_timeout if max_timeout is not None else 10 * timeout)
            params = dict(params or {})
            params["_meta"] = {**(params.get("_meta") or {}), "progressToken": request_id}
            self._progress[request_id] = pending
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._pending[request_id] = pending
        if deadline < self._watch_until:
            self._watch_wakeup.set()
        try:
            await self._send_request(message, pending)
            await self._wait(pending)
        except BaseException:
            if not pending.done:
                with anyio.CancelScope(shield=True):
                    await self._abandon(request_id, pending, "cancelled by the client")
            raise
        if not pending.done:
            await self._abandon(request_id, pending, f"timed out after {timeout:g} s")
            raise MCPTimeoutError(
                method, timeout, client_name=self.name, stderr_tail=self.stderr_tail(_ERROR_STDERR_CHARS)
            )
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Sends a notification (no response expected)."""
        if self._dead is not None:
            raise self._dead()
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._transport.send(message)
        except TransportClosedError:
            raise await self._send_failure() from None

    async def cancel(self, request_id: int, reason: str | None = None) -> None:
        """Cancels a pending request (ids: `in_flight`); its caller gets `MCPRequestCancelledError`.

        The server is sent notifications/cancelled. Cancelling the caller's task does the same.
        """
        pending = self._pending.get(request_id)
        if pending is None:
            return
        # Resolved before the await below, so the caller cannot also time out and cancel it again.
        pending.error = MCPRequestCancelledError(
            f"{pending.method!r} was cancelled" + (f": {reason}" if reason else ""), client_name=self.name
        )
        pending.done = True
        pending.event.set()
        await self._abandon(request_id, pending, reason)

    # --- internals: sending and waiting ----------------------------------------------------------

    async def _send_request(self, message: dict[str, Any], pending: Pending) -> None:
        try:
            await self._transport.send(message, deadline=pending.deadline)
        except TransportClosedError:
            raise await self._send_failure() from None
        except TimeoutError:
            pending.expired = True  # the pipe stayed full: the server is not reading
            return
        pending.sent = True
        self.requests_sent += 1

    async def _send_failure(self) -> MCPClientError:
        """The error for a write that failed: usually the process died and the reader will say how."""
        with anyio.move_on_after(_EXIT_SETTLE_TIMEOUT * 4):
            await self._exited.wait()
        if self._dead is not None:
            return self._dead()
        if (failure := self._transport.failure) is not None:
            return MCPConnectionError(failure, client_name=self.name)
        return MCPProcessExitedError(
            self._transport.returncode,
            client_name=self.name,
            stderr_tail=self.stderr_tail(_ERROR_STDERR_CHARS),
        )

    async def _wait(self, pending: Pending) -> None:
        if pending.expired:
            return
        if pending.on_progress is None:
            await pending.event.wait()
            return
        assert pending.progress is not None
        while not (pending.done or pending.expired) or pending.progress:
            await pending.event.wait()
            # Replaced before the callbacks run, so progress arriving meanwhile wakes us again.
            pending.event = anyio.Event()
            while pending.progress:
                try:
                    await pending.on_progress(pending.progress.popleft())
                except Exception:
                    logger.exception("%s: progress callback for %r failed", self.name, pending.method)

    async def _abandon(self, request_id: int, pending: Pending, reason: str | None) -> None:
        """Forgets a request and, if the server got it, tells it to stop (bounded)."""
        self._pending.pop(request_id, None)
        self._progress.pop(request_id, None)
        # The spec forbids cancelling initialize; a dead server has nothing to cancel.
        if not pending.sent or pending.method == "initialize" or not self.is_alive:
            return
        params: dict[str, Any] = {"requestId": request_id}
        if reason:
            params["reason"] = reason
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CANCEL_SEND_TIMEOUT):
            try:
                await self._transport.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})
            except TransportClosedError:
                pass

    async def _watch_deadlines(self) -> None:
        """Expires requests whose deadline passed; sleeps until the soonest of the others."""
        while True:
            now = anyio.current_time()
            soonest = math.inf
            for pending in self._pending.values():
                if pending.done or pending.expired:
                    continue
                if pending.deadline <= now:
                    pending.expired = True
                    pending.event.set()
                elif pending.deadline < soonest:
                    soonest = pending.deadline
            self._watch_until = soonest
            self._watch_wakeup = anyio.Event()
            with anyio.move_on_after(soonest - now):
                await self._watch_wakeup.wait()

    def _raw_line(self, line: bytes) -> dict[str, Any] | None:
        """A large response to a `raw=True` request, its result left as bytes; None for anything else."""
        found = raw_response(line)
        if found is None:
            return None
        request_id, result = found
        pending = self._pending.get(request_id)
        if pending is None or not pending.raw:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    # --- internals: the reader -----------------------------------------------------------------

    async def _read_loop(self) -> None:
        receive = self._transport.receive
        dispatch = self._dispatch
        try:
            while True:
                try:
                    message = await receive()
                except anyio.EndOfStream:
                    break
                except MessageTooLargeError as error:
                    await self._end_for(error)
                    return
                try:
                    dispatch(message)
                except Exception:
                    logger.exception("%s: could not dispatch a message from the server", self.name)
            if not self._closing:
                with anyio.move_on_after(_EXIT_SETTLE_TIMEOUT):
                    await self._transport.wait_exit_settled()
                logger.info(
                    "%s: %s", self.name, self.connection_failure or f"the server ended (exit code {self.exit_code})"
                )
                self._fail_all(self._exit_error)
        finally:
            self._from_server.close()

    async def _end_for(self, error: MessageTooLargeError) -> None:
        """Fails every request with `error` and stops the process: its output can no longer be read."""
        self.end_reason = str(error)
        logger.error("%s: %s", self.name, error)
        self._fail_all(lambda: MCPProtocolError(str(error), client_name=self.name))
        await self._transport.aclose()  # shielded and bounded

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            self._on_response(message)
            return
        params = message.get("params")
        if not isinstance(method, str) or (params is not None and not isinstance(params, dict)):
            logger.warning("%s: ignoring a malformed message: %.200r", self.name, message)
            return
        if "id" in message:
            self._from_server.answer(message["id"], method, params)
            return
        if method == "notifications/progress" and params is not None:
            token = params.get("progressToken")
            pending = self._progress.get(token) if type(token) is int else None
            if pending is not None:
                assert pending.progress is not None
                pending.progress.append(params)
                pending.extend()
                pending.event.set()
                return
        elif method == "notifications/cancelled" and params is not None:
            self._from_server.cancelled(params.get("requestId"))
        self._from_server.notification(method, params)

    def _on_response(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        pending: Pending | None = None
        if type(request_id) is int:
            pending = self._pending.pop(request_id, None)
            if pending is not None and pending.on_progress is not None:
                self._progress.pop(request_id, None)
        if pending is None:
            if "error" in message and request_id is None:
                logger.warning("%s: the server reported an error: %.500r", self.name, message["error"])
            elif "result" in message or "error" in message:
                # Usually a late answer to a request that already timed out or was cancelled.
                logger.debug("%s: response for unknown id %.100r", self.name, request_id)
            else:
                logger.warning("%s: ignoring a message that is neither request nor response", self.name)
            return
        error = message.get("error")
        result = message.get("result")
        if error is not None:
            pending.error = self._remote_error(error)
        elif isinstance(result, dict | RawJSON):
            pending.result = result
        else:
            pending.error = MCPProtocolError(
                f"{pending.method!r} got a response with no result object: {message!r:.200}",
                client_name=self.name,
            )
        pending.done = True
        pending.event.set()

    def _remote_error(self, error: Any) -> MCPClientError:
        if isinstance(error, dict) and isinstance(error.get("code"), int):
            return MCPRemoteError(
                error["code"], str(error.get("message", "")), error.get("data"), client_name=self.name
            )
        return MCPProtocolError(f"malformed error object: {error!r:.200}", client_name=self.name)

    def _fail_all(self, error_factory: Callable[[], MCPClientError]) -> None:
        """Fails every pending request, and all later ones, with a fresh error from the factory."""
        if self._dead is None:
            self._dead = error_factory
        pending_requests, self._pending = self._pending, {}
        self._progress.clear()
        for pending in pending_requests.values():
            pending.error = error_factory()
            pending.done = True
            pending.event.set()
        self._exited.set()

    def _exit_error(self) -> MCPClientError:
        if (failure := self._transport.failure) is not None:
            return MCPConnectionError(failure, client_name=self.name)
        return MCPProcessExitedError(
            self._transport.returncode,
            client_name=self.name,
            stderr_tail=self.stderr_tail(_ERROR_STDERR_CHARS),
        )

    def _closed_error(self) -> MCPClientError:
        return MCPClientClosedError("the client was closed; the request was not completed", client_name=self.name)

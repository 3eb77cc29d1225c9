"""The direct lane: the hot requests (`tools/call`, `tools/list`) dispatched past the SDK's JSON-RPC loop.

The SDK's `JSONRPCDispatcher` costs most of what the registry would add to a routed call (a
memory-stream hop to its loop, a task and bookkeeping per request). The lane is a second
dispatcher in front of the *same* kernel: it runs the SDK's `ServerRunner.on_request` (request
validation, the server's middleware, the handler, result shaping), so what the editor gets is
the SDK's own answer by construction. `tests/server/test_dispatch_parity.py` pins it, line for
line, on every protocol version.

Contract:
- `offer(request)` takes a request only when: it is `tools/call` or `tools/list`, the editor's
  handshake has been answered (`EditorSession.lane_connection`), the request carries no
  2026-07-28 envelope (those are served by the SDK's modern loop), and its id is not in flight
  here. Everything else goes to the SDK.
- A taken request's outcome is written as the SDK's dispatcher writes it: the result as a
  `JSONRPCResponse`; a raised error as a `JSONRPCError` mapped by the SDK's
  `handler_exception_to_error_data` (anything else as code 0 with its text, as the SDK does);
  both through the same writer as the SDK's own messages.
- `dctx.progress` sends notifications/progress under the request's token, read with the SDK's
  `progress_token_from_params`, as the SDK's dispatch context does.
- The editor's notifications/cancelled for a taken request cancels it (the child is told) and
  no reply is sent, as the SDK does.
- Requests run on a pool of worker tasks (starting a task per request costs more than the rest
  of the lane); the pool grows to the number of requests in flight and keeps a few idle workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.server.lowlevel import Server
from mcp.server.runner import ServerRunner
from mcp.shared.dispatcher import CallOptions
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp.shared.message import SessionMessage
from mcp.shared.transport_context import TransportContext
from mcp_types import PROTOCOL_VERSION_META_KEY

from mcp_registry_server.server.editor_session import EditorSession
from mcp_registry_server.server.stdio_transport import WireWriter

__all__ = ["DirectLane"]

logger = logging.getLogger(__name__)

_LANE_METHODS = frozenset({"tools/call", "tools/list"})
# Idle workers kept for the next requests; more than this leave once they are done.
_IDLE_WORKERS = 8
# What the SDK's dispatcher builds for a stdio message (no metadata: a duplex pipe).
_TRANSPORT = TransportContext(kind="jsonrpc", can_send_request=True)

_Job = tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]


class DirectLane:
    """Dispatches the hot requests into the SDK's runner. See the module docstring."""

    def __init__(self, server: Server[Any], editor: EditorSession) -> None:
        self._server = server
        self._editor = editor
        self._runner: ServerRunner[Any] | None = None
        self._writer: WireWriter | None = None
        self._tasks: TaskGroup | None = None
        self._in_flight: dict[types.RequestId, _LaneDispatch] = {}
        self._idle: list[_Worker] = []
        self.requests_taken = 0

    def bind(self, writer: WireWriter, tasks: TaskGroup) -> None:
        self._writer = writer
        self._tasks = tasks

    # --- what the transport offers --------------------------------------------------------------

    def offer(self, message: types.JSONRPCMessage) -> bool:
        """True when the lane took `message` (it never blocks: the work runs in a worker)."""
        if isinstance(message, types.JSONRPCRequest):
            return message.method in _LANE_METHODS and self._take(message)
        if self._in_flight and isinstance(message, types.JSONRPCNotification):
            return message.method == "notifications/cancelled" and self._cancel(message.params)
        return False

    def _take(self, request: types.JSONRPCRequest) -> bool:
        params = request.params
        if params is not None:
            meta = params.get("_meta")
            if isinstance(meta, Mapping) and PROTOCOL_VERSION_META_KEY in meta:
                return False
        if self._tasks is None or request.id in self._in_flight or (runner := self._runner_now()) is None:
            return False
        dispatch = _LaneDispatch(self, request.id, progress_token_from_params(params))
        self._in_flight[request.id] = dispatch
        self.requests_taken += 1
        self._dispatch((self._run, (runner, dispatch, request.method, params)))
        return True

    def _runner_now(self) -> ServerRunner[Any] | None:
        if self._runner is None:
            found = self._editor.lane_connection()
            if found is not None:
                connection, lifespan_state = found
                self._runner = ServerRunner(self._server, connection, lifespan_state)
        return self._runner

    def _cancel(self, params: Mapping[str, Any] | None) -> bool:
        request_id = (params or {}).get("requestId")
        dispatch = self._in_flight.get(request_id) if isinstance(request_id, int | str) else None
        if dispatch is None:
            return False
        dispatch.cancel_requested.set()
        dispatch.scope.cancel()
        return True

    def _dispatch(self, job: _Job) -> None:
        assert self._tasks is not None
        if self._idle:
            worker = self._idle.pop()
            worker.job = job
            worker.wake.set()
        else:
            self._tasks.start_soon(self._work, job, name="direct lane worker")

    async def _work(self, job: _Job) -> None:
        """Runs `job`, then waits as an idle worker for the next; leaves when enough others are idle."""
        worker = _Worker()
        while True:
            run, args = job
            await run(*args)
            if len(self._idle) >= _IDLE_WORKERS:
                return
            worker.wake = anyio.Event()
            self._idle.append(worker)
            await worker.wake.wait()
            assert worker.job is not None
            job, worker.job = worker.job, None

    # --- running a request ----------------------------------------------------------------------

    async def _run(
        self, runner: ServerRunner[Any], dispatch: _LaneDispatch, method: str, params: dict[str, Any] | None
    ) -> None:
        reply: types.JSONRPCMessage | None = None
        with dispatch.scope:
            try:
                result = await runner.on_request(dispatch, method, params)
                reply = types.JSONRPCResponse(jsonrpc="2.0", id=dispatch.request_id, result=result)
            except Exception as exc:
                error = handler_exception_to_error_data(exc)
                if error is None:
                    logger.exception("handler for %r raised", method)
                    error = types.ErrorData(code=0, message=str(exc))  # the SDK dispatcher's answer, kept alike
                reply = types.JSONRPCError(jsonrpc="2.0", id=dispatch.request_id, error=error)
            finally:
                self._in_flight.pop(dispatch.request_id, None)
        if reply is None or dispatch.cancel_requested.is_set():
            return  # the editor cancelled it: no reply, as the spec says
        await self.send(reply)

    async def send(self, message: types.JSONRPCMessage) -> None:
        assert self._writer is not None
        await self._writer.send(SessionMessage(message))


class _LaneDispatch:
    """The `DispatchContext` of one lane request: what the SDK's dispatcher gives its handlers."""

    __slots__ = ("_cancel_requested", "_lane", "_progress_token", "request_id", "scope")

    transport = _TRANSPORT
    message_metadata = None
    can_send_request = True

    def __init__(
        self, lane: DirectLane, request_id: types.RequestId, progress_token: types.ProgressToken | None
    ) -> None:
        self._lane = lane
        self.request_id = request_id
        self._progress_token = progress_token
        self._cancel_requested: anyio.Event | None = None
        self.scope = anyio.CancelScope()

    @property
    def cancel_requested(self) -> anyio.Event:
        if self._cancel_requested is None:
            self._cancel_requested = anyio.Event()
        return self._cancel_requested

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        runner = self._lane._runner
        assert runner is not None
        return await runner.connection.send_raw_request(method, params, opts)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        # As the SDK's dispatcher: `params` left unset when None (it must not serialize as null).
        if params is not None:
            await self._lane.send(types.JSONRPCNotification(jsonrpc="2.0", method=method, params=dict(params)))
        else:
            await self._lane.send(types.JSONRPCNotification(jsonrpc="2.0", method=method))

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self._progress_token is None:
            return
        params: dict[str, Any] = {"progressToken": self._progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)


class _Worker:
    """An idle worker's mailbox: `offer` puts a job in and sets `wake`."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.job: _Job | None = None
        self.wake = anyio.Event()

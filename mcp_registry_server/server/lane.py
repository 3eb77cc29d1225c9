"""The direct lane: the hot requests (`tools/call`, `tools/list`) answered past the SDK's JSON-RPC loop.

The SDK's loop costs most of what the registry would add to a routed call: its dispatcher (a
memory-stream hop, a task and bookkeeping per request) and its runner (context objects and a
middleware chain per request). The lane is the shortcut STYLE.md allows: it answers with the
same parts the SDK's loop uses, in the same order, and `tests/server/test_dispatch_parity.py`
holds the two paths to the same answers on every protocol version:
- the SDK's request checks and result shaping (`wire_shape.check_request`, `wire_result`);
- the handlers' own cores (`EditorHandlers.tool_call`, `tool_list`), which the SDK's handlers call;
- errors mapped by the SDK's `handler_exception_to_error_data` (anything else as code 0 with its
  text, as the SDK's dispatcher does) and written as its `JSONRPCError`;
- progress under the request's token, read with the SDK's `progress_token_from_params`.

Contract:
- `take(request)` takes a request only when: it is `tools/call` or `tools/list`, a
  handshake-era editor's `initialize` has been answered (`EditorSession.handshake_version`), the
  request carries no 2026-07-28 envelope, no `requestState` and no `task` (the SDK's middleware
  owns them),
  and its id is not in flight here. Everything else goes to the SDK.
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
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp_types import PROTOCOL_VERSION_META_KEY

from mcp_registry_server.mcp_client.wire import encode_line
from mcp_registry_server.registry import ProgressCallback
from mcp_registry_server.server.editor_session import EditorSession
from mcp_registry_server.server.handlers import EditorHandlers
from mcp_registry_server.server.inbound import PlainRequest
from mcp_registry_server.server.registry_tools import ToolCall
from mcp_registry_server.server.stdio_transport import WireWriter
from mcp_registry_server.server.wire_shape import check_request, wire_result

__all__ = ["DirectLane"]

logger = logging.getLogger(__name__)

_LANE_METHODS = frozenset({"tools/call", "tools/list"})
# Idle workers kept for the next requests; more than this leave once they are done.
_IDLE_WORKERS = 8

_Job = tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]


class DirectLane:
    """Answers the hot requests with the SDK's checks and the handlers' cores. See the module docstring."""

    def __init__(self, server: Server[Any], handlers: EditorHandlers, editor: EditorSession) -> None:
        self._server = server
        self._handlers = handlers
        self._editor = editor
        self._writer: WireWriter | None = None
        self._tasks: TaskGroup | None = None
        self._in_flight: dict[types.RequestId, _LaneRequest] = {}
        self._idle: list[_Worker] = []
        self.requests_taken = 0
        # tools/list pages as sent, for the router's current tools (`tool_list_generation`).
        self._pages_of: object = None
        self._pages: dict[tuple[str | None, str], dict[str, Any]] = {}

    def bind(self, writer: WireWriter, tasks: TaskGroup) -> None:
        self._writer = writer
        self._tasks = tasks

    # --- what the transport offers --------------------------------------------------------------

    def offer(self, message: types.JSONRPCMessage) -> bool:
        """True when the lane took `message`: the editor's cancel of a request it is answering."""
        if self._in_flight and isinstance(message, types.JSONRPCNotification):
            return message.method == "notifications/cancelled" and self._cancel(message.params)
        return False

    def take(self, request: PlainRequest) -> bool:
        """True when the lane took the request (it never blocks: the work runs in a worker)."""
        if request.method not in _LANE_METHODS:
            return False
        params = request.params
        if params is not None:
            meta = params.get("_meta")
            if (isinstance(meta, Mapping) and PROTOCOL_VERSION_META_KEY in meta) or "requestState" in params:
                return False
            if params.get("task") is not None:
                return False  # a task-augmented call: `EditorHandlers.tasks_middleware` answers it
        version = self._editor.handshake_version()
        if version is None or self._tasks is None or request.id in self._in_flight:
            return False
        lane_request = _LaneRequest(request.id, progress_token_from_params(params))
        self._in_flight[request.id] = lane_request
        self.requests_taken += 1
        self._dispatch((self._run, (lane_request, request.method, params, version)))
        return True

    def _cancel(self, params: Mapping[str, Any] | None) -> bool:
        request_id = (params or {}).get("requestId")
        lane_request = self._in_flight.get(request_id) if isinstance(request_id, int | str) else None
        if lane_request is None:
            return False
        lane_request.scope.cancel()
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

    # --- answering a request --------------------------------------------------------------------

    async def _run(self, request: _LaneRequest, method: str, params: dict[str, Any] | None, version: str) -> None:
        assert self._writer is not None
        reply: bytes | None = None
        with request.scope:
            try:
                check_request(self._server, method, version, params)
                if method == "tools/call":
                    assert params is not None  # the check above requires them
                    call = ToolCall(self._progress(request) if request.progress_token is not None else None, "relay")
                    result = await self._handlers.tool_call(
                        params["name"], params.get("arguments"), params, call, version
                    )
                    result = wire_result(self._server, method, version, result)
                else:
                    result = await self._tool_list((params or {}).get("cursor"), version)
                reply = encode_line({"jsonrpc": "2.0", "id": request.request_id, "result": result})
            except Exception as exc:
                error = handler_exception_to_error_data(exc)
                if error is None:
                    logger.exception("handler for %r raised", method)
                    error = types.ErrorData(code=0, message=str(exc))  # as the SDK's dispatcher answers
                message = types.JSONRPCError(jsonrpc="2.0", id=request.request_id, error=error)
                reply = message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
            finally:
                self._in_flight.pop(request.request_id, None)
        if reply is not None and not request.scope.cancel_called:
            await self._writer.write_line(reply)
        # A cancelled request gets no reply, as the spec says.

    async def _tool_list(self, cursor: str | None, version: str) -> dict[str, Any]:
        """A tools/list page, shaped once per change of the tools (shaping 1,000 tools takes ~10 ms)."""
        generation = await self._handlers.tool_list_generation()
        if generation is not self._pages_of:
            self._pages_of, self._pages = generation, {}
        key = (cursor, version)
        if (page := self._pages.get(key)) is None:
            page = wire_result(self._server, "tools/list", version, await self._handlers.tool_list(cursor, version))
            if await self._handlers.tool_list_generation() is generation:  # unchanged meanwhile
                self._pages[key] = page
        return page

    def _progress(self, request: _LaneRequest) -> ProgressCallback:
        writer = self._writer
        assert writer is not None

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            # As the SDK's dispatch context builds it (`_JSONRPCDispatchContext.progress`).
            params: dict[str, Any] = {"progressToken": request.progress_token, "progress": progress}
            if total is not None:
                params["total"] = total
            if message is not None:
                params["message"] = message
            await writer.write_line(
                encode_line({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
            )

        return forward


class _LaneRequest:
    """One request the lane took: its id, progress token and cancel scope."""

    __slots__ = ("progress_token", "request_id", "scope")

    def __init__(self, request_id: types.RequestId, progress_token: types.ProgressToken | None) -> None:
        self.request_id = request_id
        self.progress_token = progress_token
        self.scope = anyio.CancelScope()


class _Worker:
    """An idle worker's mailbox: `offer` puts a job in and sets `wake`."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.job: _Job | None = None
        self.wake = anyio.Event()

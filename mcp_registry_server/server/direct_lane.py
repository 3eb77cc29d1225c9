"""The direct lane: a routed tool call goes editor → router → child with nothing else in between.

The SDK's server runs every request through its dispatcher, middleware, context objects and two
pydantic passes (params in, result out). For a call the registry only forwards, that is most of
the time the registry adds, so `stdio_transport` offers each input line to this lane first.

Contract:
- It takes a line only when it is sure the SDK would have routed it to `Registry.exec`: a
  `tools/call` request (int or str id, object params, object or absent arguments, no
  2026-07-28 envelope) for a name the router resolves, directly or through `registry_exec` with
  valid arguments, after the editor's `initialize` has been answered. Everything else — registry
  tools, unknown names, malformed requests — goes to the SDK, which answers as before.
- A taken call runs `Registry.exec` as `server.app` does: the child's result goes back untouched
  when the editor and the child speak the same protocol version (a large one as the child's
  bytes, never parsed: see `mcp_client.wire.RawJSON`), and through the SDK's own result sieve
  (`serialize_server_result`) when they do not.
- It also answers `tools/list` (same conditions, and after the SDK has answered one, so the
  app has bound the editor's session): the same pages as `server.app` (its `paginate` over the
  registry's tools and the router's), without the SDK's per-tool validation for mounts that speak
  the editor's protocol version; other mounts' tools and the registry's own go through the
  sieve, once per change of the router's table.
- Calls run on a pool of worker tasks (starting a task per call costs more than the rest of the
  lane); the pool grows to the number of calls in flight and keeps a few idle workers.
- Progress (`_meta.progressToken`) is forwarded as notifications/progress; the editor's
  notifications/cancelled for a taken call cancels it (the child is told) and no reply is sent,
  as the SDK does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, PROTOCOL_VERSION_META_KEY
from mcp_types.methods import serialize_server_result
from pydantic import ValidationError

from mcp_registry_server.mcp_client import RawJSON
from mcp_registry_server.mcp_client.wire import decode_line
from mcp_registry_server.registry import ProgressCallback, Registry, RegistryError
from mcp_registry_server.server.stdio_transport import MessageSink
from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments

__all__ = ["DirectLane"]

logger = logging.getLogger(__name__)

# Idle workers kept for the next calls; more than this leave once they are done.
_IDLE_WORKERS = 8

_Job = tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]


class DirectLane:
    """Answers routed tool calls itself. See the module docstring."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._sink: MessageSink | None = None
        self._tasks: TaskGroup | None = None
        self._initialize_id: Any = None
        self.protocol_version: str | None = None
        """The editor's protocol version, once the SDK has answered its `initialize`."""
        self._in_flight: dict[int | str, anyio.CancelScope] = {}
        self._idle: list[_Worker] = []
        self.calls_taken = 0
        # tools/list: the first goes to the SDK; pages are built from `_shaped`, redone when the
        # router's table (`_shaped_from`) changes.
        self._first_list_id: Any = None
        self._sdk_listed = False
        self._shaped_from: list[dict[str, Any]] | None = None
        self._shaped: list[dict[str, Any]] = []

    def bind(self, sink: MessageSink, tasks: TaskGroup) -> None:
        self._sink = sink
        self._tasks = tasks

    # --- what the transport offers ------------------------------------------------------------------

    def offer(self, line: bytes) -> bool:
        if b'"tools/call"' in line:
            return self._offer_call(line)
        if b'"tools/list"' in line:
            return self._offer_list(line)
        if self._in_flight and b"notifications/cancelled" in line:
            return self._offer_cancel(line)
        if self.protocol_version is None and b'"initialize"' in line:
            message = _loads(line)
            if message is not None and message.get("method") == "initialize" and "id" in message:
                self._initialize_id = message["id"]
        return False

    def observe(self, message: types.JSONRPCMessage) -> None:
        if self._first_list_id is not None and getattr(message, "id", None) == self._first_list_id:
            self._sdk_listed = isinstance(message, types.JSONRPCResponse)
            self._first_list_id = None
        if self._initialize_id is None or getattr(message, "id", None) != self._initialize_id:
            return
        result = getattr(message, "result", None)
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        if isinstance(version, str):
            self.protocol_version = version
        self._initialize_id = None

    def _offer_call(self, line: bytes) -> bool:
        if self.protocol_version is None or self._tasks is None:
            return False
        message = _loads(line)
        if message is None or message.get("method") != "tools/call" or message.get("jsonrpc") != "2.0":
            return False
        request_id = message.get("id")
        params = message.get("params")
        if type(request_id) not in (int, str) or request_id in self._in_flight or type(params) is not dict:
            return False
        meta = params.get("_meta")
        if meta is not None and (type(meta) is not dict or PROTOCOL_VERSION_META_KEY in meta):
            return False
        name, arguments = params.get("name"), params.get("arguments")
        if type(name) is not str or (arguments is not None and type(arguments) is not dict):
            return False
        if name == "registry_exec":
            try:
                parsed = parse_arguments(name, arguments)
            except ArgumentError:
                return False
            name, arguments = parsed["tool_name"], parsed["arguments"]
        elif name in REGISTRY_TOOL_NAMES:
            return False
        route = self._registry.router.resolve(name)
        if route is None:
            return False
        token = meta.get("progressToken") if meta else None
        if type(token) not in (int, str):
            token = None
        sieve = route[0].client.protocol_version != self.protocol_version
        scope = self._in_flight[request_id] = anyio.CancelScope()
        self.calls_taken += 1
        self._dispatch((self._call, (request_id, name, arguments, token, sieve, scope)))
        return True

    def _offer_list(self, line: bytes) -> bool:
        if self.protocol_version is None or self._tasks is None:
            return False
        message = _loads(line)
        if message is None or message.get("method") != "tools/list" or message.get("jsonrpc") != "2.0":
            return False
        request_id = message.get("id")
        params = message.get("params") or {}
        if type(request_id) not in (int, str) or request_id in self._in_flight or type(params) is not dict:
            return False
        meta = params.get("_meta")
        cursor = params.get("cursor")
        if (meta is not None and (type(meta) is not dict or PROTOCOL_VERSION_META_KEY in meta)) or (
            cursor is not None and type(cursor) is not str
        ):
            return False
        if not self._sdk_listed:
            if self._first_list_id is None:
                self._first_list_id = request_id
            return False
        self._dispatch((self._list, (request_id, cursor)))
        return True

    def _dispatch(self, job: _Job) -> None:
        assert self._tasks is not None
        if self._idle:
            worker = self._idle.pop()
            worker.job = job
            worker.wake.set()
        else:
            self._tasks.start_soon(self._work, job, name="direct lane worker")

    def _offer_cancel(self, line: bytes) -> bool:
        message = _loads(line)
        if message is None or message.get("method") != "notifications/cancelled" or "id" in message:
            return False
        params = message.get("params")
        request_id = params.get("requestId") if type(params) is dict else None
        scope = self._in_flight.get(request_id) if type(request_id) in (int, str) else None  # type: ignore[arg-type]
        if scope is None:
            return False
        scope.cancel()
        return True

    # --- running a call ------------------------------------------------------------------------------

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

    async def _call(
        self,
        request_id: int | str,
        name: str,
        arguments: dict[str, Any] | None,
        token: int | str | None,
        sieve: bool,
        scope: anyio.CancelScope,
    ) -> None:
        assert self._sink is not None
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        raw: bytes | memoryview | None = None
        with scope:
            try:
                result = (await self._registry.exec(name, arguments, self._progress(token), raw=True)).result
                if isinstance(result, RawJSON):
                    if not sieve:
                        raw = result.data
                    else:
                        result = result.decode()
                if raw is None:
                    reply["result"] = self._shape(result) if sieve else result
            except RegistryError as error:
                reply["result"] = _error_text(str(error))
            except _InvalidResult:
                reply["error"] = {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}
            except Exception:
                logger.exception("internal error in %s", name)
                reply["result"] = _error_text(
                    f"Internal error in {name}; the registry keeps serving. Details are in the registry's log."
                )
            finally:
                self._in_flight.pop(request_id, None)
        if scope.cancelled_caught:
            return  # the editor cancelled it: no reply, as the spec says
        if raw is not None:
            await self._sink.send_raw_result(request_id, raw)  # a large result, passed on as bytes
        else:
            await self._sink.send_message(reply)

    async def _list(self, request_id: int | str, cursor: str | None) -> None:
        assert self._sink is not None
        # The same pages as the SDK path; imported here because `server.app` imports this module.
        from mcp_registry_server.server.app import paginate

        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            await self._registry.wait_for_autostart()
            reply["result"] = paginate(self._listed_tools(), "tools", cursor)
        except MCPError as error:
            reply["error"] = error.error.model_dump(by_alias=True, mode="json", exclude_none=True)
        except _InvalidResult:
            reply["error"] = {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}
        await self._sink.send_message(reply)

    def _listed_tools(self) -> list[dict[str, Any]]:
        """The registry's tools and the router's, shaped for the editor; rebuilt when the router changes."""
        exposed = self._registry.router.exposed_tools()
        if exposed is not self._shaped_from:
            version = self.protocol_version
            shaped = self._sieve_tools(REGISTRY_TOOLS)
            for tool in exposed:
                route = self._registry.router.resolve(tool["name"])
                same = route is not None and route[0].client.protocol_version == version
                shaped.append(tool if same else self._sieve_tools([tool])[0])
            self._shaped_from, self._shaped = exposed, shaped
        return self._shaped

    def _sieve_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._shape({"tools": tools}, "tools/list")["tools"]

    def _shape(self, result: dict[str, Any], method: str = "tools/call") -> dict[str, Any]:
        """The SDK's wire shape of a result for the editor's protocol version."""
        assert self.protocol_version is not None
        try:
            return serialize_server_result(method, self.protocol_version, result)
        except ValidationError:
            logger.exception("a %s result is invalid for protocol %s", method, self.protocol_version)
            raise _InvalidResult from None

    def _progress(self, token: int | str | None) -> ProgressCallback | None:
        if token is None:
            return None
        sink = self._sink
        assert sink is not None

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            params: dict[str, Any] = {"progressToken": token, "progress": progress}
            if total is not None:
                params["total"] = total
            if message is not None:
                params["message"] = message
            await sink.send_message({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})

        return forward


class _Worker:
    """An idle worker's mailbox: `offer` puts a job in and sets `wake`."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.job: _Job | None = None
        self.wake = anyio.Event()


class _InvalidResult(Exception):
    pass


def _loads(line: bytes) -> dict[str, Any] | None:
    try:
        message = decode_line(line)
    except (ValueError, RecursionError):
        return None
    return message if type(message) is dict else None


def _error_text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}

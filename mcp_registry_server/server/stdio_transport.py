"""The editor's stdio for the SDK server, without worker threads, with a lane that may take messages first.

`stdio_server(lane)` is a drop-in for `mcp.server.stdio.stdio_server()`: it yields the
`(read_stream, write_stream)` pair of `SessionMessage`s that `Server.run` consumes. The SDK's
version moves every line through a worker thread (readline, write, flush: three thread hops per
call); this one reads and writes the pipes directly, non-blocking, in the event loop.

Contract:
- Like the SDK's, it claims fd 0 and 1 while serving: the wire moves to private descriptors, fd 0
  reads /dev/null and fd 1 writes to stderr, so a stray `print` cannot corrupt the protocol. Both
  are restored (with their blocking mode) on exit. Given explicit descriptors (tests), it uses
  those and claims nothing.
- Every complete input line is parsed once, as the SDK's stdio transport does
  (`jsonrpc_message_adapter.validate_json`, invalid UTF-8 replaced). A line that is not a
  JSON-RPC message is answered here, never silently dropped, so an editor never waits forever:
  not JSON: -32700 with `id: null`; JSON that is not a valid request or notification (a batch, a
  list as params, a bad id): -32600, with the request's id when it has a usable one, else null. A
  malformed response (to a request of ours) cannot be answered and is logged. Blank lines are
  skipped. A valid message is offered to `lane.offer(message)` (see `DirectLane`); one it takes
  never reaches the SDK.
- Output is one line per message, written whole under one lock, so the lane's messages and the
  SDK's never interleave. Once the editor's end is gone, writes are dropped and the read side
  ends at EOF. The output pipe's buffer is raised to 1 MiB where Linux allows it.
- Pipes, sockets and terminals are driven non-blocking from the event loop; anything the loop
  cannot poll (a regular file, /dev/null) falls back to a blocking call in a worker thread. On
  asyncio, stdin is read by a reader callback that stays registered, so a line for the lane is
  handled in the same pass of the loop that saw it arrive; lines for the SDK queue up (reading
  pauses while more than `_SDK_BUFFER` wait) for one task that hands them on.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sys
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import anyio.to_thread
import mcp_types as types
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.dispatcher import as_request_id
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR
from pydantic import ValidationError
from pydantic_core import from_json

from mcp_registry_server.mcp_client.transport import LineSplitter
from mcp_registry_server.mcp_client.wire import decode_line

__all__ = ["Lane", "PlainRequest", "WireWriter", "stdio_server"]

logger = logging.getLogger(__name__)

_READ_SIZE = 1 << 20
_PIPE_SIZE = 1 << 20
# Messages read ahead for the SDK while it is busy; lane messages never wait behind them.
_SDK_BUFFER = 64


class Lane(Protocol):
    """Takes some incoming messages itself and answers them through the writer it is bound to."""

    def bind(self, writer: WireWriter, tasks: TaskGroup) -> None:
        """Called once, before the first `offer`: where to write, and where to run its tasks."""

    def take(self, request: PlainRequest) -> bool:
        """True when the lane took the request; it must not block (start a task for the work)."""

    def offer(self, message: types.JSONRPCMessage) -> bool:
        """True when the lane took `message` (any other message); it must not block."""


class _Fd:
    """One private pipe end, driven non-blocking from the event loop when it can be polled."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.was_blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        self.pollable = True

    def restore(self) -> None:
        with suppress(OSError):
            os.set_blocking(self.fd, self.was_blocking)

    async def read(self) -> bytes:
        """The next bytes available (b"" at EOF)."""
        while True:
            try:
                return os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                if not await self._wait(anyio.wait_readable):
                    return await anyio.to_thread.run_sync(self._read_blocking)

    def write_now(self, data: bytes | memoryview) -> int:
        """Writes what the pipe takes without waiting; returns how many bytes that was."""
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0

    async def write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.fd, view) :]
            except BlockingIOError:
                if not await self._wait(anyio.wait_writable):
                    await anyio.to_thread.run_sync(self._write_blocking, view)
                    return

    async def _wait(self, wait: Any) -> bool:
        """Waits for the fd; False (and blocking mode from now on) when the loop cannot poll it."""
        if self.pollable:
            try:
                await wait(self.fd)
                return True
            except OSError:  # epoll refuses regular files
                self.pollable = False
                os.set_blocking(self.fd, True)
        return False

    def _read_blocking(self) -> bytes:
        return os.read(self.fd, _READ_SIZE)

    def _write_blocking(self, view: memoryview) -> None:
        while view:
            view = view[os.write(self.fd, view) :]


class WireWriter:
    """Writes whole lines to the editor: the SDK's `write_stream`, and the lane's and our own replies."""

    def __init__(self, out: _Fd) -> None:
        self._out = out
        self._lock = anyio.Lock(fast_acquire=True)
        self._broken = False

    async def write_line(self, data: bytes) -> None:
        """Writes `data` (one JSON text and its b"\\n") unless the editor is gone."""
        if self._broken:
            return
        try:
            if not self._lock.locked():
                # Nobody is mid-line: one write usually takes it all, and nothing can come between.
                written = self._out.write_now(data)
                if written == len(data):
                    return
                data = memoryview(data)[written:]
            async with self._lock:
                await self._out.write_all(data)
        except OSError as error:  # EPIPE: the editor closed its end
            self._broken = True
            logger.debug("the editor's stdin is gone; dropping output (%s)", error)

    # The SDK's write stream: `send(SessionMessage)` and an async context.
    async def send(self, item: SessionMessage) -> None:
        await self.write_line(item.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")

    async def aclose(self) -> None:
        pass

    async def __aenter__(self) -> WireWriter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


def _widen_pipe(fd: int) -> None:
    """Asks for a 1 MiB pipe buffer (Linux), so a large result crosses in 16x fewer wake-ups."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with suppress(OSError):
            fcntl.fcntl(fd, set_size, _PIPE_SIZE)


def _claim(fd: int, diversion: int) -> int:
    """Moves the wire on `fd` to a private descriptor and points `fd` at `diversion`."""
    private = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.dup2(diversion, fd)
    return private


@dataclass(frozen=True)
class _Reply:
    """Our answer to a malformed line, to be written to the editor."""

    error: types.JSONRPCError


def _parse(line: bytes) -> types.JSONRPCMessage | _Reply | None:
    """The message on `line` as the SDK's stdio transport reads it; for a malformed line, the reply
    it gets (None when there is nobody to answer: a malformed response)."""
    text = line.decode("utf-8", errors="replace")
    try:
        message = types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as error:
        return _malformed(text, error)
    if isinstance(message, types.JSONRPCNotification) and '"id"' in text:
        # The models ignore an unusable `id` (true, a list, …) and would take a request for a notification.
        decoded = _decoded(text)
        if isinstance(decoded, dict) and "id" in decoded:
            return _invalid_request(None, "its id must be a string or an integer")
    return message


def _plain_request(line: bytes) -> PlainRequest | None:
    """The request on `line` when it is plainly one (the common case), without the union validation.

    Plainly: an object with exactly jsonrpc "2.0", a str or int id, a str method and object (or
    no) params: the SDK's union reads such a line as the same `JSONRPCRequest`
    (`PlainRequest.message`). Anything else, invalid UTF-8 included, takes the full path."""
    try:
        decoded = from_json(line)
    except ValueError:
        return None
    if type(decoded) is not dict or decoded.keys() - _REQUEST_KEYS or decoded.get("jsonrpc") != "2.0":
        return None
    request_id, method, params = decoded.get("id"), decoded.get("method"), decoded.get("params")
    if type(request_id) not in (int, str) or type(method) is not str or type(params) not in (dict, type(None)):
        return None
    if params is None and "params" in decoded:
        return None  # `"params": null` is not plain
    return PlainRequest(request_id, method, params)


@dataclass(frozen=True, slots=True)
class PlainRequest:
    """A request's id, method and params, read without building its model (see `_plain_request`)."""

    id: int | str
    method: str
    params: dict[str, Any] | None

    def message(self) -> types.JSONRPCRequest:
        if self.params is None:
            return types.JSONRPCRequest.model_construct(jsonrpc="2.0", id=self.id, method=self.method)
        return types.JSONRPCRequest.model_construct(jsonrpc="2.0", id=self.id, method=self.method, params=self.params)


def _malformed(text: str, error: ValidationError) -> _Reply | None:
    if error.errors()[0]["type"] == "json_invalid":
        return _error_reply(None, PARSE_ERROR, "Parse error: the line is not JSON")
    decoded = _decoded(text)
    if not isinstance(decoded, dict):
        what = "a batch (an array); MCP does not use batches" if isinstance(decoded, list) else "not a JSON object"
        return _invalid_request(None, what)
    if "method" not in decoded and ("result" in decoded or "error" in decoded):
        logger.warning("ignoring a malformed response from the editor (id %.40r)", decoded.get("id"))
        return None
    why = "it is not a valid JSON-RPC 2.0 request or notification (params must be an object)"
    return _invalid_request(as_request_id(decoded.get("id")), why)


def _decoded(text: str) -> Any:
    try:
        return decode_line(text.encode())
    except (ValueError, RecursionError):
        return None


def _invalid_request(request_id: types.RequestId | None, why: str) -> _Reply:
    return _error_reply(request_id, INVALID_REQUEST, f"Invalid Request: {why}")


def _error_reply(request_id: types.RequestId | None, code: int, message: str) -> _Reply:
    error = types.ErrorData(code=code, message=message)
    return _Reply(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


_Routed = SessionMessage | _Reply
_REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})


def _route(line: bytes, lane: Lane | None, backlog: deque[_Routed]) -> None:
    """Puts a line's message where it goes: the lane, or the backlog (for the SDK, or our reply)."""
    if not line.strip():
        return
    if (plain := _plain_request(line)) is not None:
        if lane is None or not lane.take(plain):
            backlog.append(SessionMessage(plain.message()))
        return
    message = _parse(line)
    if message is None:
        return
    if isinstance(message, _Reply):
        backlog.append(message)
    elif lane is None or not lane.offer(message):
        backlog.append(SessionMessage(message))


async def _forward(
    item: _Routed, to_sdk: MemoryObjectSendStream[SessionMessage | Exception], writer: WireWriter
) -> None:
    if isinstance(item, _Reply):
        await writer.send(SessionMessage(item.error))
    else:
        await to_sdk.send(item)


async def _read_lines(
    stdin: _Fd, lane: Lane | None, to_sdk: MemoryObjectSendStream[SessionMessage | Exception], writer: WireWriter
) -> None:
    async with to_sdk:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and stdin.pollable:
            try:
                await _read_lines_asyncio(loop, stdin.fd, lane, to_sdk, writer)
                return
            except _NotPollable:
                stdin.pollable = False
        splitter = LineSplitter()
        backlog: deque[_Routed] = deque()
        while True:
            try:
                chunk = await stdin.read()
            except OSError as error:
                logger.debug("reading the editor's stdout failed: %s", error)
                chunk = b""
            for line in splitter.feed(chunk) if chunk else [splitter.flush()]:
                _route(line, lane, backlog)
            while backlog:
                await _forward(backlog.popleft(), to_sdk, writer)
            if not chunk:
                return


class _NotPollable(Exception):
    pass


async def _read_lines_asyncio(
    loop: asyncio.AbstractEventLoop,
    fd: int,
    lane: Lane | None,
    to_sdk: MemoryObjectSendStream[SessionMessage | Exception],
    writer: WireWriter,
) -> None:
    """`_read_lines` with a reader callback that stays registered; see the module docstring."""
    splitter = LineSplitter()
    backlog: deque[_Routed] = deque()
    arrived = anyio.Event()
    eof = paused = False

    def on_readable() -> None:
        nonlocal eof, paused
        while True:
            try:
                chunk = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                break
            except OSError as error:
                logger.debug("reading the editor's stdout failed: %s", error)
                chunk = b""
            for line in splitter.feed(chunk) if chunk else [splitter.flush()]:
                _route(line, lane, backlog)
            if not chunk:
                eof = True
                loop.remove_reader(fd)
                break
            if len(chunk) < _READ_SIZE:
                break  # the pipe is empty: skip the read that would only say so
        if len(backlog) > _SDK_BUFFER and not eof:
            paused = True
            loop.remove_reader(fd)
        if backlog or eof:
            arrived.set()

    try:
        loop.add_reader(fd, on_readable)
    except OSError as error:  # epoll refuses regular files
        raise _NotPollable from error
    try:
        while True:
            await arrived.wait()
            arrived = anyio.Event()
            while backlog:
                await _forward(backlog.popleft(), to_sdk, writer)
                if paused and len(backlog) <= _SDK_BUFFER // 2:
                    paused = False
                    loop.add_reader(fd, on_readable)
            if eof:
                return
    finally:
        loop.remove_reader(fd)


@asynccontextmanager
async def stdio_server(
    lane: Lane | None = None, *, fds: tuple[int, int] | None = None
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[SessionMessage | Exception], WireWriter]]:
    """Serves MCP over this process's stdin and stdout, or over `fds` (read, write); see the module docstring."""
    claimed = fds is None
    if fds is None:
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            stdin_fd = _claim(0, null)
        finally:
            os.close(null)
        fds = (stdin_fd, _claim(1, 2))
    _widen_pipe(fds[1])
    stdin, stdout = _Fd(fds[0]), _Fd(fds[1])
    to_sdk, from_editor = anyio.create_memory_object_stream[SessionMessage | Exception](_SDK_BUFFER)
    writer = WireWriter(stdout)
    try:
        async with anyio.create_task_group() as tasks:
            if lane is not None:
                lane.bind(writer, tasks)
            tasks.start_soon(_read_lines, stdin, lane, to_sdk, writer, name="editor stdin")
            try:
                yield from_editor, writer
            finally:
                tasks.cancel_scope.cancel()
    finally:
        for private, fd in ((stdin, 0), (stdout, 1)):
            private.restore()
            if claimed:
                with suppress(OSError):
                    os.dup2(private.fd, fd)
                    os.close(private.fd)

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
- Every complete input line is read once (`inbound`): a plain request is offered to
  `lane.take(request)`, any other message to `lane.offer(message)` (see `DirectLane`); one the
  lane takes never reaches the SDK. A malformed line is answered here (`inbound.Reply`), never
  silently dropped. Blank lines are skipped.
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
from typing import Any, Protocol

import anyio
import anyio.to_thread
import mcp_types as types
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

from mcp_registry_server.mcp_client.transport import LineSplitter
from mcp_registry_server.server.inbound import PlainRequest, Reply, parse_line, plain_request

__all__ = ["Lane", "WireWriter", "stdio_server"]

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
                rest: bytes | memoryview = memoryview(data)[written:]
            else:
                rest = data
            async with self._lock:
                await self._out.write_all(rest)
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


_Routed = SessionMessage | Reply


def _route(line: bytes, lane: Lane | None, backlog: deque[_Routed]) -> None:
    """Puts a line's message where it goes: the lane, or the backlog (for the SDK, or our reply)."""
    if not line.strip():
        return
    if (plain := plain_request(line)) is not None:
        if lane is None or not lane.take(plain):
            backlog.append(SessionMessage(plain.message()))
        return
    message = parse_line(line)
    if message is None:
        return
    if isinstance(message, Reply):
        backlog.append(message)
    elif lane is None or not lane.offer(message):
        backlog.append(SessionMessage(message))


async def _forward(
    item: _Routed, to_sdk: MemoryObjectSendStream[SessionMessage | Exception], writer: WireWriter
) -> None:
    if isinstance(item, Reply):
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

"""Newline-delimited JSON over a child process's stdin/stdout: the byte layer below `JSONRPCSession`.

`StdioTransport` takes ownership of an already started `anyio.abc.Process` with stdin, stdout and
stderr pipes. `receive()` returns the next JSON object read from stdout; bytes are buffered as
chunks and joined once per line (a 50 MB line costs one copy, not a rescan per chunk), and a line
that is not a JSON object is logged, counted in `garbage_lines` and skipped. A line longer than
`max_message_bytes` raises `MessageTooLargeError` as soon as that many bytes are held, so a child
writing one endless line costs at most that much memory (plus one read); stdout is not read again.
`send()` writes one compact JSON object plus b"\\n" as one unit, so messages never interleave; on
anyio's asyncio backend it writes through the pipe's asyncio `StreamWriter` directly (a write that
the pipe cannot take at once is buffered, in order) and only waits, up to its `deadline`, when the
buffer is over its limit. Elsewhere it uses anyio's stream under a lock.
`drain_stderr()` (also `run()`) must run in a task for the transport's whole life: it keeps the child
from blocking on a full stderr pipe and keeps the last `stderr_limit` bytes for `stderr_tail()`.

`aclose()` stops the child the way the MCP spec orders it: close stdin, wait, SIGTERM, wait, SIGKILL,
wait; every wait is bounded (`ShutdownTimeouts`) and the whole sequence runs under a cancellation
shield, so a cancelled caller can neither leak the process nor hang on it. The transport knows
nothing about JSON-RPC: ids, requests and errors belong to the session above it.

`MessageTransport` is what the session needs of any transport; `http_transport.HTTPTransport`
offers the same for a remote server.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.abc import AsyncResource, Process

from .wire import RAW_LINE_MIN, decode_line, encode_line

__all__ = [
    "LineSplitter",
    "MessageTooLargeError",
    "MessageTransport",
    "ShutdownTimeouts",
    "StdioTransport",
    "TransportClosedError",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Bytes asked for per read; the pipe hands back what it has, so this only caps one chunk.
_READ_SIZE = 1 << 20
# How much of a bad line goes into the log.
_GARBAGE_REPR_CHARS = 200
# How often returncode is polled while waiting for the child to die.
_EXIT_POLL_INTERVAL = 0.01


class MessageTransport(Protocol):
    """What `JSONRPCSession` needs of a transport: JSON objects in and out, a background task, a close."""

    raw_lines: Callable[[bytes], dict[str, Any] | None] | None
    garbage_lines: int

    @property
    def failure(self) -> str | None:
        """Why the connection ended, when the transport knows (a remote server's); None otherwise."""

    @property
    def pid(self) -> int | None: ...

    @property
    def returncode(self) -> int | None: ...

    @property
    def at_eof(self) -> bool: ...

    def stderr_tail(self, max_chars: int = 4000) -> str: ...

    async def run(self) -> None:
        """The transport's background work; runs in a task for its whole life."""

    async def receive(self) -> dict[str, Any]: ...

    async def send(self, message: dict[str, Any], *, deadline: float = math.inf) -> None: ...

    async def wait_exit_settled(self) -> None: ...

    async def aclose(self) -> None: ...


class TransportClosedError(Exception):
    """The child's stdin can no longer be written: it closed the pipe, exited, or we closed it."""


class MessageTooLargeError(Exception):
    """The child wrote a line longer than `max_message_bytes`; nothing more is read from it."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the server sent a message larger than {limit} bytes (MCP_REGISTRY_MAX_MESSAGE_BYTES), "
            "so the registry stopped reading it and stopped the server"
        )
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ShutdownTimeouts:
    """Bounds, in seconds, for each step of stopping the child. Worst case is their sum."""

    stdin_close_grace: float = 2.0
    """Time to exit on its own after its stdin closes (the polite MCP shutdown)."""
    terminate_grace: float = 2.0
    """Time to exit after SIGTERM before SIGKILL."""
    kill_grace: float = 1.0
    """Time for the event loop to observe a SIGKILL; only an unkillable process runs this out."""


class LineSplitter:
    """Splits a byte stream on b"\\n" without rescanning: each chunk is searched once."""

    __slots__ = ("_partial", "pending_bytes")

    def __init__(self) -> None:
        self._partial: list[bytes] = []
        self.pending_bytes = 0
        """Size of the unfinished line held so far."""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Returns the lines `chunk` completes (without b"\\n") and keeps the unfinished rest."""
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            self._partial.append(chunk)
            self.pending_bytes += len(chunk)
            return []
        rest = pieces.pop()
        if self._partial:
            self._partial.append(pieces[0])
            pieces[0] = b"".join(self._partial)
            self._partial.clear()
        self.pending_bytes = len(rest)
        if rest:
            self._partial.append(rest)
        return pieces

    def flush(self) -> bytes:
        """Returns the unterminated tail (at EOF) and forgets it."""
        tail = b"".join(self._partial)
        self._partial.clear()
        self.pending_bytes = 0
        return tail


_LineSplitter = LineSplitter


class _StderrTail:
    """Keeps the last `limit` bytes of stderr and optionally hands complete lines to a callback."""

    __slots__ = ("_buffer", "_limit", "_on_line", "_splitter", "total_bytes")

    def __init__(self, limit: int, on_line: Callable[[str], None] | None) -> None:
        self._buffer = bytearray()
        self._limit = limit
        self._on_line = on_line
        self._splitter = LineSplitter() if on_line is not None else None
        self.total_bytes = 0

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        self._buffer += chunk
        # Trim only once the buffer doubles: amortised O(1) per byte.
        if len(self._buffer) > 2 * self._limit:
            del self._buffer[: len(self._buffer) - self._limit]
        if self._splitter is not None:
            self._emit(self._splitter.feed(chunk))
            # A line that never ends must not grow without bound either.
            if self._splitter.pending_bytes > self._limit:
                self._emit([self._splitter.flush()])

    def finish(self) -> None:
        if self._splitter is not None:
            tail = self._splitter.flush()
            if tail:
                self._emit([tail])

    def _emit(self, lines: list[bytes]) -> None:
        assert self._on_line is not None
        for line in lines:
            try:
                self._on_line(line.rstrip(b"\r").decode("utf-8", errors="replace"))
            except Exception:
                logger.exception("stderr line callback failed")

    def text(self, max_chars: int) -> str:
        tail = bytes(self._buffer[-self._limit :])
        return tail.decode("utf-8", errors="replace")[-max_chars:] if max_chars > 0 else ""


class StdioTransport:
    """JSON objects in and out of one child process's stdio. See the module docstring."""

    def __init__(
        self,
        process: Process,
        *,
        stderr_limit: int = 65536,
        on_stderr_line: Callable[[str], None] | None = None,
        shutdown_timeouts: ShutdownTimeouts | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise ValueError("the process must be started with stdin, stdout and stderr pipes")
        self._process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._stderr = process.stderr
        self._send_lock = anyio.Lock(fast_acquire=True)
        self._writer = _asyncio_writer(process.stdin)
        self._splitter = LineSplitter()
        self._max_message_bytes = max_message_bytes
        self._lines: deque[bytes] = deque()
        self._stderr_tail = _StderrTail(stderr_limit, on_stderr_line)
        self._shutdown_timeouts = shutdown_timeouts or ShutdownTimeouts()
        self._stdout_eof = False
        self._stderr_eof = anyio.Event()
        self._closing = False
        self.raw_lines: Callable[[bytes], dict[str, Any] | None] | None = None
        """Offered each line of `RAW_LINE_MIN` bytes or more before it is parsed; a message it
        returns is used as is (the session keeps large results of `raw=True` requests as bytes)."""
        self.garbage_lines = 0
        """Lines on stdout that were not a JSON object and were skipped."""

    # --- state ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def failure(self) -> None:
        """A child's end is told by its exit code and stderr, not here."""
        return None

    @property
    def returncode(self) -> int | None:
        """The child's exit code, or None while it runs (or before its exit has been observed)."""
        return self._process.returncode

    @property
    def at_eof(self) -> bool:
        """Whether stdout has ended: no more messages will arrive."""
        return self._stdout_eof

    @property
    def stderr_bytes(self) -> int:
        """Total bytes the child wrote to stderr so far."""
        return self._stderr_tail.total_bytes

    def stderr_tail(self, max_chars: int = 4000) -> str:
        """The last `max_chars` characters of stderr (within the kept `stderr_limit` bytes)."""
        return self._stderr_tail.text(max_chars)

    async def wait_exit_settled(self) -> None:
        """After stdout EOF, waits for stderr to end and the exit code to appear. Bound it yourself.

        A crashing server writes its traceback to stderr and closes stdout at the same moment;
        waiting a few milliseconds for both lets the caller report the exit code and the traceback.
        """
        await self._stderr_eof.wait()
        await self._wait_exit()

    # --- reading -------------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        """Returns the next JSON object from stdout. Raises `anyio.EndOfStream` once stdout ends,
        and `MessageTooLargeError` for a line over the limit (then `EndOfStream`: reading stopped)."""
        lines = self._lines
        while True:
            while lines:
                line = lines.popleft()
                if self.raw_lines is not None and len(line) >= RAW_LINE_MIN and (kept := self.raw_lines(line)):
                    return kept
                try:
                    message = decode_line(line)
                except (ValueError, RecursionError):
                    message = None
                if type(message) is dict:
                    return message
                if line.strip():
                    self.garbage_lines += 1
                    logger.warning(
                        "Skipping a stdout line from pid %s that is not a JSON object: %r",
                        self._process.pid,
                        line[:_GARBAGE_REPR_CHARS],
                    )
            if self._stdout_eof:
                raise anyio.EndOfStream
            try:
                chunk = await self._stdout.receive(_READ_SIZE)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                self._stdout_eof = True
                tail = self._splitter.flush()
                if tail:
                    lines.append(tail)
                continue
            completed = self._splitter.feed(chunk)
            limit = self._max_message_bytes
            if self._splitter.pending_bytes > limit or any(len(line) > limit for line in completed):
                self._stdout_eof = True  # nothing after it can be trusted to be framed right
                self._splitter.flush()
                lines.clear()
                raise MessageTooLargeError(limit)
            lines.extend(completed)

    async def run(self) -> None:
        """The transport's background work (`MessageTransport`): draining stderr."""
        await self.drain_stderr()

    async def drain_stderr(self) -> None:
        """Reads stderr until it ends, keeping the tail. Run this in a task for the transport's life."""
        try:
            while True:
                self._stderr_tail.feed(await self._stderr.receive(_READ_SIZE))
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            self._stderr_tail.finish()
            self._stderr_eof.set()

    # --- writing -------------------------------------------------------------------------------

    async def send(self, message: dict[str, Any], *, deadline: float = math.inf) -> None:
        """Writes one message as a single line.

        Raises `TransportClosedError` if stdin is gone, and `TimeoutError` if the child has not
        taken the bytes by `deadline` (an `anyio.current_time()`; the message may still go out).
        """
        data = encode_line(message)
        writer = self._writer
        if writer is not None:
            # write() hands the whole line to the event loop's pipe transport at once, so lines
            # never interleave and no lock is needed; only a full buffer makes us wait.
            if writer.transport.is_closing():
                raise TransportClosedError(f"cannot write to the stdin of pid {self._process.pid}")
            writer.write(data)
            if writer.transport.get_write_buffer_size() <= writer.transport.get_write_buffer_limits()[1]:
                return
        with anyio.move_on_after(deadline - anyio.current_time()) as scope:
            try:
                if writer is not None:
                    await writer.drain()
                else:
                    async with self._send_lock:
                        await self._stdin.send(data)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError, RuntimeError) as exc:
                raise TransportClosedError(f"cannot write to the stdin of pid {self._process.pid}") from exc
        if scope.cancelled_caught:
            raise TimeoutError(f"pid {self._process.pid} did not read its stdin in time")

    # --- shutdown ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stops the child (close stdin, wait, SIGTERM, wait, SIGKILL, wait) and closes its pipes.

        Shielded and bounded by `ShutdownTimeouts`; safe to call more than once.
        """
        if self._closing:
            return
        self._closing = True
        timeouts = self._shutdown_timeouts
        process = self._process
        with anyio.CancelScope(shield=True):
            await _close_quietly(self._stdin)
            with anyio.move_on_after(timeouts.stdin_close_grace):
                await self._wait_exit()
            if process.returncode is None:
                logger.info("pid %s did not exit after stdin closed; sending SIGTERM", process.pid)
                with suppress(ProcessLookupError):
                    process.terminate()
                with anyio.move_on_after(timeouts.terminate_grace):
                    await self._wait_exit()
            if process.returncode is None:
                logger.warning("pid %s ignored SIGTERM; sending SIGKILL", process.pid)
                with suppress(ProcessLookupError):
                    process.kill()
                with anyio.move_on_after(timeouts.kill_grace):
                    await self._wait_exit()
            # A surviving grandchild may hold the pipes open; closing our ends unblocks the readers.
            await _close_quietly(self._stdout)
            await _close_quietly(self._stderr)
            if process.returncode is None:
                logger.warning("pid %s is still alive after SIGKILL; abandoning it", process.pid)
            else:
                # Releases the event loop's subprocess transport; quick now that the child is gone.
                with anyio.move_on_after(timeouts.kill_grace):
                    await process.aclose()

    async def _wait_exit(self) -> None:
        """Returns once the child has exited. Unbounded: callers wrap it in a cancel scope."""
        # Polls returncode rather than awaiting process.wait(): on some anyio versions and backends
        # that also waits for the pipes to close, and a grandchild holding them would make an exited
        # child look hung. A poll every few milliseconds costs nothing next to a process exit.
        while self._process.returncode is None:  # noqa: ASYNC110 - no event exists for returncode
            await anyio.sleep(_EXIT_POLL_INTERVAL)


def _asyncio_writer(stream: Any) -> asyncio.StreamWriter | None:
    """The asyncio `StreamWriter` under anyio's process stdin, or None on other backends.

    anyio's `send()` ends every write with a checkpoint (one more pass of the event loop); for a
    small message that costs more than the write itself, and the registry sends one per call.
    """
    writer = getattr(stream, "_stream", None)
    return writer if isinstance(writer, asyncio.StreamWriter) else None


async def _close_quietly(stream: AsyncResource) -> None:
    with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        await stream.aclose()

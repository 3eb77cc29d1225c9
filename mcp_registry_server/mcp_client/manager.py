"""Owns every running `MCPClient`, keyed by mount, so each can start and stop on its own.

`async with ClientManager() as manager:` opens one task group. `start(key, process)` runs
`MCPClient.connect(process)` (a process, a remote server's transport, or a factory of either) as that key's own task in the group and returns the connected client
once its tasks run; `stop(key)` asks that task to leave the context (which stops the process, each
step bounded) and waits, bounded, for it. A client that fails after starting is logged and its key
freed; it never cancels the manager or its siblings. Leaving the manager stops all clients at once
and waits at most `close_timeout` for them, then cancels whatever is left.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from types import TracebackType
from typing import TypedDict, Unpack

import anyio
from anyio.abc import Process, TaskGroup, TaskStatus

from .client import MCPClient
from .jsonrpc import NotificationHandler, RequestHandler
from .transport import MessageTransport, ShutdownTimeouts

__all__ = ["ClientManager", "ConnectOptions", "ProcessSource"]

logger = logging.getLogger(__name__)

ProcessSource = Process | MessageTransport | Callable[[], Awaitable[Process]]
"""A started process, a transport not yet run, or an async factory the manager calls inside the client's task."""


class ConnectOptions(TypedDict, total=False):
    """Keyword arguments passed through to `MCPClient.connect()`."""

    on_notification: NotificationHandler | None
    on_request: RequestHandler | None
    default_timeout: float | None
    init_timeout: float | None
    stderr_limit: int
    on_stderr_line: Callable[[str], None] | None
    shutdown_timeouts: ShutdownTimeouts | None
    max_message_bytes: int


class _Mount:
    """The running task of one client and the events used to stop and await it."""

    __slots__ = ("client", "done", "scope", "stop")

    def __init__(self) -> None:
        self.client: MCPClient | None = None
        self.stop = anyio.Event()
        self.done = anyio.Event()
        self.scope = anyio.CancelScope()


class ClientManager:
    """Runs many `MCPClient`s side by side. See the module docstring."""

    def __init__(self, *, close_timeout: float = 5.0, stop_timeout: float = 10.0) -> None:
        self.close_timeout = close_timeout
        self.stop_timeout = stop_timeout
        self._mounts: dict[str, _Mount] = {}
        self._task_group: TaskGroup | None = None

    async def __aenter__(self) -> ClientManager:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        with anyio.CancelScope(shield=True):
            await self._stop_all()
        self._task_group.cancel_scope.cancel()
        try:
            return await self._task_group.__aexit__(exc_type, exc, traceback)
        finally:
            self._task_group = None

    # --- queries -------------------------------------------------------------------------------

    def get(self, key: str) -> MCPClient | None:
        """The client running under `key`, or None."""
        mount = self._mounts.get(key)
        return mount.client if mount is not None else None

    def __contains__(self, key: object) -> bool:
        return key in self._mounts

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._mounts))

    def __len__(self) -> int:
        return len(self._mounts)

    # --- start / stop --------------------------------------------------------------------------

    async def start(
        self, key: str, process: ProcessSource, *, name: str | None = None, **options: Unpack[ConnectOptions]
    ) -> MCPClient:
        """Connects a client to `process` under `key` and returns it (not yet initialized).

        Errors from the process factory or from connecting are raised here; the key is then free.
        """
        if self._task_group is None:
            raise RuntimeError("ClientManager is not running; use it as `async with ClientManager()`")
        if key in self._mounts:
            raise ValueError(f"a client is already running under {key!r}; stop it first")
        mount = _Mount()
        self._mounts[key] = mount
        run = partial(self._run_client, key, mount, process, name or key, options)
        try:
            return await self._task_group.start(run, name=f"mcp client {key}")
        except BaseException:
            if self._mounts.get(key) is mount:
                del self._mounts[key]
            raise

    async def stop(self, key: str) -> None:
        """Stops the client under `key` (no-op if none) and waits for it, at most `stop_timeout`."""
        mount = self._mounts.get(key)
        if mount is None:
            return
        mount.stop.set()
        with anyio.move_on_after(self.stop_timeout):
            await mount.done.wait()
        if not mount.done.is_set():
            logger.warning("client %r did not stop within %s s; cancelling it", key, self.stop_timeout)
            mount.scope.cancel()

    async def _stop_all(self) -> None:
        mounts = list(self._mounts.items())
        for _, mount in mounts:
            mount.stop.set()
        with anyio.move_on_after(self.close_timeout):
            for _, mount in mounts:
                await mount.done.wait()
        for key, mount in mounts:
            if not mount.done.is_set():
                logger.warning("client %r did not stop within %s s; cancelling it", key, self.close_timeout)
                mount.scope.cancel()

    async def _run_client(
        self,
        key: str,
        mount: _Mount,
        process: ProcessSource,
        name: str,
        options: ConnectOptions,
        *,
        task_status: TaskStatus[MCPClient],
    ) -> None:
        started = False
        try:
            with mount.scope:
                if callable(process):
                    process = await process()
                async with MCPClient.connect(process, name=name, **options) as client:
                    mount.client = client
                    task_status.started(client)
                    started = True
                    await mount.stop.wait()
        except Exception:
            if not started:
                raise  # start() reports it to its caller
            logger.exception("client %r failed; its siblings keep running", key)
        finally:
            if self._mounts.get(key) is mount:
                del self._mounts[key]
            mount.done.set()

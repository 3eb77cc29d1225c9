"""Workspaces under `serve --http`: one registry per workspace, opened on demand, closed when idle.

Contract: `WorkspacePool(settings, catalog, metrics)` is entered once; inside it `use(name)`
yields the running `Workspace` for a request (starting it first if needed) and counts the request
as in flight while the block runs. A workspace is everything one editor-facing registry is under
stdio, made for that workspace alone: its settings (`RegistrySettings.for_workspace`: its own
config, secrets, cache and state dirs, container label and instance id), its `ConfigStore`, its
registry (`open_registry`, so its own mounts, containers, offloaded results and tasks), its SDK
`Server` with `EditorHandlers` and `WorkspaceEditors`, its audit log (lines carry its name) and its
SDK `StreamableHTTPSessionManager` (session-based and stateless 2026-07-28 requests, its own
session ids, the body limit, the session cap, the session idle timeout). Nothing is shared
between workspaces but the catalog (read-only) and the process.

Secrets: the "default" workspace keeps the OS keyring if there is one (as stdio does); the others
keep their secret values in their own `secrets.toml` (0600) only, since the keyring has one
namespace for the whole user.

Lifetime: each workspace runs in its own task of the pool's task group. The reaper closes a
workspace once it has had no session, no request in flight and no request for
`http_idle_timeout` seconds: its sessions end, its servers are stopped and their containers
removed (as when stdio's editor disconnects); a later request opens it again. The SDK expires an
idle session after the same timeout, so an abandoned session leaves no container behind for
longer than about twice the timeout. Leaving the pool closes every workspace the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.config.tokens import DEFAULT_WORKSPACE
from mcp_registry_server.registry import Registry, open_registry
from mcp_registry_server.server.app import build_server
from mcp_registry_server.server.handlers import EditorHandlers
from mcp_registry_server.server.http.editors import WorkspaceEditors
from mcp_registry_server.server.http.metrics import LiveWorkspace, MeteredAuditLog, RegistryMetrics
from mcp_registry_server.settings import RegistrySettings

__all__ = ["Workspace", "WorkspacePool"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Workspace:
    name: str
    registry: Registry
    editors: WorkspaceEditors
    sessions: StreamableHTTPSessionManager
    in_flight: int = 0
    last_active: float = field(default_factory=time.monotonic)
    closing: anyio.Event = field(default_factory=anyio.Event)

    @property
    def open_sessions(self) -> int:
        # The SDK keeps no public count; its table of live transports (also what `editors` is
        # told) is the truth about sessions.
        return len(self.sessions._server_instances)

    def idle_for(self, now: float) -> float | None:
        """Seconds without any use, or None while a session or a request is open."""
        if self.in_flight or self.open_sessions:
            return None
        return now - self.last_active


class WorkspacePool:
    """The running workspaces; see the module contract."""

    def __init__(self, settings: RegistrySettings, catalog: Catalog, metrics: RegistryMetrics | None = None) -> None:
        self._settings = settings
        self._catalog = catalog
        self.metrics = metrics
        self._running: dict[str, Workspace] = {}
        self._starting = anyio.Lock()
        self._tasks: TaskGroup | None = None
        self._reaper = anyio.CancelScope()

    def live(self) -> list[LiveWorkspace]:
        return [LiveWorkspace(ws.name, ws.registry, ws.open_sessions) for ws in self._running.values()]

    def running(self, name: str) -> Workspace | None:
        return self._running.get(name)

    async def __aenter__(self) -> WorkspacePool:
        self._group = anyio.create_task_group()
        self._tasks = await self._group.__aenter__()
        self._tasks.start_soon(self._reap)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        self._reaper.cancel()
        for workspace in list(self._running.values()):
            self._close(workspace)
        self._tasks = None
        return await self._group.__aexit__(kind, error, traceback)

    @asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[Workspace]:
        """The running workspace `name` (started if needed), counted in flight while in use."""
        async with self._starting:
            workspace = self._running.get(name)
            if workspace is None:
                if self._tasks is None:
                    raise RuntimeError("the workspace pool is closed")
                workspace = await self._tasks.start(self._run, name)
                self._running[name] = workspace
            workspace.in_flight += 1
        try:
            yield workspace
        finally:
            workspace.in_flight -= 1
            workspace.last_active = time.monotonic()

    def _close(self, workspace: Workspace) -> None:
        if self._running.get(workspace.name) is workspace:
            del self._running[workspace.name]
        workspace.closing.set()

    async def _reap(self) -> None:
        idle = self._settings.http_idle_timeout
        with self._reaper:
            while True:
                await anyio.sleep(max(0.2, min(5.0, idle / 4)))
                now = time.monotonic()
                for workspace in list(self._running.values()):
                    quiet = workspace.idle_for(now)
                    if quiet is not None and quiet >= idle:
                        logger.info("workspace %s idle for %.0fs; closing it", workspace.name, quiet)
                        self._close(workspace)

    async def _run(self, name: str, *, task_status: TaskStatus[Workspace]) -> None:
        settings = self._settings.for_workspace(name)
        config = ConfigStore(settings.config_dir, vault="detect" if name == DEFAULT_WORKSPACE else None)
        config.load()
        for warning in config.warnings:
            logger.warning("workspace %s: %s", name, warning)
        bus = InMemorySubscriptionBus()
        editors = WorkspaceEditors(bus)
        handlers = EditorHandlers(editors, ListenHandler(bus))
        server = build_server(handlers, editors, settings)
        sessions = StreamableHTTPSessionManager(
            server,
            session_idle_timeout=settings.http_idle_timeout,
            max_request_body_size=settings.http_max_body_bytes,
            max_sessions=settings.http_max_sessions,
        )
        editors.live_sessions = lambda: sessions._server_instances.keys()
        async with anyio.create_task_group() as tasks:
            if settings.state_dir is not None:
                audit = MeteredAuditLog.open(
                    settings.state_dir, include_arguments=settings.audit_arguments, workspace=name
                )
                audit.metrics, audit.workspace_name = self.metrics, name
                handlers.audit = audit
                tasks.start_soon(audit.flush_periodically)
            workspace: Workspace | None = None
            try:
                # Left in reverse: the sessions end first, then the registry stops its servers.
                async with open_registry(settings, self._catalog, config, editors) as registry, sessions.run():
                    handlers.registry = registry
                    workspace = Workspace(name, registry, editors, sessions)
                    logger.info("workspace %s open (config in %s)", name, settings.config_dir)
                    task_status.started(workspace)
                    await workspace.closing.wait()
            except Exception:
                if workspace is None:
                    raise  # the request that opened it gets the error
                # One workspace failing must not end the others: it is closed, and reopens on demand.
                logger.exception("workspace %s failed; closing it", name)
                self._close(workspace)
            if handlers.audit is not None:
                handlers.audit.close()
            tasks.cancel_scope.cancel()
        logger.info("workspace %s closed", name)

"""The registry service: one registry process's parts, put together, and its lifetime.

This is the behaviour behind the editor-facing tools, free of the MCP SDK so that it reads
(and tests) as plain async Python. The facade in `server/` turns its results into MCP.

`Registry` holds the parts, each with one job: `catalog` (lookups and search), `podman` (the
connection), `mounts` (add, restart, remove), `calls` (routing tool calls), `tasks` (background calls), `events` (what
children send on their own, and the editor's settings for them), `router` and `passthrough`
(tools, resources and prompts of the active mounts), `offload` (large results kept on disk). It adds only what spans them: `status`
and `config_set`.

Contract of `open_registry(settings, catalog, config, editor)`: an async context manager
owning the offload store (its directory goes when the context is left) and one task group:
the client manager, the Podman connection (with the orphan sweep), the autostart, one
supervisor per mount, and the background calls (`tasks`). Nothing in startup waits on Podman: search, list and
info work at once and without Podman. Leaving the context closes every child (stdin first,
every wait bounded) and confirms that its container is gone, all inside a shield so a
cancelled registry still cleans up.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from mcp_registry_server.catalog import Catalog
from mcp_registry_server.config import ConfigError, ConfigStore
from mcp_registry_server.config.changes import plan_changes
from mcp_registry_server.mcp_client import ClientManager
from mcp_registry_server.registry.access import consent_to_widen
from mcp_registry_server.registry.asks import ParkedRequests
from mcp_registry_server.registry.calls import CallRouter
from mcp_registry_server.registry.catalog_view import CatalogView
from mcp_registry_server.registry.child_events import ChildEvents
from mcp_registry_server.registry.editor_link import EditorLink
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.mounts import MountLifecycle
from mcp_registry_server.registry.offload import OffloadStore, open_offload_store
from mcp_registry_server.registry.passthrough import Passthrough
from mcp_registry_server.registry.podman_hosts import PodmanHosts
from mcp_registry_server.registry.podman_link import PodmanLink
from mcp_registry_server.registry.remotes import mount_location
from mcp_registry_server.registry.router import ActiveMount, ToolRouter
from mcp_registry_server.registry.tasks import BackgroundTasks
from mcp_registry_server.settings import RegistrySettings

__all__ = ["Registry", "open_registry"]


class Registry:
    """The parts of one registry process. Build it with `open_registry`."""

    def __init__(
        self,
        settings: RegistrySettings,
        catalog: Catalog,
        config: ConfigStore,
        clients: ClientManager,
        editor: EditorLink,
        tasks: TaskGroup,
        offload: OffloadStore,
        *,
        podman: PodmanLink | None = None,
    ) -> None:
        self.settings = settings
        self.offload = offload
        self.config = config
        self._editor = editor
        self.router = ToolRouter()
        self.parked = ParkedRequests(tasks, park_ttl=settings.call_timeout_bound)
        self.calls = CallRouter(self.router, settings, editor, self.parked)
        self.passthrough = Passthrough(self.router.mounts, self.calls, offload)
        self.tasks = BackgroundTasks(settings, self.router, self.calls, tasks)
        self.catalog = CatalogView(catalog, config, self.router)
        self.podman = PodmanHosts(settings, podman)  # `podman`: the default host's link
        self.events = ChildEvents(self.router, self.passthrough, editor)
        self.mounts = MountLifecycle(
            settings,
            config,
            self.catalog,
            self.router,
            self.passthrough,
            self.podman,
            clients,
            self.events,
            editor,
            tasks,
        )

    async def status(self) -> dict[str, Any]:
        return {
            "podman": await self.podman.status(),
            "instance": self.settings.instance_id,
            "pid": os.getpid(),
            "mounts": [
                {
                    "entry": mount.entry.id,
                    "prefix": prefix,
                    **mount_location(mount),
                    **({"image": mount.entry.image} if mount.entry.remote is None else {}),
                    "state": "failed" if mount.state == "running" and not mount.client.is_alive else mount.state,
                    "restarts": mount.restarts,
                    "uptime_seconds": round(mount.uptime_seconds, 1),
                    "tools": len(mount.tools),
                    "expose": mount.expose,
                    **self._tool_list_share(mount),
                    "calls_served": mount.calls_served,
                    "last_error": mount.last_error or _end_of(mount),
                }
                for prefix, mount in self.router.mounts.items()
            ],
            **({"autostart": self.mounts.autostart_status()} if self.settings.autostart else {}),
            "catalog": {
                "entries": len(self.catalog.catalog),
                "warnings": [str(w) for w in self.catalog.catalog.warnings],
            },
            "config": {"warnings": list(self._config_warnings())},
        }

    def _tool_list_share(self, mount: ActiveMount) -> dict[str, Any]:
        """How much of the editor's tools/list this mount makes up (its tokens: bytes/4, an estimate)."""
        routed = self.router.names_of(mount)
        names = set(routed)
        shown = [tool for tool in self.router.exposed_tools() if tool["name"] in names]
        size = len(json.dumps(shown, separators=(",", ":")))
        share: dict[str, Any] = {"tools_callable": len(routed), "tools_listed": len(shown)}
        share["tool_list_tokens_estimate"] = size // 4
        if filtered := self.router.filtered_out(mount):
            share["tools_filtered_out"] = filtered
        return share

    def _config_warnings(self) -> tuple[str, ...]:
        self.config.load()  # reads both small files, so a file broken since startup shows up
        return self.config.warnings

    async def config_set(self, entry_id: Any, values: Any) -> dict[str, Any]:
        """The model's `registry_config_set`: what would widen the server's reach needs the user's yes."""
        entry = self.catalog.entry(entry_id)
        if not isinstance(values, dict):
            raise RegistryError(f"values must be an object of NAME: value pairs, not {type(values).__name__}.")
        try:
            await consent_to_widen(self._editor, entry, plan_changes(entry, values))
            outcome = self.config.set_values(entry, values)
        except ConfigError as error:
            raise RegistryError(str(error)) from error
        running = self.catalog.active_prefix_of(entry.id)
        note = (
            f" {entry.id} is running as {running!r}: the new values apply the next time it is added "
            f"(registry_remove then registry_add)."
            if running
            else " They apply the next time it is added."
        )
        return {"entry": entry.id, "message": outcome.describe() + note}


def _end_of(mount: ActiveMount) -> str | None:
    """Why a mount's client ended, for status before its supervisor has said it; None while it runs."""
    if mount.client.is_alive:
        return None
    return mount.client.connection_failure or f"exited: {mount.client.stderr_tail(500)}"


@asynccontextmanager
async def open_registry(
    settings: RegistrySettings,
    catalog: Catalog,
    config: ConfigStore,
    editor: EditorLink,
    *,
    podman: PodmanLink | None = None,
) -> AsyncIterator[Registry]:
    """The registry, running until the context is left; `podman` replaces the Podman connection (tests)."""
    async with (
        open_offload_store(settings) as offload,
        ClientManager(close_timeout=3.0) as clients,
        anyio.create_task_group() as tasks,
    ):
        registry = Registry(settings, catalog, config, clients, editor, tasks, offload, podman=podman)
        tasks.start_soon(registry.podman.run)
        if settings.autostart:
            tasks.start_soon(registry.mounts.autostart)
        try:
            yield registry
        finally:
            registry.parked.cancel_all()
            registry.tasks.cancel_all()
            await registry.mounts.shutdown()
            tasks.cancel_scope.cancel()

"""The registry service: activate catalog entries in Podman, route calls to them, remove them.

This is the behaviour behind the editor-facing tools, free of the MCP SDK so that it reads
(and tests) as plain async Python. The facade in `server/` turns its results into MCP.

Contract:
- `open_registry(settings, catalog, ...)` is an async context manager owning one task group: the
  client manager, and a background task that connects to Podman (starting a private
  `podman system service` if needed) and then removes orphans of dead registries. Nothing in
  startup waits on Podman: search/list/info work at once and without Podman; `add` waits for
  the connection (bounded) and says how to fix Podman when it is missing.
- Every user-facing failure is a `RegistryError` whose message says what happened and what to
  do. Nothing else escapes `add`, `exec`, `remove`, `config_set`.
- `add` leaves nothing behind when it fails: the client is closed and the container removed.
- Leaving the context closes every child (stdin first, every wait bounded) and confirms that
  its container is gone, all inside a shield so a cancelled registry still cleans up.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup

from mcp_registry_server import __version__
from mcp_registry_server.catalog import Catalog, CatalogEntry, closest_ids, search
from mcp_registry_server.config_store import ConfigError, ConfigStore
from mcp_registry_server.mcp_client import (
    ClientManager,
    MCPClientError,
    MCPProcessExitedError,
    MCPRemoteError,
    MCPTimeoutError,
)
from mcp_registry_server.podman.api import PodmanAPI, open_podman_api
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.runner import PodmanRunner, PodmanStatus
from mcp_registry_server.router import ActiveMount, ToolRouter, check_prefix, default_prefix
from mcp_registry_server.settings import RegistrySettings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]
"""(progress, total, message) → forwarded to the editor when it gave a progressToken."""

PODMAN_CONNECT_TIMEOUT = 30.0
CLIENT_INFO = {"name": "mcp-registry", "version": __version__}


class RegistryError(Exception):
    """A failure to report to the user as is: what happened and what to do."""


@dataclass(frozen=True)
class CallOutcome:
    """A routed tool call: the child's result, untouched, or our own error text."""

    result: dict[str, Any]

    @classmethod
    def error(cls, text: str) -> CallOutcome:
        return cls({"content": [{"type": "text", "text": text}], "isError": True})


class Registry:
    """State and operations of one registry process. Build it with `open_registry`."""

    def __init__(
        self,
        settings: RegistrySettings,
        catalog: Catalog,
        config: ConfigStore,
        clients: ClientManager,
        on_tools_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.config = config
        self.router = ToolRouter()
        self._clients = clients
        self._on_tools_changed = on_tools_changed
        self._changes = anyio.Lock()
        self._podman_ready = anyio.Event()
        self._podman_api: PodmanAPI | None = None
        self._podman_error: PodmanError | None = None
        self._runner: PodmanRunner | None = None

    # -- catalog --------------------------------------------------------------------------

    def entry(self, entry_id: Any) -> CatalogEntry:
        if isinstance(entry_id, str) and entry_id in self.catalog:
            return self.catalog[entry_id]
        shown = repr(entry_id)[:80]
        suggestions = closest_ids(self.catalog, entry_id if isinstance(entry_id, str) else "")
        hint = f" Closest matches: {', '.join(suggestions)}." if suggestions else ""
        raise RegistryError(f"Unknown catalog entry {shown}.{hint} Use registry_search to find entries.")

    def active_prefix_of(self, entry_id: str) -> str | None:
        return next((p for p, m in self.router.mounts.items() if m.entry.id == entry_id), None)

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        hits = search(self.catalog, query, limit=max(1, min(limit, 100)))
        return [
            {
                "id": hit.entry.id,
                "name": hit.entry.name,
                "description": _one_line(hit.entry.description),
                "tools": [tool.name for tool in hit.entry.tools],
                "matched_tools": list(hit.matched_tools),
                "active": self.active_prefix_of(hit.entry.id) is not None,
            }
            for hit in hits
        ]

    def list_entries(self) -> list[dict[str, Any]]:
        return [
            {"id": entry.id, "name": entry.name, "active": self.active_prefix_of(entry.id) is not None}
            for entry in self.catalog.values()
        ]

    def info(self, entry_id: Any) -> dict[str, Any]:
        entry = self.entry(entry_id)
        return {
            "id": entry.id,
            "name": entry.name,
            "description": entry.description,
            "image": entry.image,
            "source": entry.source,
            "tags": list(entry.tags),
            "tools": [{"name": t.name, "description": t.description} for t in entry.tools],
            "env": [{"name": v.name, "description": v.description, "default": v.default} for v in entry.env],
            "secrets": [{"name": s.name, "description": s.description, "required": s.required} for s in entry.secrets],
            "volumes": [
                {"name": v.name, "target": v.target, "description": v.description, "read_only": v.read_only}
                for v in entry.volumes
            ],
            "network": entry.network,
            "configured": self.config.describe_entry_config(entry),
            "active_prefix": self.active_prefix_of(entry.id),
        }

    # -- podman ---------------------------------------------------------------------------

    async def _keep_podman_connected(self) -> None:
        """Connect once, publish the API, clean up orphans, and hold the connection open."""
        try:
            async with open_podman_api(self.settings) as api:
                self._podman_api = api
                self._runner = PodmanRunner(self.settings, api)
                self._podman_ready.set()
                try:
                    removed = await self._runner.remove_orphans()
                    if removed:
                        logger.info("removed %d orphaned container(s) of dead registries: %s", len(removed), removed)
                except PodmanError as error:
                    logger.warning("could not check for orphaned containers: %s", error)
                await anyio.sleep_forever()
        except PodmanError as error:
            self._podman_error = error
            logger.warning("Podman is not available: %s", error)
        finally:
            self._podman_ready.set()

    async def _podman(self) -> tuple[PodmanAPI, PodmanRunner]:
        with anyio.move_on_after(PODMAN_CONNECT_TIMEOUT):
            await self._podman_ready.wait()
        if self._podman_api is None or self._runner is None:
            reason = self._podman_error or f"no answer from the Podman API within {PODMAN_CONNECT_TIMEOUT:.0f} s"
            raise RegistryError(
                f"Podman is not available, so no server can be started.\n{reason}\n"
                "Search, list and info still work. Run `mcp-registry doctor` for a diagnosis."
            )
        return self._podman_api, self._runner

    async def podman_status(self) -> dict[str, Any]:
        if not self._podman_ready.is_set():
            return {"available": None, "detail": "connecting to Podman"}
        if self._runner is None:
            error = self._podman_error or PodmanError("the Podman API did not answer")
            return dataclasses.asdict(PodmanStatus.from_error(error))
        return dataclasses.asdict(await self._runner.podman_status())

    # -- add ------------------------------------------------------------------------------

    async def add(self, entry_id: Any, prefix: Any = None, progress: ProgressCallback | None = None) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if prefix is None:
            prefix = default_prefix(entry.id)
        problem = check_prefix(prefix)
        if problem:
            raise RegistryError(problem)
        async with self._changes:
            active = self.active_prefix_of(entry.id)
            if active is not None:
                mount = self.router.mounts[active]
                return {
                    "entry": entry.id,
                    "prefix": active,
                    "already_active": True,
                    "message": f"{entry.id} is already active as prefix {active!r}; nothing changed.",
                    "tools": self.router.names_of(mount),
                }
            if prefix in self.router.mounts:
                raise RegistryError(
                    f"Prefix {prefix!r} is already used by {self.router.mounts[prefix].entry.id}. "
                    "Pass another prefix or remove that server first."
                )
            resolved = self.config.resolved_values(entry)
            if resolved.missing_required:
                names = ", ".join(resolved.missing_required)
                raise RegistryError(
                    f"{entry.id} needs values for: {names}. Set them with "
                    f'registry_config_set("{entry.id}", {{"NAME": "value"}}), then add again.'
                )
            api, runner = await self._podman()
            await self._ensure_image(api, entry.image, progress)
            mount = await self._start_mount(runner, entry, prefix, resolved.container_env, resolved.enabled_volumes)
            names = self.router.add(mount)
        await self._on_tools_changed()
        return {"entry": entry.id, "prefix": prefix, "container": mount.container_name, "tools": names}

    async def _ensure_image(self, api: PodmanAPI, image: str, progress: ProgressCallback | None) -> None:
        try:
            if await api.image_exists(image):
                return
            if progress:
                await progress(0, None, f"pulling {image}")

            async def forward(completed: float | None, total: float | None, message: str) -> None:
                if progress:
                    await progress(completed or 0, total, message)

            await api.pull(image, on_progress=forward)
        except PodmanError as error:
            raise RegistryError(f"Image {image} is not available locally and could not be pulled: {error}") from error

    async def _start_mount(
        self,
        runner: PodmanRunner,
        entry: CatalogEntry,
        prefix: str,
        values: Mapping[str, str],
        enabled_volumes: Mapping[str, str],
    ) -> ActiveMount:
        try:
            container = await runner.start_interactive_container(
                entry, prefix=prefix, values=values, enabled_volumes=enabled_volumes
            )
        except (PodmanError, OSError, ValueError) as error:
            raise RegistryError(f"Could not start a container for {entry.id}: {error}") from error
        mount: ActiveMount | None = None
        try:
            client = await self._clients.start(
                prefix,
                container.process,
                name=prefix,
                default_timeout=self.settings.call_timeout,
                init_timeout=self.settings.init_timeout,
                on_notification=lambda method, params: self._on_child_notification(prefix, method, params),
            )
            mount = ActiveMount(entry=entry, prefix=prefix, container_name=container.name, client=client)
            await client.initialize(CLIENT_INFO, {}, timeout=self.settings.init_timeout)
            mount.tools = await client.list_tools(timeout=self.settings.init_timeout)
            return mount
        except (MCPClientError, OSError) as error:
            await self._discard(prefix, container.name)
            raise RegistryError(
                f"{entry.id} started but did not complete the MCP handshake: {error}. "
                "The container was removed. Check the entry's configuration (registry_info) and try again."
            ) from error
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._discard(prefix, container.name)
            raise

    async def _discard(self, prefix: str, container_name: str) -> bool:
        """Close a client and make sure its container is gone; True when confirmed."""
        with anyio.CancelScope(shield=True):
            await self._clients.stop(prefix)
            if self._runner is None:
                return False
            try:
                return await self._runner.ensure_gone(container_name, grace=self.settings.stop_grace)
            except PodmanError as error:
                logger.warning("could not confirm that %s is gone: %s", container_name, error)
                return False

    async def _on_child_notification(self, prefix: str, method: str, params: dict[str, Any] | None) -> None:
        mount = self.router.mounts.get(prefix)
        if mount is None:
            return
        if method == "notifications/tools/list_changed":
            try:
                tools = await mount.client.list_tools()
            except MCPClientError as error:
                mount.last_error = f"refreshing tools after list_changed failed: {error}"
                return
            self.router.replace_tools(mount, tools)
            await self._on_tools_changed()

    # -- exec -----------------------------------------------------------------------------

    async def exec(
        self, tool_name: Any, arguments: Any = None, progress: ProgressCallback | None = None
    ) -> CallOutcome:
        route = self.router.resolve(tool_name) if isinstance(tool_name, str) else None
        if route is None:
            return CallOutcome.error(self._unknown_tool_message(tool_name))
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return CallOutcome.error(f"arguments must be a JSON object, not {type(arguments).__name__}.")
        mount, child_tool = route
        on_progress = None
        if progress is not None:

            async def on_progress(params: dict[str, Any]) -> None:
                await progress(params.get("progress", 0), params.get("total"), params.get("message"))

        try:
            result = await mount.client.call_tool(child_tool, arguments, on_progress=on_progress)
        except MCPTimeoutError as error:
            mount.last_error = str(error)
            return CallOutcome.error(f"{tool_name} timed out: {error}. The server was told to cancel the call.")
        except MCPProcessExitedError as error:
            mount.state = "failed"
            mount.last_error = str(error)
            return CallOutcome.error(
                f"The {mount.entry.id} server (prefix {mount.prefix!r}) exited during {tool_name}: {error}. "
                f'Remove it with registry_remove("{mount.prefix}") and add it again.'
            )
        except MCPRemoteError as error:
            mount.last_error = str(error)
            return CallOutcome.error(f"{tool_name} failed in the server: {error}")
        except MCPClientError as error:
            mount.last_error = str(error)
            return CallOutcome.error(f"{tool_name} failed: {error}")
        mount.calls_served += 1
        return CallOutcome(result)

    def _unknown_tool_message(self, tool_name: Any) -> str:
        names = self.router.exposed_names()
        shown = repr(tool_name)[:80]
        if not names:
            return f"Unknown tool {shown}: no server is active. Activate one with registry_add (see registry_search)."
        listing = ", ".join(names[:200]) + (f" … and {len(names) - 200} more" if len(names) > 200 else "")
        return f"Unknown tool {shown}. Available tools: {listing}."

    # -- remove ---------------------------------------------------------------------------

    async def remove(self, target: Any) -> dict[str, Any]:
        async with self._changes:
            mount = self._find_mount(target)
            self.router.remove(mount.prefix)
            gone = await self._discard(mount.prefix, mount.container_name)
        await self._on_tools_changed()
        return {
            "entry": mount.entry.id,
            "prefix": mount.prefix,
            "container": mount.container_name,
            "container_removed": gone,
        }

    def _find_mount(self, target: Any) -> ActiveMount:
        if isinstance(target, str):
            if target in self.router.mounts:
                return self.router.mounts[target]
            prefix = self.active_prefix_of(target)
            if prefix is not None:
                return self.router.mounts[prefix]
        active = ", ".join(f"{p} ({m.entry.id})" for p, m in self.router.mounts.items()) or "none"
        raise RegistryError(f"Nothing active matches {repr(target)[:80]}. Active prefixes: {active}.")

    # -- status and config ----------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return {
            "podman": await self.podman_status(),
            "instance": self.settings.instance_id,
            "pid": os.getpid(),
            "mounts": [
                {
                    "entry": mount.entry.id,
                    "prefix": prefix,
                    "container": mount.container_name,
                    "image": mount.entry.image,
                    "state": "running" if mount.state == "running" and mount.client.is_alive else "failed",
                    "uptime_seconds": round(mount.uptime_seconds, 1),
                    "tools": len(mount.tools),
                    "calls_served": mount.calls_served,
                    "last_error": mount.last_error
                    or (None if mount.client.is_alive else f"exited: {mount.client.stderr_tail(500)}"),
                }
                for prefix, mount in self.router.mounts.items()
            ],
            "catalog": {"entries": len(self.catalog), "warnings": [str(w) for w in self.catalog.warnings]},
        }

    def config_set(self, entry_id: Any, values: Any) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if not isinstance(values, dict):
            raise RegistryError(f"values must be an object of NAME: value pairs, not {type(values).__name__}.")
        try:
            outcome = self.config.set_values(entry, values)
        except ConfigError as error:
            raise RegistryError(str(error)) from error
        running = self.active_prefix_of(entry.id)
        note = (
            f" {entry.id} is running as {running!r}: the new values apply the next time it is added "
            f"(registry_remove then registry_add)."
            if running
            else " They apply the next time it is added."
        )
        return {"entry": entry.id, "message": outcome.describe() + note}


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= 200 else first[:197] + "..."


@asynccontextmanager
async def open_registry(
    settings: RegistrySettings,
    catalog: Catalog,
    config: ConfigStore,
    on_tools_changed: Callable[[], Awaitable[None]],
) -> AsyncIterator[Registry]:
    async with ClientManager(close_timeout=3.0) as clients, anyio.create_task_group() as tasks:
        registry = Registry(settings, catalog, config, clients, on_tools_changed)
        tasks.start_soon(registry._keep_podman_connected)
        try:
            yield registry
        finally:
            with anyio.CancelScope(shield=True):
                await _shutdown(registry, tasks)


async def _shutdown(registry: Registry, tasks: TaskGroup) -> None:
    """Close every child and confirm its container is gone, all at once and bounded."""
    started = time.monotonic()
    with anyio.move_on_after(4.5):
        async with anyio.create_task_group() as closing:
            for prefix, mount in list(registry.router.mounts.items()):
                registry.router.remove(prefix)
                closing.start_soon(registry._discard, prefix, mount.container_name)
    logger.info("closed all servers in %.2f s", time.monotonic() - started)
    tasks.cancel_scope.cancel()

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
import shlex
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from mcp_registry_server import __version__
from mcp_registry_server.catalog import Catalog, CatalogEntry, closest_ids, search
from mcp_registry_server.config_store import ConfigError, ConfigStore
from mcp_registry_server.container_logs import ContainerLogWriter
from mcp_registry_server.mcp_client import (
    ClientManager,
    MCPClient,
    MCPClientError,
    MCPProcessExitedError,
    MCPRemoteError,
    MCPTimeoutError,
    RawJSON,
)
from mcp_registry_server.passthrough import Passthrough
from mcp_registry_server.podman.api import PodmanAPI, open_podman_api
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.runner import PodmanRunner, PodmanStatus
from mcp_registry_server.router import ActiveMount, ToolRouter, check_prefix, default_prefix
from mcp_registry_server.settings import RegistrySettings
from mcp_registry_server.supervisor import supervise_mount
from mcp_registry_server.tool_cache import ToolCache

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]
"""(progress, total, message) → forwarded to the editor when it gave a progressToken."""

PODMAN_CONNECT_TIMEOUT = 30.0
CLIENT_INFO = {"name": "mcp-registry", "version": __version__}


class RegistryError(Exception):
    """A failure to report to the user as is: what happened and what to do."""


class EditorLink(Protocol):
    """What the registry needs from the editor-facing side (implemented by `server.app`)."""

    def client_capabilities(self) -> dict[str, Any]:
        """The capabilities the editor declared (sampling, elicitation, roots), as wire JSON."""
        ...

    async def list_changed(self, kind: str) -> None:
        """Tell the editor that our `tools`, `resources` or `prompts` list changed."""
        ...

    async def resource_updated(self, uri: str) -> None: ...

    async def log(self, level: str, data: Any, logger_name: str) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Relay a server→client request to the editor; raise MCPRemoteError with its error."""
        ...


# Server→client requests a child may relay to the editor, and the capability each needs.
RELAYED_REQUESTS = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"}
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


@dataclass(frozen=True)
class CallOutcome:
    """A routed tool call: the child's result, untouched, or our own error text."""

    result: dict[str, Any] | RawJSON

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
        editor: EditorLink,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.config = config
        self.router = ToolRouter()
        self.passthrough = Passthrough(self.router.mounts)
        self._clients = clients
        self._editor = editor
        self._log_level: str | None = None
        self._autostarted = anyio.Event()
        self._logs: dict[str, ContainerLogWriter] = {}
        self._changes = anyio.Lock()
        self._podman_ready = anyio.Event()
        self._podman_api: PodmanAPI | None = None
        self._podman_error: PodmanError | None = None
        self._runner: PodmanRunner | None = None
        # The registry's task group (set by `open_registry`): it runs one supervisor per mount.
        self._tasks: TaskGroup | None = None
        self.tool_cache = ToolCache(settings.cache_dir / "tools") if settings.cache_dir else None

    # -- autostart ------------------------------------------------------------------------

    async def autostart(self) -> None:
        """Activate the entries named in settings.autostart, one after another; failures are logged."""
        try:
            for entry_id, prefix in self.settings.autostart:
                try:
                    await self.add(entry_id, prefix)
                except RegistryError as error:
                    logger.warning("autostart of %s failed: %s", entry_id, error)
        finally:
            self._autostarted.set()

    async def wait_for_autostart(self) -> None:
        """Let list requests see autostarted servers; bounded, and instant without autostart."""
        if self.settings.autostart and not self._autostarted.is_set():
            with anyio.move_on_after(self.settings.init_timeout):
                await self._autostarted.wait()

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
                    logger.info(
                        "orphan check done: removed %d container(s) of dead registries %s", len(removed), removed
                    )
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
            digest = await self._ensure_image(api, entry.image, progress)
            cache_key = None
            if self.tool_cache is not None and digest:
                cache_key = ToolCache.key(
                    image_digest=digest,
                    entry=entry.model_dump(mode="json"),
                    values=resolved.container_env,
                    volumes=resolved.enabled_volumes,
                    capabilities=self._editor.client_capabilities(),
                )
            mount = await self._start_mount(
                runner, entry, prefix, resolved.container_env, resolved.enabled_volumes, cache_key=cache_key
            )
            names = self.router.add(mount)
            if self._tasks is not None:
                self._tasks.start_soon(supervise_mount, mount, self._is_mounted, self._restart)
        await self._announce(mount)
        return {"entry": entry.id, "prefix": prefix, "container": mount.container_name, "tools": names}

    async def _ensure_image(self, api: PodmanAPI, image: str, progress: ProgressCallback | None) -> str | None:
        """Pulls `image` unless it is local; returns its digest (None if Podman cannot say)."""
        try:
            if digest := await api.image_digest(image):
                return digest
            if progress:
                await progress(0, None, f"pulling {image}")

            async def forward(completed: float | None, total: float | None, message: str) -> None:
                if progress:
                    await progress(completed or 0, total, message)

            await api.pull(image, on_progress=forward)
            return await api.image_digest(image)
        except PodmanUnavailable as error:
            raise RegistryError(f"Podman stopped answering, so no server can be started.\n{error}") from error
        except PodmanError as error:
            raise RegistryError(f"Image {image} is not available locally and could not be pulled: {error}") from error

    async def _start_mount(
        self,
        runner: PodmanRunner,
        entry: CatalogEntry,
        prefix: str,
        values: Mapping[str, str],
        enabled_volumes: Mapping[str, str],
        *,
        cache_key: str | None = None,
    ) -> ActiveMount:
        """Starts the container and its client. With the tools cached under `cache_key`, returns at once
        with those tools and finishes the handshake in the background (`_finish_handshake`); calls to
        the mount wait for it. Otherwise returns after the handshake, and caches the tools."""
        try:
            container = await runner.start_interactive_container(
                entry, prefix=prefix, values=values, enabled_volumes=enabled_volumes
            )
        except (PodmanError, OSError, ValueError) as error:
            raise RegistryError(f"Could not start a container for {entry.id}: {error}") from error
        mount: ActiveMount | None = None
        # The child's stderr, for `mcp-registry logs <prefix>` (containers run with --log-driver=none).
        self._logs[prefix] = log = ContainerLogWriter.open(container.name)
        log.write_line(f"[mcp-registry] started {entry.id} as {prefix}: {shlex.join(container.argv)}")
        try:
            client = await self._clients.start(
                prefix,
                container.process,
                name=prefix,
                default_timeout=self.settings.call_timeout,
                init_timeout=self.settings.init_timeout,
                on_notification=lambda method, params: self._on_child_notification(prefix, method, params),
                on_request=self._relay_child_request,
                on_stderr_line=log.write_line,
            )
            mount = ActiveMount(entry=entry, prefix=prefix, container_name=container.name, client=client)
            cached = self.tool_cache.get(cache_key) if self.tool_cache is not None and cache_key else None
            if cached is not None and self._tasks is not None:
                client.hold_until_initialized()
                mount.tools = cached
                self._tasks.start_soon(self._finish_handshake, mount, cache_key)
                return mount
            mount.tools = await self._handshake(client)
            if self.tool_cache is not None and cache_key:
                self.tool_cache.put(cache_key, mount.tools)
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

    async def _handshake(self, client: MCPClient) -> list[dict[str, Any]]:
        """initialize, tools/list and the editor's log level; returns the tools."""
        # Declare to the child only what the editor declared: it relays those requests.
        await client.initialize(CLIENT_INFO, self._editor.client_capabilities(), timeout=self.settings.init_timeout)
        tools = await client.list_tools(timeout=self.settings.init_timeout)
        if self._log_level and "logging" in client.server_capabilities:
            await client.request("logging/setLevel", {"level": self._log_level})
        return tools

    async def _finish_handshake(self, mount: ActiveMount, cache_key: str) -> None:
        """The background half of an add from the tool cache: handshake, then correct the tools.

        A live list that differs from the cached one replaces it (and the editor is told); a failed
        handshake marks the mount failed, removes its container, and fails the calls waiting on it.
        """
        client, cached = mount.client, mount.tools
        try:
            live = await self._handshake(client)
        except (MCPClientError, OSError) as error:
            if self._is_mounted(mount) and mount.client is client:
                mount.state = "failed"
                mount.last_error = (
                    f"{mount.entry.id} did not complete the MCP handshake: {error}. Its container was removed; "
                    f'check the configuration (registry_info), then registry_remove("{mount.prefix}") and add it again.'
                )
                await self._discard(mount.prefix, mount.container_name)
            return
        except Exception:
            logger.exception("finishing the handshake of %s failed", mount.prefix)
            return
        if self.tool_cache is not None:
            self.tool_cache.put(cache_key, live)
        if not (self._is_mounted(mount) and mount.client is client):
            return
        if live != cached:
            self.router.replace_tools(mount, live)
            await self._editor.list_changed("tools")

    def _is_mounted(self, mount: ActiveMount) -> bool:
        return self.router.mounts.get(mount.prefix) is mount

    async def _restart(self, mount: ActiveMount) -> bool:
        """Replace an exited mount's client and container in place; False if it was removed meanwhile."""
        async with self._changes:
            if not self._is_mounted(mount):
                return False
            await self._discard(mount.prefix, mount.container_name)
            resolved = self.config.resolved_values(mount.entry)
            if resolved.missing_required:
                raise RegistryError(f"{mount.entry.id} needs values for: {', '.join(resolved.missing_required)}.")
            _, runner = await self._podman()
            fresh = await self._start_mount(
                runner, mount.entry, mount.prefix, resolved.container_env, resolved.enabled_volumes
            )
            mount.client, mount.container_name, mount.started_at = fresh.client, fresh.container_name, fresh.started_at
            mount.state = "running"
            self.router.replace_tools(mount, fresh.tools)
            self.passthrough.invalidate(mount.prefix)
        await self._announce(mount)
        return True

    async def _discard(self, prefix: str, container_name: str) -> bool:
        """Close a client and make sure its container is gone; True when confirmed."""
        with anyio.CancelScope(shield=True):
            await self._clients.stop(prefix)
            if (log := self._logs.pop(prefix, None)) is not None:
                log.close()
            if self._runner is None:
                return False
            try:
                return await self._runner.ensure_gone(container_name, grace=self.settings.stop_grace)
            except PodmanError as error:
                logger.warning("could not confirm that %s is gone: %s", container_name, error)
                return False

    async def _announce(self, mount: ActiveMount) -> None:
        """Tell the editor that a mount's arrival or departure changed its lists.

        All three kinds: with the tools cached, the child's capabilities are not known yet here.
        """
        for kind in ("tools", "resources", "prompts"):
            await self._editor.list_changed(kind)

    async def _on_child_notification(self, prefix: str, method: str, params: dict[str, Any] | None) -> None:
        """Child → editor: refresh our tables first, then tell the editor."""
        mount = self.router.mounts.get(prefix)
        if mount is None:
            return
        params = params or {}
        match method:
            case "notifications/tools/list_changed":
                try:
                    tools = await mount.client.list_tools()
                except MCPClientError as error:
                    mount.last_error = f"refreshing tools after list_changed failed: {error}"
                    return
                self.router.replace_tools(mount, tools)
                await self._editor.list_changed("tools")
            case "notifications/resources/list_changed":
                self.passthrough.invalidate(prefix, "resources")
                self.passthrough.invalidate(prefix, "resourceTemplates")
                await self._editor.list_changed("resources")
            case "notifications/prompts/list_changed":
                self.passthrough.invalidate(prefix, "prompts")
                await self._editor.list_changed("prompts")
            case "notifications/resources/updated" if isinstance(params.get("uri"), str):
                await self._editor.resource_updated(self.passthrough.exposed_uri_of(prefix, params["uri"]))
            case "notifications/message":
                child_logger = params.get("logger")
                name = f"{prefix}/{child_logger}" if isinstance(child_logger, str) and child_logger else prefix
                level = params.get("level") if params.get("level") in LOG_LEVELS else "info"
                await self._editor.log(level, params.get("data"), name)

    async def _relay_child_request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Child → editor → child for sampling, elicitation and roots; anything else is refused."""
        capability = RELAYED_REQUESTS.get(method)
        if capability is None or capability not in self._editor.client_capabilities():
            raise MCPRemoteError(-32601, f"Method not found: {method} (the editor did not declare it)")
        return await self._editor.request(method, params)

    async def set_logging_level(self, level: str) -> None:
        """Editor's logging/setLevel: remembered for new mounts and sent to every mount that logs."""
        self._log_level = level

        async def send(mount: ActiveMount) -> None:
            try:
                await mount.client.request("logging/setLevel", {"level": level})
            except MCPClientError as error:
                mount.last_error = f"logging/setLevel failed: {error}"

        async with anyio.create_task_group() as tasks:
            for mount in list(self.router.mounts.values()):
                if mount.client.is_alive and "logging" in mount.client.server_capabilities:
                    tasks.start_soon(send, mount)

    async def roots_list_changed(self) -> None:
        """Editor's notifications/roots/list_changed, passed on to every mount."""
        if "roots" not in self._editor.client_capabilities():
            return
        for mount in list(self.router.mounts.values()):
            if mount.client.is_alive:
                try:
                    await mount.client.notify("notifications/roots/list_changed")
                except MCPClientError as error:
                    mount.last_error = f"roots/list_changed failed: {error}"

    # -- exec -----------------------------------------------------------------------------

    async def exec(
        self, tool_name: Any, arguments: Any = None, progress: ProgressCallback | None = None, *, raw: bool = False
    ) -> CallOutcome:
        """Routes a call to its mount. With `raw`, a large result may be `RawJSON` (the child's bytes)."""
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
            result = await mount.client.call_tool(
                child_tool, arguments, max_timeout=self.settings.call_timeout_bound, on_progress=on_progress, raw=raw
            )
        except MCPTimeoutError as error:
            mount.last_error = str(error)
            return CallOutcome.error(f"{tool_name} timed out: {error}. The server was told to cancel the call.")
        except MCPProcessExitedError as error:
            # The mount's supervisor marks it failed and restarts it if its entry says so.
            next_step = (
                "It is being restarted (its entry says restart = on-failure); try again in a moment."
                if mount.entry.restart == "on-failure" and mount.restarts < mount.entry.max_restarts
                else f'Remove it with registry_remove("{mount.prefix}") and add it again.'
            )
            return CallOutcome.error(
                f"The {mount.entry.id} server (prefix {mount.prefix!r}) exited during {tool_name}: {error}. {next_step}"
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
            self.passthrough.invalidate(mount.prefix)
            gone = await self._discard(mount.prefix, mount.container_name)
        await self._announce(mount)
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
                    "state": "failed" if mount.state == "running" and not mount.client.is_alive else mount.state,
                    "restarts": mount.restarts,
                    "uptime_seconds": round(mount.uptime_seconds, 1),
                    "tools": len(mount.tools),
                    "calls_served": mount.calls_served,
                    "last_error": mount.last_error
                    or (None if mount.client.is_alive else f"exited: {mount.client.stderr_tail(500)}"),
                }
                for prefix, mount in self.router.mounts.items()
            ],
            "catalog": {"entries": len(self.catalog), "warnings": [str(w) for w in self.catalog.warnings]},
            "config": {"warnings": list(self._config_warnings())},
        }

    def _config_warnings(self) -> tuple[str, ...]:
        self.config.load()  # reads both small files, so a file broken since startup shows up
        return self.config.warnings

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
    editor: EditorLink,
) -> AsyncIterator[Registry]:
    async with ClientManager(close_timeout=3.0) as clients, anyio.create_task_group() as tasks:
        registry = Registry(settings, catalog, config, clients, editor)
        registry._tasks = tasks
        tasks.start_soon(registry._keep_podman_connected)
        if settings.autostart:
            tasks.start_soon(registry.autostart)
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

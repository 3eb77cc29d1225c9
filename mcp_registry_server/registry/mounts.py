"""Mount lifecycle: activate a catalog entry in a container (or connect to its URL), keep it running, remove it.

Contract:
- `add(entry_id, prefix, expose=…)` starts the entry's container, handshakes with the server, lists
  its tools and puts the mount in the router, exposed "direct" (in tools/list) or "search" (found
  with registry_search; the default is the `expose` setting), with the entry's tool filter (the
  user's settings override it); the editor is then told that its lists changed. `prefix=""`
  mounts it unprefixed (the child's names unchanged, keyed by its default prefix); one whose
  names clash (`ToolRouter.conflict`) is refused and leaves nothing behind. With
  the tools cached from an earlier run of the same image and configuration (`ToolCache`), the
  mount is usable at once and the handshake finishes in the background; calls wait for it.
- A container runs on the entry's Podman host: `add(host=NAME)`, else the entry's `host`, else the
  default (`local`); only hosts the user configured (`podman_hosts`). Its image is pulled or built
  there, and its egress proxy runs there too.
- An entry with `allow_hosts` joins an internal network whose only way out is an egress proxy
  (`podman.egress`), shared by mounts with the same host set and removed with the last of them.
- The local image must match its pin in the image lock file (`config.image_lock`), when there is
  one: a mismatch refuses the add (and a restart) naming both ids; an entry not pinned is added
  with a `warning`.
- A failed add leaves nothing behind: the client is closed, the container removed, the proxy
  released.
- Each mount gets a supervisor task (`supervise_mount`) that marks it failed when its server
  exits and restarts it in place when its entry says `restart = "on-failure"`.
- `remove(target)` takes the mount out of the router, stops its client and confirms the
  container is gone. `shutdown()` does that for every mount at once, bounded and shielded.
- Changes (add, restart, remove) are serialised by one lock; calls never take it. A package
  entry's image is built before the add takes the lock.
- A remote entry (`remote`) mounts without Podman: the registry process connects to its URL
  (`mcp_client.HTTPTransport`, streamable HTTP or SSE) with its headers filled from the entry's
  secrets and env (`remotes.remote_headers`); the values are never logged nor shown, and status
  shows the URL without credentials or query (`remotes.mount_location`). Its traffic goes to the URL's origin
  only (the SDK follows no redirect elsewhere); `network` does not apply, and `allow_hosts`,
  when given, must name the URL's host:port. A failed connect leaves nothing behind; remove
  closes the session. Its supervisor also pings it (`remote_ping_interval`).
- Every user-facing failure is a `RegistryError` that says what happened and what to do.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from anyio.abc import Process, TaskGroup

from mcp_registry_server import __version__
from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.config.image_lock import ImageLock
from mcp_registry_server.config.resolve import ResolvedValues
from mcp_registry_server.container_logs import ContainerLogWriter
from mcp_registry_server.mcp_client import (
    ClientManager,
    HTTPTransport,
    MCPClient,
    MCPClientError,
    MCPConnectionError,
    MCPRemoteError,
)
from mcp_registry_server.podman.api import PodmanAPI
from mcp_registry_server.podman.command import EgressRoute, container_name
from mcp_registry_server.podman.egress import EgressProxies
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.runner import PodmanRunner
from mcp_registry_server.registry.catalog_view import CatalogView
from mcp_registry_server.registry.child_events import ChildEvents
from mcp_registry_server.registry.editor_link import EditorLink, ProgressCallback
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.images import EntryImages
from mcp_registry_server.registry.passthrough import Passthrough
from mcp_registry_server.registry.podman_hosts import PodmanHosts
from mcp_registry_server.registry.remote_records import RemoteRecord
from mcp_registry_server.registry.remotes import (
    allow_hosts_problem,
    mount_location,
    remote_headers,
    remote_rows,
    remote_urls,
)
from mcp_registry_server.registry.router import ActiveMount, Exposure, ToolRouter, check_prefix, default_prefix
from mcp_registry_server.registry.supervisor import supervise_mount
from mcp_registry_server.registry.tool_cache import ToolCache
from mcp_registry_server.settings import LOCAL_HOST, RegistrySettings

__all__ = ["CLIENT_INFO", "MountLifecycle"]

logger = logging.getLogger(__name__)

CLIENT_INFO = {"name": "mcp-registry", "version": __version__}
# How long shutdown waits for all children to close and their containers to go.
_SHUTDOWN_TIMEOUT = 4.5


class MountLifecycle:
    """Adds, restarts and removes mounts. See the module docstring."""

    def __init__(
        self,
        settings: RegistrySettings,
        config: ConfigStore,
        catalog: CatalogView,
        router: ToolRouter,
        passthrough: Passthrough,
        podman: PodmanHosts,
        clients: ClientManager,
        events: ChildEvents,
        editor: EditorLink,
        tasks: TaskGroup,
    ) -> None:
        self._settings = settings
        self._config = config
        self._catalog = catalog
        self._router = router
        self._passthrough = passthrough
        self._podman = podman
        self._clients = clients
        self._events = events
        self._editor = editor
        self._tasks = tasks  # runs one supervisor per mount and the background handshakes
        self._changes = anyio.Lock()
        self._logs: dict[str, ContainerLogWriter] = {}
        self._autostarted = anyio.Event()
        self.autostart_failures: dict[str, str] = {}
        """Autostarted entries that could not be added, by entry id: what went wrong."""
        self.tool_cache = ToolCache(settings.cache_dir / "tools") if settings.cache_dir else None
        self._egress = {host: EgressProxies(settings) for host in podman.links}  # a proxy runs beside its servers
        self._images = EntryImages(settings)
        self._remote_record = RemoteRecord(settings.runtime_dir, settings.instance_id, settings.hostname)

    # -- autostart ------------------------------------------------------------------------

    async def autostart(self) -> None:
        """Activate the entries named in settings.autostart, one after another; failures are logged."""
        try:
            for entry_id, prefix in self._settings.autostart:
                try:
                    await self.add(entry_id, prefix)
                except RegistryError as error:
                    logger.warning("autostart of %s failed: %s", entry_id, error)
                    self.autostart_failures[entry_id] = str(error)
        finally:
            self._autostarted.set()

    def autostart_status(self) -> dict[str, Any]:
        """What registry_status says about MCP_REGISTRY_AUTOSTART: pending, or which entries failed and why."""
        return {
            "entries": [entry_id for entry_id, _ in self._settings.autostart],
            "done": self._autostarted.is_set(),
            "failed": [
                {"entry": entry_id, "error": error}
                for entry_id, error in self.autostart_failures.items()
                if self._catalog.active_prefix_of(entry_id) is None  # a later add may have fixed it
            ],
        }

    async def wait_for_autostart(self) -> None:
        """Let requests see autostarted servers; bounded, and instant without autostart."""
        if self._settings.autostart and not self._autostarted.is_set():
            with anyio.move_on_after(self._settings.init_timeout):
                await self._autostarted.wait()

    # -- add ------------------------------------------------------------------------------

    async def add(
        self,
        entry_id: Any,
        prefix: Any = None,
        progress: ProgressCallback | None = None,
        expose: Exposure | None = None,
        host: Any = None,
    ) -> dict[str, Any]:
        entry = self._catalog.entry(entry_id)
        if (reason := entry.not_runnable_reason()) is not None:
            raise RegistryError(reason)
        asked_host, host = host, self._host_of(entry, host)
        expose = expose or self._settings.expose
        # prefix "": the server's names unchanged; its default prefix still keys the mount.
        unprefixed = prefix == ""
        if prefix is None or unprefixed:
            prefix = default_prefix(entry.id)
        problem = check_prefix(prefix)
        if problem:
            raise RegistryError(problem)
        if (already := self._already_active(entry, asked_host)) is not None:
            return already  # before a build that would be for nothing
        if (entry.package or entry.openapi) and not self._config.resolved_values(entry).missing_required:
            # A build may take minutes: done before the lock, so other adds and removes go on meanwhile
            # (the builder builds one package once however many ask); the add below finds it built.
            api, _ = await self._podman.link(host).connect()
            await self._images.ensure(entry, api, progress)
        async with self._changes:
            if (already := self._already_active(entry, asked_host)) is not None:
                return already
            if prefix in self._router.mounts:
                raise RegistryError(
                    f"Prefix {prefix!r} is already used by {self._router.mounts[prefix].entry.id}. "
                    "Pass another prefix or remove that server first."
                )
            resolved = self._config.resolved_values(entry)
            if resolved.missing_required:
                names = ", ".join(resolved.missing_required)
                oauth = f" {entry.oauth_note()}" if entry.oauth else ""
                raise RegistryError(
                    f"{entry.id} needs values for: {names}. Set them with "
                    f'registry_config_set("{entry.id}", {{"NAME": "value"}}), then add again.{oauth}'
                )
            entry = resolved.runnable(entry)  # its args with the parameters filled in
            lock_warning = None
            if entry.remote is not None:
                mount = await self._connect_remote(entry, prefix, resolved)
            else:
                mount, lock_warning = await self._start_container(entry, prefix, resolved, progress, host)
            mount.expose, mount.tool_filter, mount.unprefixed = expose, resolved.tool_filter, unprefixed
            if (conflict := self._router.conflict(mount)) is not None:
                await self.discard(prefix, mount.container_name, mount.host)
                await self._release_egress(prefix)
                raise RegistryError(conflict)
            shown = self._router.exposed_tools()
            routed = self._router.add(mount)
            if entry.remote is not None:
                self._publish_remotes()
            self._tasks.start_soon(self._supervise, mount)
        await self._announce(tools=self._router.exposed_tools() is not shown)
        added = {"entry": entry.id, "prefix": prefix, **mount_location(mount), "tools": routed}
        if unprefixed:
            added["unprefixed"] = True
        if lock_warning:
            added["warning"] = lock_warning
        if filtered := self._router.filtered_out(mount):
            added["filtered_out"] = filtered
        if expose == "search":
            added["expose"] = "search"
            added["message"] = (
                f"{entry.id}'s tools are not in the tool list (expose = search): find them with "
                "registry_search(kind='tools') and call them with registry_exec."
            )
        return added

    def _already_active(self, entry: CatalogEntry, asked_host: Any) -> dict[str, Any] | None:
        """The answer to adding an active entry again: nothing changes, unless it asks for another host."""
        active = self._catalog.active_prefix_of(entry.id)
        if active is None:
            return None
        mount = self._router.mounts[active]
        if asked_host and asked_host != mount.host:
            raise RegistryError(
                f"{entry.id} is already active as prefix {active!r} on the Podman host {mount.host!r}. "
                f'To run it on {asked_host!r}, remove it first (registry_remove("{active}")), then add it again.'
            )
        return {
            "entry": entry.id,
            "prefix": active,
            **mount_location(mount),
            "already_active": True,
            "message": f"{entry.id} is already active as prefix {active!r}; nothing changed.",
            "tools": self._router.names_of(mount),
        }

    def _host_of(self, entry: CatalogEntry, asked: Any) -> str:
        """The configured Podman host an add runs on (see the module docstring)."""
        if asked is not None and not isinstance(asked, str):
            raise RegistryError(f"host must be the name of a Podman host, not {type(asked).__name__}.")
        if asked and entry.remote is not None:
            raise RegistryError(
                f"{entry.id} is a remote server the registry reaches at its URL; it runs on no Podman host, "
                "so add it without host."
            )
        host = asked or entry.host or LOCAL_HOST
        self._podman.link(host)  # an unknown name is refused, naming the configured ones
        return host

    async def _start_container(
        self,
        entry: CatalogEntry,
        prefix: str,
        resolved: ResolvedValues,
        progress: ProgressCallback | None,
        host: str,
    ) -> tuple[ActiveMount, str | None]:
        """The image, its pin check, the egress proxy, the container and its client; and a pin warning."""
        api, runner = await self._podman.link(host).connect()
        entry, digest = await self._images.ensure(entry, api, progress)
        lock_warning = self._check_pin(entry, digest)
        cache_key = None
        if self.tool_cache is not None and digest:
            cache_key = ToolCache.key(
                image_digest=digest,
                entry=entry.model_dump(mode="json"),
                values=resolved.container_env,
                volumes=resolved.enabled_volumes,
                capabilities=self._editor.client_capabilities(),
            )
        try:
            egress = await self._egress_route(api, runner, entry, prefix, progress, host)
            mount = await self._start_mount(
                runner,
                entry,
                prefix,
                resolved.container_env,
                resolved.enabled_volumes,
                cache_key=cache_key,
                egress=egress,
                host=host,
            )
        except BaseException:
            await self._release_egress(prefix)
            raise
        return mount, lock_warning

    async def _connect_remote(self, entry: CatalogEntry, prefix: str, resolved: ResolvedValues) -> ActiveMount:
        """Connects to a remote entry's URL and handshakes; on failure nothing is left open."""
        assert entry.remote is not None
        url, where = remote_urls(entry, resolved)
        # The mount keeps the URL that may be shown; only the transport holds the one with secrets.
        entry = entry.model_copy(update={"remote": entry.remote.model_copy(update={"url": where})})
        assert entry.remote is not None
        if problem := allow_hosts_problem(entry):
            raise RegistryError(problem)
        transport = HTTPTransport(
            url,
            kind=entry.remote.transport,
            headers=remote_headers(entry, resolved),
            max_message_bytes=self._settings.max_message_bytes,
            shown_url=where,
        )
        # What `mcp-registry logs <prefix>` shows for it: connections and their end, never a header.
        self._logs[prefix] = log = ContainerLogWriter.open(container_name(prefix))
        log.write_line(f"[mcp-registry] connecting {entry.id} as {prefix} to {where} ({entry.remote.transport})")
        try:
            client = await self._start_client(prefix, transport)
            mount = ActiveMount(entry=entry, prefix=prefix, container_name="", client=client)
            mount.tools = await self._handshake(client)
        except (MCPClientError, OSError) as error:
            reason = error.failure if isinstance(error, MCPConnectionError) else str(error)
            log.write_line(f"[mcp-registry] could not connect: {reason}")
            await self.discard(prefix, "", LOCAL_HOST)
            oauth = f" {entry.oauth_note()}" if entry.oauth else ""
            raise RegistryError(
                f"Could not connect {entry.id} to its remote server at {where}: {reason}{oauth} "
                "Nothing was left running; fix the URL or the entry's secrets (registry_info) and add it again."
            ) from error
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.discard(prefix, "", LOCAL_HOST)
            raise
        log.write_line(f"[mcp-registry] connected to {where}: {len(mount.tools)} tools")
        return mount

    async def _supervise(self, mount: ActiveMount) -> None:
        """The supervisor of one mount; a remote one is also pinged (its connection can die quietly)."""
        interval = self._settings.remote_ping_interval if mount.entry.remote is not None else None
        await supervise_mount(mount, self.is_mounted, self._restart, ping_interval=interval, on_end=self._log_end)

    def _log_end(self, mount: ActiveMount, reason: str) -> None:
        if (log := self._logs.get(mount.prefix)) is not None:
            log.write_line(f"[mcp-registry] {reason}")
        if mount.entry.remote is not None:
            self._publish_remotes()

    def _publish_remotes(self) -> None:
        """Rewrite the record `mcp-registry ps` reads the remote mounts from (`remote_records`)."""
        self._remote_record.publish(remote_rows(self._router.mounts.values()))

    def _check_pin(self, entry: CatalogEntry, local_id: str | None) -> str | None:
        """Refuse an image that differs from its pin (RegistryError); the warning for an unpinned one."""
        try:
            verdict = ImageLock.load(self._settings.config_dir).verdict(entry.id, entry.image, local_id)
        except ValueError as error:
            raise RegistryError(f"{entry.id} was not started: {error}") from error
        if verdict.refusal:
            raise RegistryError(verdict.refusal)
        return verdict.warning

    async def _egress_route(
        self,
        api: PodmanAPI,
        runner: PodmanRunner,
        entry: CatalogEntry,
        prefix: str,
        progress: ProgressCallback | None,
        host: str,
    ) -> EgressRoute | None:
        """The proxy route of an entry with allow_hosts (started on `host` unless one serves the same hosts)."""
        if not entry.allow_hosts:
            return None
        await self._images.pull(api, self._settings.proxy_image, progress)
        try:
            return await self._egress[host].acquire(runner, prefix, entry.allow_hosts)
        except PodmanError as error:
            raise RegistryError(
                f"Could not start the egress proxy {entry.id} needs (allow_hosts {entry.allow_hosts}): {error}\n"
                f"{error.detail}".rstrip()
                + f"\nThe proxy runs {self._settings.proxy_image} (MCP_REGISTRY_PROXY_IMAGE) on the network "
                f"{self._settings.egress_network!r} (MCP_REGISTRY_EGRESS_NETWORK)."
            ) from error

    async def _start_mount(
        self,
        runner: PodmanRunner,
        entry: CatalogEntry,
        prefix: str,
        values: Mapping[str, str],
        enabled_volumes: Mapping[str, str],
        *,
        cache_key: str | None = None,
        egress: EgressRoute | None = None,
        host: str = LOCAL_HOST,
    ) -> ActiveMount:
        """Starts the container and its client. With the tools cached under `cache_key`, returns at once
        with those tools and finishes the handshake in the background (`_finish_handshake`); calls to
        the mount wait for it. Otherwise returns after the handshake, and caches the tools."""
        try:
            container = await runner.start_interactive_container(
                entry, prefix=prefix, values=values, enabled_volumes=enabled_volumes, egress=egress
            )
        except (PodmanError, OSError, ValueError) as error:
            where = f" on the Podman host {host!r}" if host != LOCAL_HOST else ""
            raise RegistryError(f"Could not start a container for {entry.id}{where}: {error}") from error
        # The child's stderr, for `mcp-registry logs <prefix>` (containers run with --log-driver=none).
        self._logs[prefix] = log = ContainerLogWriter.open(container.name)
        log.write_line(f"[mcp-registry] started {entry.id} as {prefix}: {shlex.join(container.argv)}")
        try:
            client = await self._start_client(prefix, container.process, on_stderr_line=log.write_line)
            mount = ActiveMount(entry=entry, prefix=prefix, container_name=container.name, client=client, host=host)
            cached = self.tool_cache.get(cache_key) if self.tool_cache is not None and cache_key else None
            if cached is not None and cache_key is not None:
                client.hold_until_initialized()
                mount.tools = cached
                self._tasks.start_soon(self._finish_handshake, mount, cache_key)
                return mount
            mount.tools = await self._handshake(client)
            if self.tool_cache is not None and cache_key:
                self.tool_cache.put(cache_key, mount.tools)
            return mount
        except (MCPClientError, OSError) as error:
            await self.discard(prefix, container.name, host)
            raise RegistryError(
                f"{entry.id} started but did not complete the MCP handshake: {error}. "
                "The container was removed. Check the entry's configuration (registry_info) and try again."
            ) from error
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.discard(prefix, container.name, host)
            raise

    async def _start_client(
        self, prefix: str, source: Process | HTTPTransport, *, on_stderr_line: Callable[[str], None] | None = None
    ) -> MCPClient:
        """A client for a container's process or a remote server's transport, its events relayed for `prefix`."""
        return await self._clients.start(
            prefix,
            source,
            name=prefix,
            default_timeout=self._settings.call_timeout,
            init_timeout=self._settings.init_timeout,
            max_message_bytes=self._settings.max_message_bytes,
            on_notification=lambda method, params: self._events.on_notification(prefix, method, params),
            on_request=lambda method, params: self._events.on_request(prefix, method, params),
            on_stderr_line=on_stderr_line,
        )

    async def _handshake(self, client: MCPClient) -> list[dict[str, Any]]:
        """initialize, tools/list and the editor's log level; returns the tools."""
        # Declare to the child only what the editor declared: it relays those requests.
        timeout = self._settings.init_timeout
        await client.initialize(CLIENT_INFO, self._editor.client_capabilities(), timeout=timeout)
        tools = await client.list_tools(timeout=timeout)
        if self._events.log_level and "logging" in client.server_capabilities:
            try:
                await client.request("logging/setLevel", {"level": self._events.log_level})
            except MCPRemoteError as error:
                # A server may refuse a log level (nothing in the protocol forbids it): it still serves.
                logger.info(
                    "%s refused logging/setLevel %r (%s); carrying on", client.name, self._events.log_level, error
                )
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
            if self.is_mounted(mount) and mount.client is client:
                mount.state = "failed"
                mount.last_error = (
                    f"{mount.entry.id} did not complete the MCP handshake: {error}. Its container was removed; "
                    f'check the configuration (registry_info), then registry_remove("{mount.prefix}") and add it again.'
                )
                await self.discard(mount.prefix, mount.container_name, mount.host)
            return
        except Exception:
            logger.exception("finishing the handshake of %s failed", mount.prefix)
            return
        if self.tool_cache is not None:
            self.tool_cache.put(cache_key, live)
        if not (self.is_mounted(mount) and mount.client is client):
            return
        if live != cached:
            shown = self._router.exposed_tools()
            self._router.replace_tools(mount, live)
            if self._router.exposed_tools() is not shown:
                await self._editor.list_changed("tools")

    def is_mounted(self, mount: ActiveMount) -> bool:
        return self._router.mounts.get(mount.prefix) is mount

    # -- restart and remove ---------------------------------------------------------------

    async def _restart(self, mount: ActiveMount) -> bool:
        """Replace an exited mount's client and container (or connection) in place; False if it was removed meanwhile."""
        async with self._changes:
            if not self.is_mounted(mount):
                return False
            await self.discard(mount.prefix, mount.container_name, mount.host)
            entry = self._catalog.entry(mount.entry.id)  # its templates, not the args filled in last time
            resolved = self._config.resolved_values(entry)
            if resolved.missing_required:
                raise RegistryError(f"{entry.id} needs values for: {', '.join(resolved.missing_required)}.")
            if entry.remote is not None:
                fresh = await self._connect_remote(entry, mount.prefix, resolved)
            else:
                fresh = await self._start_container_again(mount, entry, resolved)
            mount.client, mount.container_name, mount.started_at = fresh.client, fresh.container_name, fresh.started_at
            mount.state, mount.tool_filter = "running", resolved.tool_filter
            shown = self._router.exposed_tools()
            self._router.replace_tools(mount, fresh.tools)
            self._passthrough.invalidate(mount.prefix)
            if entry.remote is not None:
                self._publish_remotes()
        await self._announce(tools=self._router.exposed_tools() is not shown)
        return True

    async def _start_container_again(
        self, mount: ActiveMount, entry: CatalogEntry, resolved: ResolvedValues
    ) -> ActiveMount:
        """A fresh container and client for an exited mount, on its host (its image checked against the pin again)."""
        api, runner = await self._podman.link(mount.host).connect()
        runnable, digest = await self._images.ensure(resolved.runnable(entry), api, None)
        self._check_pin(runnable, digest)
        return await self._start_mount(
            runner,
            runnable,
            mount.prefix,
            resolved.container_env,
            resolved.enabled_volumes,
            egress=await self._egress_route(api, runner, entry, mount.prefix, None, mount.host),
            host=mount.host,
        )

    async def discard(self, prefix: str, container_name: str, host: str) -> bool:
        """Close a client and make sure its container (on `host`) is gone; True when confirmed."""
        with anyio.CancelScope(shield=True):
            await self._clients.stop(prefix)
            if (log := self._logs.pop(prefix, None)) is not None:
                log.close()
            if not container_name:
                return True  # a remote mount: closing its client closed the connection
            runner = self._podman.link(host).runner
            if runner is None:
                return False
            try:
                return await runner.ensure_gone(container_name, grace=self._settings.stop_grace)
            except PodmanError as error:
                logger.warning("could not confirm that %s is gone: %s", container_name, error)
        return False

    async def _release_egress(self, prefix: str) -> None:
        """`prefix` no longer needs its egress proxy, on whichever host it ran (a prefix holds at most one)."""
        for proxies in self._egress.values():
            await proxies.release(prefix)

    async def _announce(self, *, tools: bool) -> None:
        """Tell the editor that a mount's arrival or departure changed its lists.

        Resources and prompts always: with the tools cached, the child's capabilities are not known
        yet here. Tools when tools/list changed (a "search" mount leaves it as it was).
        """
        for kind in ("tools", "resources", "prompts") if tools else ("resources", "prompts"):
            await self._editor.list_changed(kind)

    async def remove(self, target: Any) -> dict[str, Any]:
        async with self._changes:
            mount = self._find_mount(target)
            shown = self._router.exposed_tools()
            self._router.remove(mount.prefix)
            self._passthrough.invalidate(mount.prefix)
            if mount.entry.remote is not None:
                self._publish_remotes()
            gone = await self.discard(mount.prefix, mount.container_name, mount.host)
            await self._release_egress(mount.prefix)
        await self._announce(tools=self._router.exposed_tools() is not shown)
        if mount.entry.remote is not None:
            return {"entry": mount.entry.id, "prefix": mount.prefix, **mount_location(mount), "disconnected": True}
        return {
            "entry": mount.entry.id,
            "prefix": mount.prefix,
            "container": mount.container_name,
            "container_removed": gone,
        }

    def _find_mount(self, target: Any) -> ActiveMount:
        if isinstance(target, str):
            if target in self._router.mounts:
                return self._router.mounts[target]
            prefix = self._catalog.active_prefix_of(target)
            if prefix is not None:
                return self._router.mounts[prefix]
        active = ", ".join(f"{p} ({m.entry.id})" for p, m in self._router.mounts.items()) or "none"
        raise RegistryError(f"Nothing active matches {repr(target)[:80]}. Active prefixes: {active}.")

    async def shutdown(self) -> None:
        """Close every child and confirm its container is gone, all at once and bounded."""
        started = time.monotonic()
        with anyio.CancelScope(shield=True), anyio.move_on_after(_SHUTDOWN_TIMEOUT):
            async with anyio.create_task_group() as closing:
                for prefix, mount in list(self._router.mounts.items()):
                    self._router.remove(prefix)
                    closing.start_soon(self.discard, prefix, mount.container_name, mount.host)
                self._publish_remotes()
            for proxies in self._egress.values():
                await proxies.release_all()
        logger.info("closed all servers in %.2f s", time.monotonic() - started)

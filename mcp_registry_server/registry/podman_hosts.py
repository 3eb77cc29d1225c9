"""The Podman hosts a registry runs servers on: the default one (`local`) and the named ones configured.

Contract: `PodmanHosts(settings, default)` holds one `PodmanLink` per host: `local` (the default
host, `default` or a fresh link), and one per name in `settings.podman_hosts`
(MCP_REGISTRY_PODMAN_HOSTS, named `podman system connection`s). `run()` runs every link for the
registry's life, so each connects in the background, sweeps the orphans of dead registries on its
host once, and connects again when asked; a host that cannot be reached fails on its own and the
others keep working. `link(name)` is the link of a configured host, and a `RegistryError` listing
the configured names for any other: the model may pick among the hosts the user configured, never
add one. `status()` is the default host's status, with the named hosts' under `hosts`.
"""

from __future__ import annotations

from typing import Any, Protocol

import anyio

from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.podman_link import PodmanLink
from mcp_registry_server.settings import LOCAL_HOST, RegistrySettings

__all__ = ["PodmanHosts"]


class HostLink(Protocol):
    """What the registry needs of a host's link (`PodmanLink`, or a test's fake)."""

    runner: Any

    async def run(self) -> None: ...
    async def connect(self) -> tuple[Any, Any]: ...
    async def status(self) -> dict[str, Any]: ...


class PodmanHosts:
    """Every configured Podman host's link. See the module docstring."""

    def __init__(self, settings: RegistrySettings, default: HostLink | None = None) -> None:
        self.links: dict[str, HostLink] = {LOCAL_HOST: default or PodmanLink(settings)}
        for name in settings.podman_hosts:
            self.links[name] = PodmanLink(settings, name)

    @property
    def default(self) -> HostLink:
        return self.links[LOCAL_HOST]

    async def run(self) -> None:
        async with anyio.create_task_group() as links:
            for link in self.links.values():
                links.start_soon(link.run)

    def link(self, name: str) -> HostLink:
        if (link := self.links.get(name)) is None:
            raise RegistryError(
                f"There is no Podman host named {name[:80]!r}. Configured: {', '.join(self.links)} "
                f"({LOCAL_HOST!r} is the default; more are named in MCP_REGISTRY_PODMAN_HOSTS by the user)."
            )
        return link

    async def status(self) -> dict[str, Any]:
        default = await self.default.status()
        if len(self.links) == 1:
            return default
        others = {name: await link.status() for name, link in self.links.items() if name != LOCAL_HOST}
        return {**default, "hosts": others}

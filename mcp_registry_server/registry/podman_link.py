"""The registry's connection to Podman: made in the background, waited for when needed, made again when lost.

`PodmanLink.run()` runs for the registry's life in its task group: it opens the Podman API
(starting a private `podman system service` when no socket answers), removes orphaned
containers of dead registries (once), and holds the connection open. Nothing waits on it at
startup: catalog operations work without Podman. `connect()` waits (bounded) for the connection,
checks that it still answers, and raises a `RegistryError` that says how to fix Podman when there
is none. A connection that stopped answering (the Podman socket went away, or the private
service died) or an attempt that failed is not final: `connect()` has `run()` close it and connect
again, from socket discovery on, and waits for that attempt, so Podman coming back (or a fresh
private service) is picked up at the next need without restarting the registry.

One link reaches one host: the default one (`connection` None), or a named `podman system
connection` (see `podman_hosts`, which holds one link per configured host).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import anyio

from mcp_registry_server.podman.api import PodmanAPI, open_podman_api
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.runner import PodmanRunner, PodmanStatus
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.settings import LOCAL_HOST, RegistrySettings

__all__ = ["PODMAN_CONNECT_TIMEOUT", "PodmanLink"]

logger = logging.getLogger(__name__)

PODMAN_CONNECT_TIMEOUT = 30.0


class PodmanLink:
    """The Podman API and runner, once connected. See the module docstring."""

    def __init__(self, settings: RegistrySettings, connection: str | None = None) -> None:
        self._settings = settings
        self._connection = connection
        self.name = connection or LOCAL_HOST
        self.api: PodmanAPI | None = None
        self.runner: PodmanRunner | None = None
        self._error: PodmanError | None = None
        # Set once the current attempt has connected or failed; replaced when a new one is asked for.
        self._settled = anyio.Event()
        # Set to make `run()` drop the connection it holds (or its failure) and connect again.
        self._reconnect = anyio.Event()

    async def run(self) -> None:
        """Connect, publish the API, clean up orphans once, hold the connection; connect again when asked."""
        orphans_checked = False
        while True:
            self._reconnect = anyio.Event()
            try:
                async with open_podman_api(self._settings, connection=self._connection) as api:
                    self.api, self.runner, self._error = api, PodmanRunner(self._settings, api), None
                    self._settled.set()
                    if not orphans_checked:
                        orphans_checked = True
                        await self._remove_orphans(self.runner)
                    await self._reconnect.wait()
                    logger.warning("The Podman API at %s stopped answering; connecting again", api.endpoint.url)
            except PodmanError as error:
                self._error = error
                logger.warning("Podman (host %s) is not available: %s", self.name, error)
                self._settled.set()
                await self._reconnect.wait()
            self.api = self.runner = None

    async def _remove_orphans(self, runner: PodmanRunner) -> None:
        try:
            removed = await runner.remove_orphans()
            logger.info("orphan check done: removed %d container(s) of dead registries %s", len(removed), removed)
        except PodmanError as error:
            logger.warning("could not check for orphaned containers: %s", error)

    async def connect(self) -> tuple[PodmanAPI, PodmanRunner]:
        with anyio.move_on_after(PODMAN_CONNECT_TIMEOUT):
            await self._settled.wait()
            if self.api is None or not await self.api.answers():
                self._ask_to_reconnect()
                await self._settled.wait()
        if self.api is None or self.runner is None:
            reason = self._error or f"no answer from the Podman API within {PODMAN_CONNECT_TIMEOUT:.0f} s"
            if self._connection is not None:
                raise RegistryError(
                    f"The Podman host {self.name!r} is not available, so no server can be started there.\n{reason}\n"
                    "Servers on other hosts keep working. Run `mcp-registry doctor` for a diagnosis."
                )
            raise RegistryError(
                f"Podman is not available, so no server can be started.\n{reason}\n"
                "Search, list and info still work. Run `mcp-registry doctor` for a diagnosis."
            )
        return self.api, self.runner

    def _ask_to_reconnect(self) -> None:
        if not self._reconnect.is_set():  # Callers that find it dead meanwhile wait for the same attempt.
            self._settled = anyio.Event()
            self._reconnect.set()

    async def status(self) -> dict[str, Any]:
        if not self._settled.is_set():
            return {"available": None, "detail": "connecting to Podman"}
        if self.runner is None:
            error = self._error or PodmanError("the Podman API did not answer")
            return dataclasses.asdict(PodmanStatus.from_error(error))
        return dataclasses.asdict(await self.runner.podman_status())

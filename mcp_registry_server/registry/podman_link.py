"""The registry's connection to Podman: made once in the background, waited for when needed.

`PodmanLink.run()` runs for the registry's life in its task group: it opens the Podman API
(starting a private `podman system service` when no socket answers), removes orphaned
containers of dead registries, and holds the connection open. Nothing waits on it at startup:
catalog operations work without Podman. `connect()` waits (bounded) for the connection and
raises a `RegistryError` that says how to fix Podman when there is none.
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
from mcp_registry_server.settings import RegistrySettings

__all__ = ["PODMAN_CONNECT_TIMEOUT", "PodmanLink"]

logger = logging.getLogger(__name__)

PODMAN_CONNECT_TIMEOUT = 30.0


class PodmanLink:
    """The Podman API and runner, once connected. See the module docstring."""

    def __init__(self, settings: RegistrySettings) -> None:
        self._settings = settings
        self._ready = anyio.Event()
        self.api: PodmanAPI | None = None
        self.runner: PodmanRunner | None = None
        self._error: PodmanError | None = None

    async def run(self) -> None:
        """Connect once, publish the API, clean up orphans, and hold the connection open."""
        try:
            async with open_podman_api(self._settings) as api:
                self.api = api
                self.runner = PodmanRunner(self._settings, api)
                self._ready.set()
                try:
                    removed = await self.runner.remove_orphans()
                    logger.info(
                        "orphan check done: removed %d container(s) of dead registries %s", len(removed), removed
                    )
                except PodmanError as error:
                    logger.warning("could not check for orphaned containers: %s", error)
                await anyio.sleep_forever()
        except PodmanError as error:
            self._error = error
            logger.warning("Podman is not available: %s", error)
        finally:
            self._ready.set()

    async def connect(self) -> tuple[PodmanAPI, PodmanRunner]:
        with anyio.move_on_after(PODMAN_CONNECT_TIMEOUT):
            await self._ready.wait()
        if self.api is None or self.runner is None:
            reason = self._error or f"no answer from the Podman API within {PODMAN_CONNECT_TIMEOUT:.0f} s"
            raise RegistryError(
                f"Podman is not available, so no server can be started.\n{reason}\n"
                "Search, list and info still work. Run `mcp-registry doctor` for a diagnosis."
            )
        return self.api, self.runner

    async def status(self) -> dict[str, Any]:
        if not self._ready.is_set():
            return {"available": None, "detail": "connecting to Podman"}
        if self.runner is None:
            error = self._error or PodmanError("the Podman API did not answer")
            return dataclasses.asdict(PodmanStatus.from_error(error))
        return dataclasses.asdict(await self.runner.podman_status())

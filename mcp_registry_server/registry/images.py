"""The image an entry runs: pulled when it names one, built from its package when it names a package.

An openapi entry runs the OpenAPI runtime image (`openapi_server.runtime_entry`).

`EntryImages.ensure(entry, api, progress)` returns the entry with the image it will run filled in,
and that image's local id (None when Podman cannot say). Pull and build failures are
`RegistryError`s that say what to do.
"""

from __future__ import annotations

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.openapi_server import missing_document, runtime_entry
from mcp_registry_server.podman.api import PodmanAPI
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.registry.editor_link import ProgressCallback
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.settings import RegistrySettings

__all__ = ["EntryImages"]


class EntryImages:
    """Makes an entry's image available locally. See the module docstring."""

    def __init__(self, settings: RegistrySettings) -> None:
        self._settings = settings

    async def ensure(
        self, entry: CatalogEntry, api: PodmanAPI, progress: ProgressCallback | None
    ) -> tuple[CatalogEntry, str | None]:
        if entry.openapi is not None:
            if problem := missing_document(entry):
                raise RegistryError(problem)
            entry = runtime_entry(entry, self._settings.openapi_image)
            try:
                return entry, await self.pull(api, entry.image, progress)
            except RegistryError as error:
                raise RegistryError(
                    f"{error} {entry.id} is an OpenAPI entry, which runs in the OpenAPI runtime image: build it as "
                    "README's 'OpenAPI entries' shows, or set MCP_REGISTRY_OPENAPI_IMAGE to one with fastmcp."
                ) from error
        if entry.package is not None:
            raise RegistryError(f"{entry.id} is a package entry; building packages into images is not supported yet.")
        return entry, await self.pull(api, entry.image, progress)

    async def pull(self, api: PodmanAPI, image: str, progress: ProgressCallback | None) -> str | None:
        """Pulls `image` unless it is local; returns its local id (None if Podman cannot say)."""
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

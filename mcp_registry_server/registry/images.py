"""The image an entry runs: pulled when it names one, built from its package when it names a package.

An openapi entry runs the registry's OpenAPI server on the FastMCP package, built like a package
entry's, or in `MCP_REGISTRY_OPENAPI_IMAGE` when that is set (`openapi_server.runtime_entry`).

`EntryImages.ensure(entry, api, progress)` returns the entry with the image it will run filled in,
and that image's local id (None when Podman cannot say). Pull and build failures are
`RegistryError`s that say what to do.

A package entry (`entry.package`) runs `podman.image_build`'s image of that package: its base image
(settings `node_image` / `python_image`) is pulled when it is not local, then the image is found
by its inputs or built, which is bounded by `settings.build_timeout` and reports every build line
to `progress` (step n of m when podman says so). It is built on `api`'s host (a remote one through
its tunnel: `podman --remote build` sends the context along). The entry that comes back names that image, so
it is started, hardened and pinned (`config.image_lock`: by the built reference, whose tag carries
the inputs hash, and the built image's id) like any image entry.
"""

from __future__ import annotations

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.openapi_server import missing_document, runtime_entry
from mcp_registry_server.podman.api import PodmanAPI
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.image_build import BuildRecipe, BuiltImage, PackageBuilder
from mcp_registry_server.registry.editor_link import ProgressCallback
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.settings import RegistrySettings

__all__ = ["EntryImages"]


class EntryImages:
    """Makes an entry's image available locally. See the module docstring."""

    def __init__(self, settings: RegistrySettings) -> None:
        self._settings = settings
        self._builders: dict[str, PackageBuilder] = {}  # by Podman API URL: a host's builds run there

    def builder(self, api: PodmanAPI) -> PackageBuilder:
        """The builder that builds on `api`'s host (through its tunnel, for a remote one)."""
        url = api.endpoint.url
        if url not in self._builders:
            self._builders[url] = PackageBuilder(
                self._settings, api.endpoint.cli_prefix(self._settings.podman_executable)
            )
        return self._builders[url]

    async def ensure(
        self, entry: CatalogEntry, api: PodmanAPI, progress: ProgressCallback | None
    ) -> tuple[CatalogEntry, str | None]:
        if entry.openapi is not None:
            if problem := missing_document(entry):
                raise RegistryError(problem)
            entry = runtime_entry(entry, self._settings.openapi_image)
        if entry.openapi is not None and entry.package is None:
            try:
                return entry, await self.pull(api, entry.image, progress)
            except RegistryError as error:
                raise RegistryError(
                    f"{error} {entry.id} is an OpenAPI entry, and MCP_REGISTRY_OPENAPI_IMAGE names that image: "
                    "make it available, or unset the setting to let the registry build its runtime from PyPI."
                ) from error
        if entry.package is not None:
            built = await self.build(entry, api, progress)
            return entry.model_copy(update={"image": built.reference}), built.image_id
        return entry, await self.pull(api, entry.image, progress)

    def base_image(self, entry: CatalogEntry) -> str:
        assert entry.package is not None
        return self._settings.node_image if entry.package.registry == "npm" else self._settings.python_image

    async def recipe(self, entry: CatalogEntry, api: PodmanAPI, progress: ProgressCallback | None) -> BuildRecipe:
        """The build inputs of a package entry, pulling its base image first if it is not local."""
        assert entry.package is not None
        base = self.base_image(entry)
        base_id = await self.pull(api, base, progress)
        if base_id is None:
            raise RegistryError(f"The base image {base} of {entry.id} is present but Podman did not say its id.")
        return BuildRecipe(entry.package, base, base_id)

    async def build(self, entry: CatalogEntry, api: PodmanAPI, progress: ProgressCallback | None) -> BuiltImage:
        """The image of a package entry, found by its inputs or built now; see the module docstring."""
        recipe = await self.recipe(entry, api, progress)
        lines = 0

        async def forward(line: str, step: int | None, steps: int | None) -> None:
            nonlocal lines
            lines += 1
            if progress:
                # Step n of m when podman says it; otherwise a count that still moves, so the editor sees life.
                await progress(step if step is not None else lines, steps, line[:300])

        if progress and await self.builder(api).find(recipe) is None:
            await progress(
                0, None, f"building {recipe.reference} for {entry.id} (up to {self._settings.build_timeout:g} s)"
            )
        try:
            return await self.builder(api).ensure(recipe, forward)
        except PodmanUnavailable as error:
            raise RegistryError(f"Podman could not be run, so {entry.id} could not be built.\n{error}") from error
        except PodmanError as error:
            raise RegistryError(f"{entry.id} was not started: {error}") from error

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

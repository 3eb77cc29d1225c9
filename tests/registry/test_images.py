"""The image an openapi entry runs: the OpenAPI runtime image, with a way forward when it is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.images import EntryImages
from mcp_registry_server.settings import RegistrySettings


class StubAPI:
    """Answers only what `EntryImages` asks: the local id of an image, and a pull."""

    def __init__(self, local: dict[str, str]) -> None:
        self.local = local
        self.pulled: list[str] = []

    async def image_digest(self, image: str) -> str | None:
        return self.local.get(image)

    async def pull(self, image: str, on_progress: Any = None) -> None:
        self.pulled.append(image)
        raise PodmanError(f"manifest unknown: {image}")


def openapi_entry(spec: Path) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {"id": "notes", "name": "N", "description": "d", "openapi": {"spec": str(spec), "base_url": "http://api:8000"}}
    )


def settings(image: str) -> RegistrySettings:
    nowhere = Path("/nonexistent")
    return RegistrySettings(catalog_dirs=(), config_dir=nowhere, runtime_dir=nowhere, openapi_image=image)


async def test_an_openapi_entry_runs_the_runtime_image(tmp_path: Path) -> None:
    spec = tmp_path / "notes.openapi.json"
    spec.write_text("{}")
    api = StubAPI({"localhost/runtime": "sha256:abc"})
    running, digest = await EntryImages(settings("localhost/runtime")).ensure(openapi_entry(spec), api, None)  # type: ignore[arg-type]
    assert (running.image, digest, api.pulled) == ("localhost/runtime", "sha256:abc", [])
    assert running.command[0] == "python3" and running.args[0].endswith("/openapi.json")


async def test_a_missing_runtime_image_says_how_to_get_one(tmp_path: Path) -> None:
    spec = tmp_path / "notes.openapi.json"
    spec.write_text("{}")
    api = StubAPI({})
    with pytest.raises(RegistryError) as raised:
        await EntryImages(settings("localhost/runtime")).ensure(openapi_entry(spec), api, None)  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith("Image localhost/runtime is not available locally and could not be pulled")
    assert "README's 'OpenAPI entries'" in message and "MCP_REGISTRY_OPENAPI_IMAGE" in message
    with pytest.raises(RegistryError, match=r"gone\.json is missing, so it cannot start"):
        await EntryImages(settings("localhost/runtime")).ensure(openapi_entry(tmp_path / "gone.json"), api, None)  # type: ignore[arg-type]

"""The image an openapi entry runs: MCP_REGISTRY_OPENAPI_IMAGE when set (with a way forward when it is
missing), else the FastMCP package built like a package entry's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.podman.errors import PodmanError
from mcp_registry_server.podman.service import PodmanEndpoint
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.images import EntryImages
from mcp_registry_server.settings import RegistrySettings


class StubAPI:
    """Answers only what `EntryImages` asks: the local id of an image, and a pull."""

    def __init__(self, local: dict[str, str]) -> None:
        self.local = local
        self.pulled: list[str] = []
        self.endpoint = PodmanEndpoint("unix:///run/podman/podman.sock", "rootful")

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
    assert "MCP_REGISTRY_OPENAPI_IMAGE names that image" in message and "build its runtime from PyPI" in message
    with pytest.raises(RegistryError, match=r"gone\.json is missing, so it cannot start"):
        await EntryImages(settings("localhost/runtime")).ensure(openapi_entry(tmp_path / "gone.json"), api, None)  # type: ignore[arg-type]


async def test_without_an_image_setting_the_runtime_is_the_fastmcp_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_podman_image_build import FakePodmanState, builder_settings

    fake = FakePodmanState(tmp_path)
    monkeypatch.setenv("FAKE_PODMAN_STATE", str(fake.file))
    spec = tmp_path / "notes.openapi.json"
    spec.write_text("{}")
    settings = builder_settings(tmp_path, fake, python_image="localhost/python-base")
    api = StubAPI({"localhost/python-base": "sha256:" + "12" * 32})
    running, image_id = await EntryImages(settings).ensure(openapi_entry(spec), api, None)  # type: ignore[arg-type]
    assert running.image.startswith("localhost/mcp-registry-pkg/pypi-fastmcp:4.2.3-"), running.image
    assert image_id == fake.state["images"][running.image]["Id"]
    assert running.command == ["python3", "/opt/mcp-registry-openapi/server.py"]

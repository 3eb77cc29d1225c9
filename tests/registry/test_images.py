"""registry.images: an image entry's image is pulled; a package entry's is built, with progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.podman.service import PodmanEndpoint
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.images import EntryImages
from tests.test_podman_image_build import FakePodmanState, builder_settings

BASE_ID = "sha256:" + "12" * 32


class BaseImagesAPI:
    """The image side of the Podman API with only the base images local."""

    def __init__(self, local: dict[str, str], endpoint: PodmanEndpoint | None = None) -> None:
        self.local = local
        self.pulled: list[str] = []
        self.endpoint = endpoint or PodmanEndpoint("unix:///run/podman/podman.sock", "rootful")

    async def image_digest(self, image: str) -> str | None:
        return self.local.get(image)

    async def pull(self, image: str, on_progress: Any = None) -> None:
        self.pulled.append(image)
        self.local[image] = BASE_ID


def package_entry(**package: str) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {
            "id": "time-pypi",
            "name": "Time",
            "description": "From PyPI.",
            "package": {"registry": "pypi", "name": "mcp-server-time", "version": "2026.10.19", **package},
        }
    )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePodmanState:
    fake = FakePodmanState(tmp_path)
    monkeypatch.setenv("FAKE_PODMAN_STATE", str(fake.file))
    return fake


async def test_a_package_entry_runs_the_image_built_from_it(tmp_path: Path, fake: FakePodmanState) -> None:
    settings = builder_settings(tmp_path, fake, python_image="localhost/python-base")
    api = BaseImagesAPI({})
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    entry, image_id = await EntryImages(settings).ensure(package_entry(), api, on_progress)
    assert api.pulled == ["localhost/python-base"]  # the base image was not local
    assert entry.image.startswith("localhost/mcp-registry-pkg/pypi-mcp-server-time:2026.10.19-")
    assert entry.package is not None and entry.id == "time-pypi"
    assert image_id == fake.state["images"][entry.image]["Id"]
    assert any(message and message.startswith("building localhost/mcp-registry-pkg/") for _, _, message in progress)
    assert (2, 3, "STEP 2/3: RUN sh /run/mcp-registry-build/install.sh") in progress

    progress.clear()
    again, same_id = await EntryImages(settings).ensure(package_entry(), api, on_progress)
    assert (again.image, same_id) == (entry.image, image_id)
    assert progress == []  # found by its inputs: no build, nothing to report


async def test_a_failed_build_is_a_registry_error_naming_the_entry(tmp_path: Path, fake: FakePodmanState) -> None:
    fake.set_build("fail")
    settings = builder_settings(tmp_path, fake, python_image="localhost/python-base")
    with pytest.raises(RegistryError) as raised:
        await EntryImages(settings).ensure(package_entry(), BaseImagesAPI({"localhost/python-base": BASE_ID}), None)
    message = str(raised.value)
    assert message.startswith("time-pypi was not started: Building the pypi package mcp-server-time 2026.10.19 failed")
    assert "No matching distribution found" in message


async def test_a_package_entry_is_built_on_the_remote_host_that_runs_it(tmp_path: Path, fake: FakePodmanState) -> None:
    settings = builder_settings(tmp_path, fake, python_image="localhost/python-base")
    remote = PodmanEndpoint("unix:///r/ssh-1.sock", "remote", host="far")
    entry, image_id = await EntryImages(settings).ensure(
        package_entry(), BaseImagesAPI({"localhost/python-base": BASE_ID}, remote), None
    )
    assert entry.image.startswith("localhost/mcp-registry-pkg/pypi-mcp-server-time:") and image_id
    builds = [call for call in fake.calls() if "build" in call]
    assert builds and builds[0][:4] == ["--remote", "--url", "unix:///r/ssh-1.sock", "build"]

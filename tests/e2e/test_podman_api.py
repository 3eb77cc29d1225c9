"""`open_podman_api` and `PodmanAPI` against the real Podman: socket discovery, the private service,
images, pulls that cannot succeed, containers by label."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.podman import service
from mcp_registry_server.podman.api import open_podman_api
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.settings import RegistrySettings
from tests.e2e.support import TEST_LABEL

# No XDG_RUNTIME_DIR: the rootless candidate is left out, so discovery ends at the private service.
NO_ROOTLESS: dict[str, str] = {}


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    # Short on purpose: a Unix socket path must fit in 104 bytes, and pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="mcpr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def no_rootful_socket(monkeypatch: pytest.MonkeyPatch, runtime_dir: Path) -> None:
    monkeypatch.setattr(service, "ROOTFUL_SOCKET", runtime_dir / "no-rootful.sock")


def make_settings(runtime_dir: Path, **fields: Any) -> RegistrySettings:
    return RegistrySettings(
        catalog_dirs=(),
        config_dir=runtime_dir / "config",
        runtime_dir=runtime_dir / "run",
        extra_labels={TEST_LABEL: "1"},
        **fields,
    )


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
async def test_private_service_starts_when_no_socket_answers_and_stops_on_exit(runtime_dir: Path) -> None:
    settings = make_settings(runtime_dir, container_host=f"unix://{runtime_dir}/dead.sock")
    socket_path = settings.runtime_dir / f"podman-{settings.instance_id}.sock"
    async with open_podman_api(settings, environ=NO_ROOTLESS) as api:
        assert api.endpoint.origin == "private"
        assert api.endpoint.url == f"unix://{socket_path}"
        assert socket_path.exists()
        assert len(processes_mentioning(str(socket_path))) == 1
        version = await api.version()
        assert version.version.startswith(("4.", "5."))
    assert processes_mentioning(str(socket_path)) == []
    assert list(settings.runtime_dir.iterdir()) == []  # socket and log file removed


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
@pytest.mark.parametrize(
    ("owner_uid", "mode", "said"),
    [
        (os.getuid() + 4242, 0o700, "belongs to uid"),
        (os.getuid(), 0o755, "has mode 0755"),
        (os.getuid(), 0o1777, "1777"),
    ],
)
async def test_private_service_refuses_a_runtime_dir_that_is_not_ours_alone(
    runtime_dir: Path, owner_uid: int, mode: int, said: str
) -> None:
    # The /tmp/mcp-registry-<uid> fallback can be made first by anyone; a planted dir must not get our socket.
    settings = make_settings(runtime_dir, container_host=f"unix://{runtime_dir}/dead.sock")
    settings.runtime_dir.mkdir()
    os.chown(settings.runtime_dir, owner_uid, -1)
    settings.runtime_dir.chmod(mode)
    planted = settings.runtime_dir / "podman-0badc0ffee00.owner"
    planted.write_text("{}")
    with pytest.raises(PodmanUnavailable) as raised:
        async with open_podman_api(settings, environ=NO_ROOTLESS):
            pass
    assert said in raised.value.summary and str(settings.runtime_dir) in raised.value.summary
    assert "0700" in (raised.value.remedy or "")
    assert sorted(path.name for path in settings.runtime_dir.iterdir()) == [planted.name]  # nothing of ours
    assert processes_mentioning(str(settings.runtime_dir)) == []


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
async def test_private_service_makes_its_runtime_dir_0700(runtime_dir: Path) -> None:
    settings = make_settings(runtime_dir, container_host=f"unix://{runtime_dir}/dead.sock")
    async with open_podman_api(settings, environ=NO_ROOTLESS) as api:
        assert api.endpoint.origin == "private"
        assert stat.S_IMODE(settings.runtime_dir.stat().st_mode) == 0o700


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
async def test_a_socket_that_answers_is_used_instead_of_starting_one(runtime_dir: Path) -> None:
    first = make_settings(runtime_dir)
    async with open_podman_api(first, environ=NO_ROOTLESS) as private:
        second = make_settings(runtime_dir, container_host=private.endpoint.url)
        async with open_podman_api(second, environ=NO_ROOTLESS) as api:
            assert (api.endpoint.url, api.endpoint.origin) == (private.endpoint.url, "CONTAINER_HOST")
            assert (await api.version()).version


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
async def test_a_private_service_that_fails_to_start_is_explained(runtime_dir: Path) -> None:
    fake = runtime_dir / "podman"
    fake.write_text("#!/bin/sh\necho 'Error: the service refuses to start' >&2\nexit 125\n")
    fake.chmod(0o755)
    with pytest.raises(PodmanUnavailable) as caught:
        async with open_podman_api(make_settings(runtime_dir, podman_executable=str(fake)), environ=NO_ROOTLESS):
            pass
    assert "exited with code 125" in caught.value.summary
    assert "the service refuses to start" in (caught.value.detail or "")
    assert caught.value.remedy


async def test_missing_podman_binary_is_unavailable(runtime_dir: Path) -> None:
    settings = make_settings(runtime_dir, podman_executable=str(runtime_dir / "no-such-podman"))
    with pytest.raises(PodmanUnavailable, match="Podman was not found") as caught:
        async with open_podman_api(settings, environ=NO_ROOTLESS):
            pass
    assert "Install Podman" in (caught.value.remedy or "")


@pytest.mark.usefixtures("no_rootful_socket")
async def test_images(runtime_dir: Path, test_images: dict[str, str]) -> None:
    async with open_podman_api(make_settings(runtime_dir), environ=NO_ROOTLESS) as api:
        assert await api.image_exists(test_images["misbehave"])
        digest = await api.image_digest(test_images["misbehave"])
        assert digest is not None and digest.startswith("sha256:")
        assert not await api.image_exists("localhost/mcp-registry-test/absent:1")
        assert await api.image_digest("localhost/mcp-registry-test/absent:1") is None


@pytest.mark.usefixtures("podman_env", "no_rootful_socket")
async def test_pulling_an_unreachable_image_fails_quickly_and_clearly(runtime_dir: Path) -> None:
    messages: list[str] = []

    async def on_progress(completed: float | None, total: float | None, message: str) -> None:
        messages.append(message)

    async with open_podman_api(make_settings(runtime_dir), environ=NO_ROOTLESS) as api:
        assert not await api.image_exists("docker.io/mcp-registry-test/unpullable:1")
        started = time.monotonic()
        with anyio.fail_after(20), pytest.raises(PodmanError) as caught:
            await api.pull("docker.io/mcp-registry-test/unpullable:1", on_progress=on_progress)
    assert time.monotonic() - started < 20
    message = str(caught.value)
    assert message.startswith("Could not pull image docker.io/mcp-registry-test/unpullable:1")
    # No registry is reachable here; elsewhere the registry answers that the image does not exist.
    assert "cannot reach the image registry docker.io" in message or "refused access" in message
    assert "What to do:" in message
    assert any("Trying to pull" in m for m in messages)


@pytest.mark.usefixtures("no_rootful_socket")
async def test_containers_by_label_and_idempotent_removal(runtime_dir: Path, test_images: dict[str, str]) -> None:
    case = f"api-{os.getpid()}-{time.monotonic_ns()}"
    name = f"mcp-registry-test-{case}"
    labels = ("--label", f"{TEST_LABEL}=1", "--label", f"io.mcp-registry.case={case}")
    await anyio.run_process(["podman", "create", "--name", name, *labels, test_images["misbehave"]])
    async with open_podman_api(make_settings(runtime_dir), environ=NO_ROOTLESS) as api:
        found = await api.list_containers({TEST_LABEL: None, "io.mcp-registry.case": case})
        assert [(info.name, info.labels["io.mcp-registry.case"], info.status) for info in found] == [
            (name, case, "created")
        ]
        assert found[0].created
        assert await api.list_containers({"io.mcp-registry.case": "no-such-case"}) == []
        assert await api.container_exists(name)
        await api.remove_container(name)
        assert not await api.container_exists(name)
        await api.remove_container(name)  # already gone is fine

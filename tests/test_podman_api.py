"""The parts of the Podman API layer that need no Podman: error wording, progress, discovery order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.podman.api import PodmanAPI, _container_info, _progress_of, _pull_error
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.service import PodmanEndpoint, candidate_endpoints, require_podman
from mcp_registry_server.settings import RegistrySettings


def make_settings(**fields: Any) -> RegistrySettings:
    return RegistrySettings(
        catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"), **fields
    )


@pytest.mark.parametrize(
    ("podman_says", "expected"),
    [
        (
            'pinging container registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: '
            "lookup registry-1.docker.io on 10.0.0.1:53: no such host",
            "cannot reach the image registry ghcr.io",
        ),
        ("reading manifest 1 in ghcr.io/acme/x: unauthorized: authentication required", "refused access"),
        ("reading manifest latest in quay.io/acme/x: manifest unknown", "has no such image"),
        ('short-name "x" did not resolve to an alias', "not fully qualified"),
    ],
)
def test_pull_failures_say_what_failed_and_what_to_do(podman_says: str, expected: str) -> None:
    error = _pull_error("ghcr.io/acme/x:1", podman_says)
    assert expected in error.summary
    assert error.remedy
    assert error.detail == podman_says
    assert str(error).startswith("Could not pull image ghcr.io/acme/x:1")
    assert "What to do:" in str(error)


def test_unrecognised_pull_failure_still_points_somewhere() -> None:
    error = _pull_error("x", "something odd")
    assert error.remedy == "Run `podman pull x` by hand to see why."


def test_progress_from_libpod_and_compat_streams() -> None:
    assert _progress_of({"stream": "Copying blob abc\n"}) == (None, None, "Copying blob abc")
    assert _progress_of({"status": "Downloading", "id": "abc", "progressDetail": {"current": 5, "total": 10}}) == (
        5.0,
        10.0,
        "abc: Downloading",
    )
    assert _progress_of({"images": ["sha256:1"], "id": "1"}) == (None, None, "pulled sha256:1")
    assert _progress_of({}) is None


def test_container_info_from_a_libpod_list_item() -> None:
    info = _container_info(
        {
            "Id": "abc",
            "Names": ["mcp-registry-x-1"],
            "Labels": None,
            "State": "running",
            "Created": "2024-01-01T00:00:00Z",
        }
    )
    assert (info.id, info.name, dict(info.labels), info.status) == ("abc", "mcp-registry-x-1", {}, "running")


def test_discovery_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    settings = make_settings(container_host="unix:///custom.sock")
    assert candidate_endpoints(settings, {"XDG_RUNTIME_DIR": "/run/user/0"}) == [
        PodmanEndpoint("unix:///custom.sock", "CONTAINER_HOST"),
        PodmanEndpoint("unix:///run/podman/podman.sock", "rootful"),
        PodmanEndpoint("unix:///run/user/0/podman/podman.sock", "rootless"),
    ]
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert candidate_endpoints(make_settings(), {}) == []


def test_missing_podman_is_unavailable_with_the_install_remedy() -> None:
    with pytest.raises(PodmanUnavailable) as caught:
        require_podman(make_settings(podman_executable="/nonexistent/podman"))
    assert isinstance(caught.value, PodmanError)
    assert "Install Podman" in (caught.value.remedy or "")


async def test_a_dead_socket_is_unavailable_not_a_failed_operation(tmp_path: Path) -> None:
    api = PodmanAPI(PodmanEndpoint(f"unix://{tmp_path / 'gone.sock'}", "private"), timeout=5)
    try:
        with pytest.raises(PodmanUnavailable, match="cannot be reached") as caught:
            await api.image_exists("localhost/anything")
    finally:
        api.close()
    assert caught.value.remedy and "podman info" in caught.value.remedy

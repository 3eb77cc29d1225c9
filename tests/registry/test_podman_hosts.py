"""The configured Podman hosts (`podman_hosts.PodmanHosts`), with fake links, and how adds pick one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.podman_hosts import PodmanHosts
from mcp_registry_server.registry.podman_link import PodmanLink
from mcp_registry_server.settings import RegistrySettings
from tests.registry.support import open_test_registry


class FakeLink:
    def __init__(self, status: dict[str, Any]) -> None:
        self.runner = None
        self.ran = False
        self._status = status

    async def run(self) -> None:
        self.ran = True

    async def connect(self) -> tuple[Any, Any]:
        raise AssertionError("not connected in these tests")

    async def status(self) -> dict[str, Any]:
        return self._status


def settings(tmp_path: Path, hosts: tuple[str, ...]) -> RegistrySettings:
    return RegistrySettings(catalog_dirs=(), config_dir=tmp_path, runtime_dir=tmp_path, podman_hosts=hosts)


def test_each_configured_host_has_its_own_link(tmp_path: Path) -> None:
    default = FakeLink({"available": True})
    hosts = PodmanHosts(settings(tmp_path, ("far", "gpu")), default)
    assert list(hosts.links) == ["local", "far", "gpu"]
    assert hosts.default is default and hosts.link("local") is default
    assert isinstance(hosts.link("far"), PodmanLink) and hosts.link("far").name == "far"  # type: ignore[attr-defined]


def test_an_unknown_host_is_refused_naming_the_configured_ones(tmp_path: Path) -> None:
    hosts = PodmanHosts(settings(tmp_path, ("far",)), FakeLink({}))
    with pytest.raises(RegistryError, match=r"no Podman host named 'gpu'\. Configured: local, far"):
        hosts.link("gpu")


async def test_status_is_the_default_hosts_with_the_others_under_hosts(tmp_path: Path) -> None:
    alone = PodmanHosts(settings(tmp_path, ()), FakeLink({"available": True}))
    assert await alone.status() == {"available": True}
    hosts = PodmanHosts(settings(tmp_path, ("far",)), FakeLink({"available": True}))
    hosts.links["far"] = FakeLink({"available": False, "error": "far cannot be reached"})
    assert await hosts.status() == {
        "available": True,
        "hosts": {"far": {"available": False, "error": "far cannot be reached"}},
    }


async def test_run_runs_every_link(tmp_path: Path) -> None:
    hosts = PodmanHosts(settings(tmp_path, ("far",)), FakeLink({}))
    hosts.links["far"] = far = FakeLink({})
    with anyio.fail_after(5):
        await hosts.run()
    assert hosts.default.ran and far.ran  # type: ignore[attr-defined]


async def test_an_add_on_an_unknown_host_is_refused_before_anything_starts(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, entries={"pinned": {"host": "gpu"}}) as r:
        with pytest.raises(RegistryError, match="no Podman host named 'elsewhere'"):
            await r.registry.mounts.add("demo", host="elsewhere")
        with pytest.raises(RegistryError, match="no Podman host named 'gpu'"):  # the entry's own host
            await r.registry.mounts.add("pinned")
        with pytest.raises(RegistryError, match="must be the name of a Podman host"):
            await r.registry.mounts.add("demo", host=["local"])
        assert r.podman.runner.started == [] and r.registry.router.mounts == {}
        added = await r.registry.mounts.add("demo", host="local")
        assert "host" not in added and r.podman.runner.started == ["fake-demo-0"]


async def test_a_remote_server_takes_no_host(tmp_path: Path) -> None:
    remote = {"image": "", "remote": {"url": "https://mcp.example.com/mcp"}}
    async with open_test_registry(tmp_path, {}, entries={"far": remote}) as r:
        with pytest.raises(RegistryError, match="runs on no Podman host, so add it without host"):
            await r.registry.mounts.add("far", host="local")


async def test_adding_an_active_server_again_on_another_host_is_refused(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, podman_hosts=("far",)) as r:
        await r.registry.mounts.add("demo")
        again = await r.registry.mounts.add("demo", host="local")  # where it runs: nothing to change
        assert again["already_active"] is True and again["container"] == "fake-demo-0"
        with pytest.raises(RegistryError) as refused:
            await r.registry.mounts.add("demo", host="far")
        assert str(refused.value) == (
            "demo is already active as prefix 'demo' on the Podman host 'local'. To run it on 'far', "
            'remove it first (registry_remove("demo")), then add it again.'
        )
        assert r.podman.runner.started == ["fake-demo-0"]

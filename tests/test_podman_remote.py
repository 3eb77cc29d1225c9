"""Which remote Podman host is configured, and the ssh tunnel's argv (podman.remote), without ssh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.podman.errors import PodmanUnavailable
from mcp_registry_server.podman.remote import RemoteHost, remote_host, ssh_argv
from mcp_registry_server.podman.service import PodmanEndpoint, candidate_endpoints
from mcp_registry_server.settings import RegistrySettings

CONNECTIONS = [
    {"Name": "far", "URI": "ssh://alice@far.example:2222/run/user/1000/podman/podman.sock", "Identity": "/k/far"},
    {"Name": "plain", "URI": "tcp://plain.example:8080", "Identity": ""},
]


def make_settings(**fields: Any) -> RegistrySettings:
    return RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/r"), **fields)


@pytest.fixture
def fake_podman(tmp_path: Path) -> str:
    """A `podman` that only answers `system connection list --format json`."""
    script = tmp_path / "podman"
    script.write_text(
        f"#!/bin/sh\n[ \"$*\" = 'system connection list --format json' ] && echo '{json.dumps(CONNECTIONS)}'\n"
    )
    script.chmod(0o755)
    return str(script)


async def test_a_local_podman_is_no_remote_host(fake_podman: str) -> None:
    assert await remote_host(make_settings(), fake_podman) is None
    assert await remote_host(make_settings(container_host="unix:///run/podman/podman.sock"), fake_podman) is None


async def test_an_ssh_container_host_is_the_remote_host_with_container_sshkey(fake_podman: str) -> None:
    settings = make_settings(container_host="ssh://root@10.0.0.5/run/podman/podman.sock", ssh_identity=Path("/k/id"))
    host = await remote_host(settings, fake_podman)
    assert host == RemoteHost("10.0.0.5", "ssh://root@10.0.0.5/run/podman/podman.sock", Path("/k/id"))
    assert host.described == "ssh://root@10.0.0.5/run/podman/podman.sock"
    # An ssh:// URL is no socket to try: it goes through the tunnel, never to podman-py's own ssh.
    assert "CONTAINER_HOST" not in [candidate.origin for candidate in candidate_endpoints(settings, {})]


async def test_a_named_connection_gives_its_uri_and_identity(fake_podman: str) -> None:
    host = await remote_host(make_settings(podman_connection="far"), fake_podman)
    assert host == RemoteHost("far", CONNECTIONS[0]["URI"], Path("/k/far"))
    assert host.described == f"far ({CONNECTIONS[0]['URI']})"


async def test_an_unknown_or_non_ssh_connection_is_refused_by_name(fake_podman: str) -> None:
    with pytest.raises(PodmanUnavailable, match=r"'nowhere', which does not exist \(known: far, plain\)"):
        await remote_host(make_settings(podman_connection="nowhere"), fake_podman)
    with pytest.raises(PodmanUnavailable, match=r"plain has the URI 'tcp://plain.example:8080', which is not ssh://"):
        await remote_host(make_settings(podman_connection="plain"), fake_podman)
    with pytest.raises(PodmanUnavailable, match="CONTAINER_HOST has the URI 'ssh://host-only'"):
        await remote_host(make_settings(container_host="ssh://host-only"), fake_podman)


def test_the_tunnel_argv_forwards_the_socket_without_prompts() -> None:
    host = RemoteHost("far", "ssh://alice@far.example:2222/run/user/1000/podman/podman.sock", Path("/k/far"))
    settings = make_settings(ssh_known_hosts=Path("/k/known_hosts"))
    assert ssh_argv(settings, host, Path("/r/ssh-1.sock")) == [
        "ssh", "-N", "-T",
        "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
        "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
        "-o", "UserKnownHostsFile=/k/known_hosts",
        "-o", "IdentitiesOnly=yes", "-i", "/k/far",
        "-p", "2222", "-l", "alice",
        "-L", "/r/ssh-1.sock:/run/user/1000/podman/podman.sock", "--", "far.example",
    ]  # fmt: skip


def test_the_cli_of_a_remote_endpoint_goes_through_the_same_tunnel() -> None:
    remote = PodmanEndpoint("unix:///r/ssh-1.sock", "remote", host="far")
    assert remote.cli_prefix("podman") == ["podman", "--remote", "--url", "unix:///r/ssh-1.sock"]
    assert remote.described == "far, through ssh"
    assert PodmanEndpoint("unix:///run/podman/podman.sock", "rootful").cli_prefix("podman") == ["podman"]


def test_settings_read_the_remote_host_variables() -> None:
    settings = RegistrySettings.from_environ(
        {
            "MCP_REGISTRY_PODMAN_CONNECTION": " far ",
            "CONTAINER_SSHKEY": "/k/id",
            "MCP_REGISTRY_SSH_KNOWN_HOSTS": "/k/known",
        }
    )
    assert (settings.podman_connection, settings.ssh_identity, settings.ssh_known_hosts) == (
        "far",
        Path("/k/id"),
        Path("/k/known"),
    )

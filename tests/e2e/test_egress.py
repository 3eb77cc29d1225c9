"""Egress allowlists (issue 14): a server with `allow_hosts` reaches those hosts through the proxy, nothing else.

Real Podman, a real MCP server in a container (misbehave's `fetch_url`, urllib honouring
HTTP(S)_PROXY), driven by the SDK client through `mcp-registry serve`. The "internet" is a Podman
network this test creates (set as MCP_REGISTRY_EGRESS_NETWORK) with two HTTP servers on it, one
allowed and one not; the proxy is the locally built tinyproxy test image.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.e2e.harness import (
    descendants,
    misbehave_entry,
    podman_inspect,
    structured,
    wait_for,
    with_catalog,
    write_catalog,
)
from tests.e2e.support import IMAGE_PREFIX, TEST_LABEL, TEST_RUN_LABEL, connect_registry

ROLE_FILTER = "label=io.mcp-registry.role=egress-proxy"


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def egress_leftovers() -> tuple[list[str], list[str]]:
    """This run's proxy containers and egress networks."""
    containers = podman(
        "ps", "--all", "--filter", ROLE_FILTER, "--filter", f"label={TEST_RUN_LABEL}", "--format", "{{.Names}}"
    )
    networks = json.loads(podman("network", "ls", "--filter", f"label={TEST_RUN_LABEL}", "--format", "json") or "[]")
    return containers.split(), [network["name"] for network in networks or []]


@pytest.fixture
def outside(test_images: dict[str, str]) -> Iterator[dict[str, str]]:
    """A test network standing in for the internet, with an allowed and a forbidden HTTP server on it."""
    network = f"mcp-registry-test-outside-{os.getpid()}"
    podman("network", "create", "--label", f"{TEST_LABEL}=egress", network)
    servers = {}
    try:
        for role in ("allowed", "forbidden"):
            name = f"mcp-registry-test-{role}-web-{os.getpid()}"
            script = f"mkdir /tmp/www && echo {role}-server > /tmp/www/index.html && cd /tmp/www && exec python3 -m http.server 8000"
            podman(
                "run", "--detach", "--rm", "--name", name, "--label", f"{TEST_LABEL}=egress",
                f"--network={network}", f"{IMAGE_PREFIX}/base", "sh", "-c", script,
            )  # fmt: skip
            address = podman_inspect(name)["NetworkSettings"]["Networks"][network]["IPAddress"]
            servers[role] = f"{address}:8000"
        yield {"network": network, **servers}
    finally:
        names = [f"mcp-registry-test-{role}-web-{os.getpid()}" for role in ("allowed", "forbidden")]
        subprocess.run(["podman", "rm", "--force", "--ignore", "--time", "0", *names], check=False, timeout=60)
        subprocess.run(["podman", "network", "rm", "--force", network], check=False, timeout=60)


def fetcher(entry_id: str, allow_hosts: list[str]) -> dict[str, Any]:
    entry = misbehave_entry(entry_id, allow_hosts=allow_hosts)
    entry["env"] = [*entry["env"], {"name": "MISBEHAVE_FETCH_TOOL", "default": "1"}]
    return entry


async def fetch(session: Any, prefix: str, url: str, **options: Any) -> dict[str, Any]:
    return structured(await session.call_tool(f"{prefix}_fetch_url", {"url": url, "timeout": 5, **options}))


async def test_allow_hosts_reach_only_the_listed_host_through_the_proxy(
    registry_env: dict[str, str], outside: dict[str, str], tmp_path: Path
) -> None:
    allowed, forbidden = outside["allowed"], outside["forbidden"]
    catalog = write_catalog(
        tmp_path / "extra",
        [fetcher("fetcher", [allowed]), fetcher("fetcher-two", [allowed]), fetcher("fetcher-open", [forbidden])],
    )
    env = {
        **with_catalog(registry_env, catalog),
        "MCP_REGISTRY_EGRESS_NETWORK": outside["network"],
        "MCP_REGISTRY_PROXY_IMAGE": f"{IMAGE_PREFIX}/proxy",
    }
    async with connect_registry(env) as session:
        info = structured(await session.call_tool("registry_info", {"entry_id": "fetcher"}))
        assert info["allow_hosts"] == [allowed]
        assert info["network_access"].startswith(f"only {allowed}")

        added = structured(await session.call_tool("registry_add", {"entry_id": "fetcher", "prefix": "f1"}))
        inspected = podman_inspect(added["container"])
        assert list(inspected["NetworkSettings"]["Networks"]) != [outside["network"]]
        environment = dict(item.partition("=")[::2] for item in inspected["Config"]["Env"])
        assert environment["HTTPS_PROXY"] == environment["http_proxy"] and environment["HTTPS_PROXY"].startswith(
            "http://"
        )
        assert environment["NO_PROXY"] == "" and environment["no_proxy"] == ""

        # The allowed host:port answers through the proxy, by plain HTTP and by CONNECT.
        reached = await fetch(session, "f1", f"http://{allowed}/")
        assert (reached["status"], reached["body"].strip()) == (200, "allowed-server")
        tunnelled = await fetch(session, "f1", f"https://{allowed}/")
        assert tunnelled["status"] == 0 and "Tunnel connection failed" not in tunnelled["body"]  # TLS to an HTTP server
        # Anything else is refused by the proxy.
        refused = await fetch(session, "f1", f"http://{forbidden}/")
        assert refused["status"] == 403, refused
        refused_tunnel = await fetch(session, "f1", f"https://{forbidden}/")
        assert "Tunnel connection failed: 403" in refused_tunnel["body"], refused_tunnel
        # And nothing goes around it: no route out of the internal network, no DNS for outside names.
        direct = await fetch(session, "f1", f"http://{allowed}/", direct=True)
        assert direct["status"] == 0 and "unreachable" in direct["body"].lower(), direct
        named = await fetch(session, "f1", "http://example.com/", direct=True)
        assert named["status"] == 0, named

        # Mounts with the same host set share one proxy; another set gets its own.
        await session.call_tool("registry_add", {"entry_id": "fetcher-two", "prefix": "f2"})
        assert len(egress_leftovers()[0]) == 1
        await session.call_tool("registry_add", {"entry_id": "fetcher-open", "prefix": "f3"})
        assert (await fetch(session, "f3", f"http://{forbidden}/"))["body"].strip() == "forbidden-server"
        assert (await fetch(session, "f3", f"http://{allowed}/"))["status"] == 403
        assert [len(found) for found in egress_leftovers()] == [2, 2]

        await session.call_tool("registry_remove", {"entry_id_or_prefix": "f1"})
        assert len(egress_leftovers()[0]) == 2  # f2 still uses the first proxy
        assert (await fetch(session, "f2", f"http://{allowed}/"))["status"] == 200
        await session.call_tool("registry_remove", {"entry_id_or_prefix": "f2"})
        assert [len(found) for found in egress_leftovers()] == [1, 1]  # the last user took it away
    assert egress_leftovers() == ([], [])  # and shutdown took the rest


async def test_a_killed_registrys_proxy_and_network_go_in_the_next_ones_orphan_sweep(
    registry_env: dict[str, str], outside: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **with_catalog(registry_env, write_catalog(tmp_path / "extra", [fetcher("fetcher", [outside["allowed"]])])),
        "MCP_REGISTRY_EGRESS_NETWORK": outside["network"],
        "MCP_REGISTRY_PROXY_IMAGE": f"{IMAGE_PREFIX}/proxy",
    }
    async with connect_registry(env) as session:
        await session.call_tool("registry_add", {"entry_id": "fetcher"})
        pid = structured(await session.call_tool("registry_status", {}))["pid"]
        for victim in [pid, *descendants(pid)]:  # a crash: nothing of the registry gets to clean up
            os.kill(victim, signal.SIGKILL)
        with anyio.move_on_after(10):
            with contextlib.suppress(Exception):
                await session.list_tools()
    assert [len(found) for found in egress_leftovers()] == [1, 1], "the crash should have left them behind"

    async with connect_registry(env) as session:
        await session.call_tool("registry_list", {})
        assert await wait_for(lambda: egress_leftovers() == ([], []), 30, interval=0.5)

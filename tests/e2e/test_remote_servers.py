"""Remote servers: an entry with a URL mounts like a container's, over streamable HTTP and SSE.

Real Podman runs the reference server (server-everything) in its `streamableHttp` or `sse` mode,
published on 127.0.0.1; the SDK client drives `mcp-registry serve`. Between the registry and the
server sits a TCP relay of this test's own, which keeps the bytes the registry sent: the header
filled from the entry's secret must reach the server, and must appear in no tool result, status,
log line or file the registry writes; `mcp-registry ps` lists the mount by its URL. Also: an unreachable URL fails with a clear error naming it
and leaves nothing active; a server killed mid-life turns the mount failed, saying so.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import SocketStream

from tests.e2e.harness import structured, with_catalog, write_catalog
from tests.e2e.support import (
    IMAGE_PREFIX,
    REGISTRY_EXECUTABLE,
    TEST_RUN_LABEL,
    connect_registry,
    owned_by_this_process,
    text_of,
)

SERVER_PORT = 3001  # server-everything listens on $PORT, 3001 by default
MODES = {"streamable-http": ("streamableHttp", "/mcp"), "sse": ("sse", "/sse")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_everything(mode: str, port: int | None = None) -> tuple[str, int]:
    """server-everything in `mode`, published on 127.0.0.1 (on `port`, else a free one); (container, port)."""
    port = port or free_port()
    container = f"mcp-registry-test-remote-{secrets.token_hex(4)}"
    subprocess.run(
        [
            "podman",
            "run",
            "-d",
            "--rm",
            f"--name={container}",
            f"--label={TEST_RUN_LABEL}",
            owned_by_this_process(),
            "-p",
            f"127.0.0.1:{port}:{SERVER_PORT}",
            f"{IMAGE_PREFIX}/everything",
            mode,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return container, port


def stop(container: str) -> None:
    subprocess.run(["podman", "rm", "-f", "-t", "0", container], capture_output=True, timeout=60, check=False)


async def wait_until_serving(port: int, path: str) -> None:
    """Until the server answers HTTP at all (podman publishes the port before node listens)."""
    with anyio.fail_after(60):
        while True:
            try:
                async with httpx2.AsyncClient(timeout=2) as client:
                    if path == "/sse":
                        async with client.stream("GET", f"http://127.0.0.1:{port}{path}") as response:
                            if response.status_code == 200:
                                return
                    else:
                        await client.get(f"http://127.0.0.1:{port}{path}")
                        return
            except httpx2.HTTPError:
                await anyio.sleep(0.2)


@pytest.fixture(params=list(MODES))
def everything(
    request: pytest.FixtureRequest, podman_env: dict[str, str], test_images: dict[str, str]
) -> Iterator[tuple[str, str, int]]:
    """(transport, container, port) of a server-everything serving over that transport."""
    transport = request.param
    container, port = start_everything(MODES[transport][0])
    try:
        yield transport, container, port
    finally:
        stop(container)


@asynccontextmanager
async def recording_relay(target_port: int) -> AsyncIterator[tuple[int, bytearray]]:
    """A TCP relay on 127.0.0.1 to `target_port`; yields its port and every byte sent through it."""
    seen = bytearray()

    async def relay(client: SocketStream) -> None:
        async with client:
            try:
                server = await anyio.connect_tcp("127.0.0.1", target_port)
            except OSError:
                return
            async with server, anyio.create_task_group() as pipes:

                async def pipe(source: SocketStream, sink: SocketStream, record: bool) -> None:
                    try:
                        async for chunk in source:
                            if record:
                                seen.extend(chunk)
                            await sink.send(chunk)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                        pass
                    pipes.cancel_scope.cancel()

                pipes.start_soon(pipe, client, server, True)
                pipes.start_soon(pipe, server, client, False)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as serving:
        serving.start_soon(listener.serve, relay)
        yield port, seen
        serving.cancel_scope.cancel()


def remote_entry(entry_id: str, url: str, transport: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": entry_id,
        "name": f"Remote everything ({transport})",
        "description": "server-everything reached over HTTP",
        "secrets": [{"name": "EVERYTHING_TOKEN", "description": "sent as a bearer token"}],
        "remote": {"url": url, "transport": transport, "headers": {"Authorization": "Bearer ${EVERYTHING_TOKEN}"}},
        **fields,
    }


async def mount_status_when(session: Any, holds: Callable[[dict[str, Any]], bool], seconds: float) -> dict[str, Any]:
    """The only mount's `registry_status` entry, once `holds` is true of it (polled)."""
    with anyio.fail_after(seconds):
        while True:
            (mount,) = structured(await session.call_tool("registry_status", {}))["mounts"]
            if holds(mount):
                return mount
            await anyio.sleep(0.2)


def cli(env: dict[str, str], *args: str) -> str:
    """`mcp-registry <args>`'s output, as a user sees it; it must succeed."""
    done = subprocess.run([str(REGISTRY_EXECUTABLE), *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def test_a_remote_server_mounts_serves_and_goes(
    everything: tuple[str, str, int], registry_env: dict[str, str], tmp_path: Path
) -> None:
    transport, _, server_port = everything
    secret = f"mcpr-remote-{secrets.token_hex(12)}"
    await wait_until_serving(server_port, MODES[transport][1])
    log_path = tmp_path / "registry.log"
    seen: list[str] = []

    async def call(session: Any, tool: str, arguments: dict[str, Any]) -> Any:
        result = await session.call_tool(tool, arguments)
        seen.append(f"{tool}: {text_of(result)} {json.dumps(result.structured_content or {})}")
        return result

    async with recording_relay(server_port) as (relay_port, sent):
        url = f"http://127.0.0.1:{relay_port}{MODES[transport][1]}?via=relay"
        catalog = write_catalog(tmp_path / "catalog", [remote_entry("far", url, transport)])
        env = with_catalog(registry_env, catalog)
        with log_path.open("w") as log:
            async with connect_registry(env, "--log-level", "DEBUG", errlog=log) as session:
                stored = await call(
                    session, "registry_config_set", {"entry_id": "far", "values": {"EVERYTHING_TOKEN": secret}}
                )
                assert not stored.is_error, text_of(stored)

                added = structured(await call(session, "registry_add", {"entry_id": "far"}))
                shown_url = f"http://127.0.0.1:{relay_port}{MODES[transport][1]}"
                assert added["url"] == shown_url  # without its query
                assert added["transport"] == transport
                assert "container" not in added
                assert "far_echo" in added["tools"]

                tools = {tool.name for tool in (await session.list_tools()).tools}
                assert {"far_echo", "far_get-sum"} <= tools
                echoed = await call(session, "far_echo", {"message": "over the wire"})
                assert text_of(echoed) == "Echo: over the wire"

                resources = (await session.list_resources()).resources
                static = next(r for r in resources if str(r.uri).startswith("demo://resource/static/document/"))
                read = await session.read_resource(static.uri)
                assert read.contents and str(read.contents[0].uri) == str(static.uri)
                prompt = await session.get_prompt("far_simple-prompt")
                assert prompt.messages

                status = structured(await call(session, "registry_status", {}))
                (mount,) = status["mounts"]
                assert (mount["url"], mount["transport"], mount["state"]) == (shown_url, transport, "running")
                assert "container" not in mount and "image" not in mount

                listed = await anyio.to_thread.run_sync(cli, env, "ps", "--json")
                seen.append(listed)
                (row,) = [row for row in json.loads(listed) if row.get("url") == shown_url]
                assert (row["entry"], row["prefix"], row["state"], row["registry_alive"]) == (
                    "far",
                    "far",
                    "running",
                    True,
                )
                assert shown_url in await anyio.to_thread.run_sync(cli, env, "ps")

                removed = structured(await call(session, "registry_remove", {"entry_id_or_prefix": "far"}))
                assert removed["disconnected"] is True and removed["url"] == shown_url
                assert structured(await call(session, "registry_status", {}))["mounts"] == []
                listed = await anyio.to_thread.run_sync(cli, env, "ps", "--json")
                assert [row for row in json.loads(listed) if row.get("url") == shown_url] == []
                logged = await anyio.to_thread.run_sync(cli, env, "logs", "far")
                seen.append(logged)
                assert f"connected to {shown_url}" in logged

    assert f"authorization: Bearer {secret}".lower().encode() in bytes(sent).lower()  # it reached the server
    if transport == "streamable-http":
        assert b"DELETE /mcp" in sent  # the session was ended, not just dropped
    assert [text for text in seen if secret in text] == []
    assert secret not in log_path.read_text()
    # Nor the URL's query, but in the SDK's own DEBUG line naming the endpoint it connects to.
    assert [line for line in log_path.read_text().splitlines() if "via=relay" in line and " DEBUG " not in line] == []
    assert "DEBUG" in log_path.read_text()
    config_dir = Path(registry_env["XDG_CONFIG_HOME"]) / "mcp-registry"
    assert files_holding(tmp_path, secret.encode()) == [config_dir / "secrets.toml"]


async def test_an_unreachable_url_is_named_and_nothing_stays(registry_env: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there
    catalog = write_catalog(tmp_path / "catalog", [remote_entry("nowhere", url, "streamable-http")])
    async with connect_registry(with_catalog(registry_env, catalog)) as session:
        await session.call_tool("registry_config_set", {"entry_id": "nowhere", "values": {"EVERYTHING_TOKEN": "x"}})
        failed = await session.call_tool("registry_add", {"entry_id": "nowhere"})
        assert failed.is_error
        assert f"could not connect to {url}" in text_of(failed)
        assert "Nothing was left running" in text_of(failed)
        assert structured(await session.call_tool("registry_status", {}))["mounts"] == []
        assert not any(tool.name.startswith("nowhere_") for tool in (await session.list_tools()).tools)


@pytest.mark.parametrize("transport", list(MODES))
async def test_a_remote_server_that_dies_marks_its_mount_failed(
    transport: str,
    podman_env: dict[str, str],
    test_images: dict[str, str],
    registry_env: dict[str, str],
    tmp_path: Path,
) -> None:
    mode, path = MODES[transport]
    container, port = start_everything(mode)
    try:
        await wait_until_serving(port, path)
        url = f"http://127.0.0.1:{port}{path}"
        entry = remote_entry("mortal", url, transport)
        catalog = write_catalog(tmp_path / "catalog", [entry])
        env = {**with_catalog(registry_env, catalog), "MCP_REGISTRY_REMOTE_PING_INTERVAL": "0.5"}
        async with connect_registry(env) as session:
            await session.call_tool("registry_config_set", {"entry_id": "mortal", "values": {"EVERYTHING_TOKEN": "t"}})
            structured(await session.call_tool("registry_add", {"entry_id": "mortal"}))
            stop(container)
            mount = await mount_status_when(session, lambda mount: mount["state"] == "failed", 30)
            assert url in mount["last_error"]
            assert any(
                how in mount["last_error"]
                for how in ("could not connect", "stopped answering", "closed the connection")
            )
            failed = await session.call_tool("mortal_echo", {"message": "anyone?"})
            assert failed.is_error and url in text_of(failed)
    finally:
        stop(container)


async def test_a_remote_server_that_comes_back_is_reconnected_and_a_wrong_path_is_named(
    podman_env: dict[str, str], test_images: dict[str, str], registry_env: dict[str, str], tmp_path: Path
) -> None:
    container, port = start_everything("streamableHttp")
    containers = [container]
    try:
        await wait_until_serving(port, "/mcp")
        url = f"http://127.0.0.1:{port}/mcp"
        policy = {"restart": "on-failure", "restart_backoff": 1.0, "max_restarts": 6}
        entries = [
            remote_entry("phoenix", url, "streamable-http", **policy),
            remote_entry("astray", f"{url}/nope", "sse", secrets=[]),
        ]
        env = {
            **with_catalog(registry_env, write_catalog(tmp_path / "catalog", entries)),
            "MCP_REGISTRY_REMOTE_PING_INTERVAL": "0.5",
        }
        async with connect_registry(env) as session:
            astray = await session.call_tool("registry_add", {"entry_id": "astray"})
            assert astray.is_error
            assert f"{url}/nope answered HTTP 404: there is no MCP endpoint at this URL" in text_of(astray)

            await session.call_tool("registry_config_set", {"entry_id": "phoenix", "values": {"EVERYTHING_TOKEN": "t"}})
            structured(await session.call_tool("registry_add", {"entry_id": "phoenix"}))
            stop(container)
            mount = await mount_status_when(session, lambda mount: mount["restarts"] >= 1, 30)
            assert url in mount["last_error"]
            containers.append(start_everything("streamableHttp", port)[0])
            await mount_status_when(
                session, lambda mount: mount["state"] == "running" and mount["last_error"].startswith("Restarted"), 60
            )
            echoed = await session.call_tool("phoenix_echo", {"message": "back"})
            assert text_of(echoed) == "Echo: back"
    finally:
        for name in containers:
            stop(name)

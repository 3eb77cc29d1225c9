"""`mcp-registry serve --http`: two teams' tokens, two workspaces, real containers, the SDK's HTTP client.

The registry runs as a subprocess on 127.0.0.1 at a free port, with one token in workspace
`team-a` and one in `team-b`. Each workspace adds the misbehave test image and calls its tool;
neither sees the other's mounts, containers, config or offloaded results. Refusals (no token,
wrong token, foreign Origin, wrong Host, oversize body, session cap) get the right status, an
abandoned session's container is gone once it has expired, and /healthz and /metrics answer.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

from mcp_registry_server import __version__
from tests.e2e.support import REGISTRY_EXECUTABLE, labelled_containers

IDLE_SECONDS = 3
WORKSPACE_LABEL = "io.mcp-registry.workspace"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class HttpRegistry:
    url: str
    base: str
    tokens: dict[str, str]  # workspace → token
    env: dict[str, str]
    log: Path

    def config_dir(self, workspace: str) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "mcp-registry" / "workspaces" / workspace

    def state_dir(self, workspace: str) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "mcp-registry" / "workspaces" / workspace


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _token(env: dict[str, str], name: str, workspace: str) -> str:
    created = subprocess.run(
        [str(REGISTRY_EXECUTABLE), "token", "create", name, "--workspace", workspace],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip()


@contextmanager
def running_registry(env: dict[str, str], log: Path, *args: str, scheme: str = "http") -> Iterator[str]:
    """`mcp-registry serve --http 127.0.0.1:<free port> ARGS` until the block ends (then SIGTERM,
    which must end it cleanly); yields its base URL once /healthz answers."""
    port = _free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(REGISTRY_EXECUTABLE), "serve", "--http", f"127.0.0.1:{port}", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1, verify=False).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
            sys.stderr.write(log.read_text()[-4000:])


@pytest.fixture
def http_registry(registry_env: dict[str, str], tmp_path: Path) -> Iterator[HttpRegistry]:
    env = {
        **registry_env,
        "MCP_REGISTRY_HTTP_IDLE_TIMEOUT": str(IDLE_SECONDS),
        "MCP_REGISTRY_HTTP_MAX_SESSIONS": "2",
        "MCP_REGISTRY_HTTP_MAX_BODY_BYTES": "65536",
    }
    tokens = {"team-a": _token(env, "alice", "team-a"), "team-b": _token(env, "bob", "team-b")}
    # Workspace team-a's own setting for misbehave; team-b must not see it.
    config = Path(env["XDG_CONFIG_HOME"]) / "mcp-registry" / "workspaces" / "team-a"
    config.mkdir(parents=True, mode=0o700)
    (config / "config.toml").write_text('[entries.misbehave]\nenv = { MISBEHAVE_TOOL_COUNT = "2" }\n')
    log = tmp_path / "registry.log"
    with running_registry(env, log) as base:
        yield HttpRegistry(f"{base}/mcp", base, tokens, env, log)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def legacy_session(
    url: str, token: str, *, terminate: bool = True, root: str | None = None
) -> AsyncIterator[ClientSession]:
    """A session-based (2025-era) SDK client session with the token header; with `root`, it
    declares roots and answers roots/list with that one root."""

    async def roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///{root}", name=root)])

    async with (
        httpx2.AsyncClient(headers=_auth(token), timeout=httpx2.Timeout(120, read=300)) as http,
        streamable_http_client(url, http_client=http, terminate_on_close=terminate) as (read, write),
        ClientSession(read, write, list_roots_callback=roots if root else None) as session,
    ):
        with anyio.fail_after(30):
            await session.initialize()
        yield session


@asynccontextmanager
async def modern_client(url: str, token: str) -> AsyncIterator[Client]:
    """A stateless 2026-07-28 SDK client with the token header."""
    async with httpx2.AsyncClient(headers=_auth(token), timeout=httpx2.Timeout(120, read=300)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="2026-07-28") as client:
            yield client


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def _workspace_containers(workspace: str) -> list[str]:
    return labelled_containers(f"{WORKSPACE_LABEL}={workspace}")


async def test_two_workspaces_each_run_their_own_servers_and_see_nothing_of_the_other(
    http_registry: HttpRegistry,
) -> None:
    url, tokens = http_registry.url, http_registry.tokens
    async with legacy_session(url, tokens["team-a"]) as alice, modern_client(url, tokens["team-b"]) as bob:
        added = await alice.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added.is_error, _text(added)
        echoed = await alice.call_tool("misbehave_echo", {"text": "from a"})
        assert not echoed.is_error and "from a" in _text(echoed)
        a_tools = {tool.name for tool in (await alice.list_tools()).tools}
        assert "misbehave_echo" in a_tools
        assert sum(name.startswith("misbehave_synthetic_") for name in a_tools) == 2  # team-a's own config
        assert len(_workspace_containers("team-a")) == 1 and _workspace_containers("team-b") == []

        # team-b sees none of it: no tools, no mounts, no container, and cannot call team-a's tool.
        b_tools = {tool.name for tool in (await bob.list_tools()).tools}
        assert not any(name.startswith("misbehave_") for name in b_tools)
        status = await bob.call_tool("registry_status", {})
        assert "misbehave" not in json.dumps(status.structured_content)
        stolen = await bob.call_tool("misbehave_echo", {"text": "from b"})
        assert stolen.is_error

        # A large result offloaded in team-a cannot be read from team-b.
        big = await alice.call_tool("misbehave_big_result", {"megabytes": 0.1})
        link = next(block for block in big.content if block.type == "resource_link")
        ref = str(link.uri).removeprefix("mcp-registry://results/")
        mine = await alice.call_tool("registry_get_content", {"ref": ref, "length": 10})
        assert not mine.is_error
        theirs = await bob.call_tool("registry_get_content", {"ref": ref, "length": 10})
        assert theirs.is_error

        # team-b runs its own misbehave, without team-a's setting.
        added_b = await bob.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added_b.is_error, _text(added_b)
        echoed_b = await bob.call_tool("misbehave_echo", {"text": "from b"})
        assert not echoed_b.is_error and "from b" in _text(echoed_b)
        b_tools = {tool.name for tool in (await bob.list_tools()).tools}
        assert "misbehave_echo" in b_tools and not any(name.startswith("misbehave_synthetic_") for name in b_tools)
        (a_container,) = _workspace_containers("team-a")
        (b_container,) = _workspace_containers("team-b")
        assert a_container != b_container

        removed = await alice.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"})
        assert not removed.is_error
        assert _workspace_containers("team-a") == [] and _workspace_containers("team-b") == [b_container]
        removed_b = await bob.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"})
        assert not removed_b.is_error
        assert _workspace_containers("team-b") == []

    # Each workspace wrote its own audit log, its lines naming it.
    for workspace in ("team-a", "team-b"):
        lines = [
            json.loads(line) for line in (http_registry.state_dir(workspace) / "audit.jsonl").read_text().splitlines()
        ]
        assert lines and {line["workspace"] for line in lines} == {workspace}
    # team-b's config dir holds nothing of team-a's.
    assert not (http_registry.config_dir("team-b") / "config.toml").exists()


async def test_requests_without_the_right_token_origin_host_or_size_are_refused(http_registry: HttpRegistry) -> None:
    base, url, token = http_registry.base, http_registry.url, http_registry.tokens["team-a"]
    async with httpx2.AsyncClient(timeout=30) as http:
        health = await http.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "version": __version__}

        missing = await http.post(url, json=INITIALIZE, headers=HEADERS)
        wrong = await http.post(url, json=INITIALIZE, headers={**HEADERS, **_auth("mcpr_" + "x" * 43)})
        for refused in (missing, wrong):
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
        assert missing.content == wrong.content

        foreign = await http.post(
            url, json=INITIALIZE, headers={**HEADERS, **_auth(token), "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        own_origin = await http.post(
            url, json=INITIALIZE, headers={**HEADERS, **_auth(token), "Origin": base.replace("127.0.0.1", "localhost")}
        )
        assert own_origin.status_code == 200
        await http.delete(url, headers={**_auth(token), "mcp-session-id": own_origin.headers["mcp-session-id"]})
        rebound = await http.post(url, json=INITIALIZE, headers={**HEADERS, **_auth(token), "Host": "evil.example"})
        assert rebound.status_code == 421

        oversize = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * 70_000}}
        too_big = await http.post(url, content=json.dumps(oversize), headers={**HEADERS, **_auth(token)})
        assert too_big.status_code == 413

        # The session cap (2 per workspace here): the third session is refused until one ends.
        opened = [await http.post(url, json=INITIALIZE, headers={**HEADERS, **_auth(token)}) for _ in range(2)]
        assert [reply.status_code for reply in opened] == [200, 200]
        third = await http.post(url, json=INITIALIZE, headers={**HEADERS, **_auth(token)})
        assert third.status_code == 503 and "Too many open sessions" in third.text
        # Another workspace has its own sessions; and a session id is no use with another token.
        other = await http.post(url, json=INITIALIZE, headers={**HEADERS, **_auth(http_registry.tokens["team-b"])})
        assert other.status_code == 200
        session_a = opened[0].headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        borrowed = await http.post(
            url, json=ping, headers={**HEADERS, **_auth(http_registry.tokens["team-b"]), "mcp-session-id": session_a}
        )
        assert borrowed.status_code == 404

        # /metrics: only with a token; per-workspace series.
        assert (await http.get(f"{base}/metrics")).status_code == 401
        metrics = await http.get(f"{base}/metrics", headers=_auth(token))
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert 'mcp_registry_sessions{workspace="team-a"} 2.0' in metrics.text
        assert 'mcp_registry_mounts{workspace="team-b"} 0.0' in metrics.text


async def test_metrics_count_calls_per_workspace(http_registry: HttpRegistry) -> None:
    async with legacy_session(http_registry.url, http_registry.tokens["team-a"]) as alice:
        await alice.call_tool("registry_add", {"entry_id": "misbehave"})
        await alice.call_tool("misbehave_echo", {"text": "hi"})
        await alice.call_tool("misbehave_nope", {})
        async with httpx2.AsyncClient(timeout=30) as http:
            text = (await http.get(f"{http_registry.base}/metrics", headers=_auth(http_registry.tokens["team-b"]))).text
        assert 'mcp_registry_tool_calls_total{outcome="ok",workspace="team-a"} 2.0' in text
        assert 'mcp_registry_tool_errors_total{kind="error",workspace="team-a"} 1.0' in text
        assert 'mcp_registry_tool_call_seconds_count{workspace="team-a"} 3.0' in text
        assert 'mcp_registry_mounts{workspace="team-a"} 1.0' in text
        assert 'mcp_registry_containers{workspace="team-a"} 1.0' in text
        assert 'mcp_registry_tasks{workspace="team-a"} 0.0' in text
        await alice.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"})


async def test_an_abandoned_session_leaves_no_container_once_it_expires(http_registry: HttpRegistry) -> None:
    token = http_registry.tokens["team-b"]
    async with legacy_session(http_registry.url, token, terminate=False) as bob:
        added = await bob.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added.is_error, _text(added)
        assert len(_workspace_containers("team-b")) == 1
    # The client went away without DELETE: the session expires, then the idle workspace closes.
    with anyio.fail_after(IDLE_SECONDS * 2 + 30):
        while _workspace_containers("team-b"):  # noqa: ASYNC110 -- polling Podman, nothing to wait on
            await anyio.sleep(0.5)
    assert "workspace team-b idle for" in http_registry.log.read_text()  # the reaper closed it, not the exit


async def test_sessions_of_one_workspace_share_its_servers_and_a_question_goes_to_the_asking_session(
    http_registry: HttpRegistry,
) -> None:
    url, token = http_registry.url, http_registry.tokens["team-a"]
    async with (
        legacy_session(url, token, root="alice") as alice,
        legacy_session(url, token, root="carol") as carol,
    ):
        added = await alice.call_tool("registry_add", {"entry_id": "misbehave"})
        assert not added.is_error, _text(added)
        # carol's session sees the server alice added, and its question comes back to carol.
        assert "misbehave_ask" in {tool.name for tool in (await carol.list_tools()).tools}
        for session, name in ((carol, "carol"), (alice, "alice"), (carol, "carol")):
            asked = await session.call_tool("misbehave_ask", {"asks": "roots"})
            assert not asked.is_error, _text(asked)
            (answer,) = asked.structured_content["answers"]
            assert "result" in answer, answer
            assert answer["result"]["roots"] == [{"uri": f"file:///{name}", "name": name}]
        removed = await carol.call_tool("registry_remove", {"entry_id_or_prefix": "misbehave"})
        assert not removed.is_error
    assert _workspace_containers("team-a") == []


def test_tls_serves_https_and_a_remote_address_needs_allow_remote(registry_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    token = _token(registry_env, "tls", "default")
    tls = ("--tls-cert", str(cert), "--tls-key", str(key))
    with running_registry(registry_env, tmp_path / "tls.log", *tls, scheme="https") as base:
        assert base.startswith("https://")
        metrics = httpx2.get(f"{base}/metrics", headers=_auth(token), verify=ssl.create_default_context(cafile=cert))
        assert metrics.status_code == 200 and "mcp_registry_tool_calls" in metrics.text
        with pytest.raises(httpx2.TransportError):
            httpx2.get(f"{base.replace('https', 'http')}/healthz", timeout=5)
    refused = subprocess.run(
        [str(REGISTRY_EXECUTABLE), "serve", "--http", "0.0.0.0:1"], env=registry_env, capture_output=True, text=True
    )
    assert (
        refused.returncode == 2
        and "Refusing to listen on 0.0.0.0" in refused.stderr
        and "--allow-remote" in refused.stderr
    )

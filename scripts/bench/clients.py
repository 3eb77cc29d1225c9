"""The ways the benchmark talks to an MCP server: our `MCPClient` or the SDK's, direct or through the registry.

`direct_command` is the argv and env the registry itself would use for an entry (the direct pipe).
Every way of calling a tool is reduced to a `Call`, so each figure runs the same code on every path.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.mcp_client import MCPClient
from mcp_registry_server.podman.command import build_run_argv, container_name, registry_labels
from mcp_registry_server.podman.ownership import own_owner_label
from scripts.bench.environment import CLIENT_INFO, ENTRY, TEST_CATALOG, Setup

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


def direct_command(setup: Setup, entry_id: str = ENTRY, catalog_dirs: tuple[Path, ...] = ()) -> tuple[list[str], dict]:
    """The argv and env the registry would use for `entry_id`, labelled as a direct-pipe container."""
    catalog = load_catalog([TEST_CATALOG, *catalog_dirs])
    entry = catalog[entry_id]
    values = {var.name: var.default for var in entry.env if var.default is not None}
    prefix = entry_id.replace(".", "-")
    labels = registry_labels(
        instance_id=f"bench-{setup.run_id}",
        owner=own_owner_label(socket.gethostname()),
        entry_id=entry.id,
        prefix=prefix,
        extra={setup.direct_label.split("=")[0]: setup.run_id},
    )
    argv = build_run_argv(
        entry,
        podman="podman",
        name=container_name(prefix),
        labels=labels,
        env_names=list(values),
        enabled_volumes={},
    )
    return argv, {**setup.env, **values}


@asynccontextmanager
async def mcp_client(argv: list[str], env: dict[str, str], name: str) -> AsyncIterator[MCPClient]:
    """Our MCPClient over a fresh process, initialized."""
    process = await anyio.open_process(argv, env=env)
    async with MCPClient.connect(process, name=name, default_timeout=120, init_timeout=120) as client:
        await client.initialize(CLIENT_INFO, {}, discover=False)
        yield client


@asynccontextmanager
async def sdk_client(argv: list[str], env: dict[str, str]) -> AsyncIterator[Any]:
    """The mcp SDK's stdio client over a fresh process, initialized (as an editor does it)."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def ours(client: MCPClient) -> Call:
    async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(name, arguments)
        if result.get("isError"):
            raise RuntimeError(f"{name} failed: {json.dumps(result)[:500]}")
        return result

    return call


def sdk(session: Any) -> Call:
    async def call(name: str, arguments: dict[str, Any]) -> Any:
        result = await session.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content!r:.500}")
        return result

    return call


def via_exec(call: Call) -> Call:
    async def exec_call(name: str, arguments: dict[str, Any]) -> Any:
        return await call("registry_exec", {"tool_name": name, "arguments": arguments})

    return exec_call


async def registry_json(call: Call, tool: str, arguments: dict[str, Any]) -> Any:
    """A registry tool's structured result (our client's raw dict or the SDK's model)."""
    result = await call(tool, arguments)
    structured = result.get("structuredContent") if isinstance(result, dict) else result.structured_content
    if structured is not None:
        return structured
    content = result["content"] if isinstance(result, dict) else [c.model_dump() for c in result.content]
    return json.loads(content[0]["text"])


async def wait_for_podman(call: Call) -> None:
    """Waits until the registry has connected to Podman, so adds measure the add, not the connect."""
    with anyio.fail_after(60):
        while True:
            status = await registry_json(call, "registry_status", {})
            if status["podman"]["available"] is not None:
                return
            await anyio.sleep(0.05)


async def add(call: Call, entry_id: str, prefix: str | None = None) -> dict[str, Any]:
    arguments: dict[str, Any] = {"entry_id": entry_id}
    if prefix:
        arguments["prefix"] = prefix
    return await registry_json(call, "registry_add", arguments)


async def remove(call: Call, target: str) -> dict[str, Any]:
    return await registry_json(call, "registry_remove", {"entry_id_or_prefix": target})

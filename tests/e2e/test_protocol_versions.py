"""Editors on every protocol version in use today reach the registry and an active server.

Handshake-era versions are driven by raw JSON-RPC (so the test controls the exact version the
editor asks for); 2026-07-28 by the SDK's `Client` in modern mode, which is what the SDK
supports of that version over stdio.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.client.stdio import StdioServerParameters

HANDSHAKE_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]


class RawEditor:
    """A minimal line-oriented JSON-RPC peer for the registry's stdin/stdout."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.buffer = b""
        self.next_id = 1

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(json.dumps(message).encode() + b"\n")

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while b"\n" not in self.buffer:
            self.buffer += await self.process.stdout.receive()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = self.next_id
        self.next_id += 1
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        with anyio.fail_after(120):
            while True:
                message = await self.receive()
                if message.get("id") == request_id:
                    assert "error" not in message, message
                    return message["result"]


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
async def test_handshake_versions(version: str, registry_env: dict[str, str]) -> None:
    registry = str(Path(sys.executable).with_name("mcp-registry"))
    async with await anyio.open_process([registry], env=registry_env, stderr=None) as process:
        editor = RawEditor(process)
        init = await editor.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw-editor", "version": "1"}},
        )
        assert init["protocolVersion"] == version
        assert {"tools", "resources", "prompts"} <= set(init["capabilities"])
        await editor.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = await editor.request("tools/list")
        assert "registry_add" in {tool["name"] for tool in tools["tools"]}
        added = await editor.request("tools/call", {"name": "registry_add", "arguments": {"entry_id": "time"}})
        assert not added.get("isError"), added
        called = await editor.request(
            "tools/call", {"name": "time_get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}
        )
        assert not called.get("isError") and "Asia/Tokyo" in called["content"][0]["text"]
        removed = await editor.request(
            "tools/call", {"name": "registry_remove", "arguments": {"entry_id_or_prefix": "time"}}
        )
        assert removed["structuredContent"]["container_removed"] is True
        assert process.stdin is not None
        await process.stdin.aclose()
        with anyio.fail_after(10):
            assert await process.wait() == 0


async def test_modern_2026_07_28_through_the_sdk_client(registry_env: dict[str, str]) -> None:
    registry = str(Path(sys.executable).with_name("mcp-registry"))
    params = StdioServerParameters(command=registry, env=registry_env)
    async with Client(params, mode="2026-07-28") as client:
        assert client.protocol_version == "2026-07-28"
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "registry_search" in names
        found = await client.call_tool("registry_search", {"query": "time"})
        assert found.structured_content["results"][0]["id"] == "time"
        added = await client.call_tool("registry_add", {"entry_id": "time"})
        assert not added.is_error
        called = await client.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not called.is_error and "UTC" in called.content[0].text
        removed = await client.call_tool("registry_remove", {"entry_id_or_prefix": "time"})
        assert removed.structured_content["container_removed"] is True
        # An unprefixed mount: the server's own names, in this era too.
        unprefixed = await client.call_tool("registry_add", {"entry_id": "time", "prefix": ""})
        assert unprefixed.structured_content["unprefixed"] is True, unprefixed
        assert "get_current_time" in {tool.name for tool in (await client.list_tools()).tools}
        called = await client.call_tool("get_current_time", {"timezone": "UTC"})
        assert not called.is_error and "UTC" in called.content[0].text

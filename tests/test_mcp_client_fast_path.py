"""Tests for what the registry's hot path adds to MCPClient: held requests and raw large results."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from mcp_registry_server.mcp_client import MCPClient, MCPClientError, RawJSON
from mcp_registry_server.mcp_client.wire import RAW_LINE_MIN

FAKE_SERVER = Path(__file__).parent / "fake_servers" / "echo_jsonrpc.py"
CLIENT_INFO = {"name": "t", "version": "0"}


async def connect(*args: str) -> tuple[anyio.abc.Process, str]:
    return await anyio.open_process([sys.executable, str(FAKE_SERVER), *args]), "fake"


async def test_held_requests_wait_for_initialize_then_go() -> None:
    process, name = await connect()
    async with MCPClient.connect(process, name=name) as client:
        client.hold_until_initialized()
        answers: list[dict] = []

        async def early_call() -> None:
            answers.append(await client.request("echo", {"n": 1}))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(early_call)
            await anyio.sleep(0.2)
            assert answers == []  # still held: initialize has not run
            await client.initialize(CLIENT_INFO, {})
        assert answers == [{"params": {"n": 1}}]
        log = await client.request("notifications_log")
        assert log["notifications"][0] == "notifications/initialized"


async def test_held_requests_fail_with_the_handshake_error() -> None:
    process, name = await connect("--protocol-version", "1999-01-01")
    async with MCPClient.connect(process, name=name) as client:
        client.hold_until_initialized()
        errors: list[BaseException] = []

        async def early_call() -> None:
            try:
                await client.call_tool("anything", {})
            except MCPClientError as error:
                errors.append(error)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(early_call)
            await anyio.sleep(0.1)
            with pytest.raises(MCPClientError, match="1999-01-01"):
                await client.initialize(CLIENT_INFO, {})
        assert len(errors) == 1 and "did not complete the MCP handshake" in str(errors[0])


async def test_raw_requests_get_large_results_as_bytes_and_small_ones_as_dicts() -> None:
    process, name = await connect()
    async with MCPClient.connect(process, name=name) as client:
        size = RAW_LINE_MIN * 2
        raw = await client.request("big", {"size": size}, raw=True)
        assert isinstance(raw, RawJSON) and raw.decode() == {"data": "x" * size}
        assert await client.request("big", {"size": size}) == {"data": "x" * size}
        assert await client.request("big", {"size": 10}, raw=True) == {"data": "x" * 10}

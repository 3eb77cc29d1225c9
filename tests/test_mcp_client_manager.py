"""Tests for mcp_registry_server.mcp_client.manager: many clients, started and stopped independently."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from mcp_registry_server.mcp_client import (
    ClientManager,
    MCPClient,
    MCPClientError,
    MCPProcessExitedError,
    ShutdownTimeouts,
    StdioTransport,
)

FAKE_SERVER = Path(__file__).parent / "fake_servers" / "echo_jsonrpc.py"
FAST_SHUTDOWN = ShutdownTimeouts(stdin_close_grace=0.3, terminate_grace=0.3, kill_grace=1.0)


async def spawn_fake(*args: str) -> Process:
    return await anyio.open_process([sys.executable, str(FAKE_SERVER), *args])


async def test_start_and_stop_clients_independently() -> None:
    async with ClientManager() as manager:
        first = await manager.start("first", await spawn_fake())
        second = await manager.start("second", lambda: spawn_fake(), name="second server")
        assert set(manager) == {"first", "second"} and len(manager) == 2
        assert manager.get("second") is second and second.name == "second server"

        await manager.stop("first")
        assert "first" not in manager and manager.get("first") is None
        assert not first.is_alive and first.exit_code == 0
        with pytest.raises(MCPClientError):
            await first.request("echo")
        assert await second.request("echo", {"still": "alive"}) == {"params": {"still": "alive"}}
        await manager.stop("first")  # stopping twice is harmless

        again = await manager.start("first", spawn_fake)
        assert await again.request("echo") == {"params": {}}


async def test_a_crashing_client_does_not_disturb_the_others() -> None:
    async with ClientManager() as manager:
        doomed = await manager.start("doomed", spawn_fake)
        healthy = await manager.start("healthy", spawn_fake)
        with pytest.raises(MCPProcessExitedError):
            await doomed.request("crash", {"code": 7, "message": "fatal\n"})
        assert doomed.exit_code == 7
        assert await healthy.request("echo", {"n": 1}) == {"params": {"n": 1}}


async def test_a_client_whose_tasks_fail_is_removed_without_harming_siblings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original_receive = StdioTransport.receive

    async def receive_with_a_bug(self: StdioTransport) -> dict[str, Any]:
        message = await original_receive(self)
        if message.get("result", {}).get("params", {}).get("explode"):
            raise RuntimeError("a bug in the reader")
        return message

    monkeypatch.setattr(StdioTransport, "receive", receive_with_a_bug)
    async with ClientManager() as manager:
        broken = await manager.start("broken", spawn_fake)
        healthy = await manager.start("healthy", spawn_fake)
        with pytest.raises(MCPClientError):
            await broken.request("echo", {"explode": True})
        await anyio.wait_all_tasks_blocked()  # lets the broken client's task finish its cleanup
        assert "broken" not in manager
        assert await healthy.request("echo", {"n": 2}) == {"params": {"n": 2}}
    assert "client 'broken' failed" in caplog.text


async def test_start_reports_factory_errors_and_frees_the_key() -> None:
    async def failing_factory() -> Process:
        raise OSError("podman not found")

    async with ClientManager() as manager:
        with pytest.raises(OSError, match="podman not found"):
            await manager.start("x", failing_factory)
        assert "x" not in manager
        client = await manager.start("x", spawn_fake)
        with pytest.raises(ValueError, match="already running"):
            await manager.start("x", spawn_fake)
        assert await client.request("echo") == {"params": {}}


async def test_exit_closes_many_clients_concurrently_within_the_bound() -> None:
    clients: list[MCPClient] = []
    async with ClientManager(close_timeout=5.0) as manager:
        for i in range(12):
            clients.append(await manager.start(f"polite-{i}", spawn_fake))
        for i in range(6):
            process = await spawn_fake("--ignore-stdin-eof", "--ignore-sigterm")
            clients.append(await manager.start(f"stubborn-{i}", process, shutdown_timeouts=FAST_SHUTDOWN))
        for client in clients:
            assert await client.request("echo") == {"params": {}}
        started = anyio.current_time()
    # One after another, the stubborn ones alone would take 6 x 0.6 s.
    assert anyio.current_time() - started < 2.0
    assert [client.exit_code for client in clients] == [0] * 12 + [-9] * 6
    assert len(manager) == 0


async def test_exit_on_cancellation_still_closes_the_clients() -> None:
    clients: list[MCPClient] = []
    with anyio.move_on_after(0.5):
        async with ClientManager() as manager:
            for i in range(3):
                clients.append(await manager.start(f"c{i}", spawn_fake))
            await anyio.sleep_forever()
    assert [client.exit_code for client in clients] == [0, 0, 0]

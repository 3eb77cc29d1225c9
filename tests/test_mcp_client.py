"""Tests for mcp_registry_server.mcp_client (transport and client) against a fake server process."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from mcp_registry_server.mcp_client import (
    MCPClient,
    MCPClientClosedError,
    MCPProcessExitedError,
    MCPProtocolError,
    MCPRemoteError,
    MCPRequestCancelledError,
    MCPTimeoutError,
    ShutdownTimeouts,
)
from mcp_registry_server.mcp_client.transport import _LineSplitter

FAKE_SERVER = Path(__file__).parent / "fake_servers" / "echo_jsonrpc.py"
FAST_SHUTDOWN = ShutdownTimeouts(stdin_close_grace=0.3, terminate_grace=0.3, kill_grace=1.0)


async def spawn_fake(*args: str) -> Process:
    return await anyio.open_process([sys.executable, str(FAKE_SERVER), *args])


@asynccontextmanager
async def fake_client(*args: str, **options: Any) -> AsyncIterator[MCPClient]:
    process = await spawn_fake(*args)
    async with MCPClient.connect(process, name="fake", **options) as client:
        yield client


async def collect_error(client: MCPClient, errors: list[BaseException], method: str, params: Any) -> None:
    try:
        await client.request(method, params)
    except Exception as exc:
        errors.append(exc)


# --- framing -------------------------------------------------------------------------------------


def test_line_splitter_joins_chunks_and_keeps_the_tail() -> None:
    splitter = _LineSplitter()
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b':1}\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert splitter.feed(b"\n") == [b'{"c"']
    assert splitter.feed(b"tail") == []
    assert splitter.flush() == b"tail"


def test_line_splitter_is_linear_on_a_50_mb_line() -> None:
    splitter = _LineSplitter()
    chunk = b"x" * 65536
    started = time.perf_counter()
    for _ in range(800):
        assert splitter.feed(chunk) == []
    [line] = splitter.feed(b"\n")
    assert len(line) == 800 * 65536
    assert time.perf_counter() - started < 2.0


# --- requests and responses ----------------------------------------------------------------------


async def test_pipelines_200_concurrent_requests_answered_out_of_order() -> None:
    async with fake_client() as client:
        results: dict[int, dict[str, Any]] = {}

        async def one(i: int) -> None:
            results[i] = await client.request("hold", {"count": 200, "value": i})

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
        assert results == {i: {"value": i} for i in range(200)}
        assert client.requests_sent == 200
        assert client.in_flight == {}


async def test_20_mb_response_line_and_5_mb_request() -> None:
    async with fake_client() as client:
        result = await client.request("big", {"size": 20_000_000}, timeout=15)
        assert len(result["data"]) == 20_000_000
        payload = "é" * 5_000_000
        echoed = await client.request("echo", {"text": payload}, timeout=15)
        assert echoed["params"]["text"] == payload


async def test_garbage_lines_are_skipped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mcp_registry_server.mcp_client.transport"):
        async with fake_client() as client:
            assert await client.request("garbage") == {"ok": True}
            assert client.garbage_lines == 6
            assert await client.request("echo", {"n": 1}) == {"params": {"n": 1}}
    assert sum("not a JSON object" in record.message for record in caplog.records) == 6


async def test_remote_errors_carry_code_message_and_data() -> None:
    async with fake_client() as client:
        with pytest.raises(MCPRemoteError) as caught:
            await client.request("fail")
        assert (caught.value.code, caught.value.message, caught.value.data) == (
            -32602,
            "bad params",
            {"field": "x"},
        )
        assert "'fake'" in str(caught.value)
        with pytest.raises(MCPRemoteError) as unknown:
            await client.request("no/such/method")
        assert unknown.value.code == -32601


async def test_call_tool_returns_the_raw_result() -> None:
    async with fake_client() as client:
        result = await client.call_tool("add", {"a": 1})
        assert result == {
            "content": [{"type": "text", "text": '{"name": "add", "arguments": {"a": 1}}'}],
            "isError": False,
        }


# --- stderr and process exit ---------------------------------------------------------------------


async def test_10_mb_of_stderr_does_not_block_requests() -> None:
    lines: list[str] = []
    async with fake_client(on_stderr_line=lines.append) as client:
        # Written synchronously before the reply: without draining, the child would block forever.
        with anyio.fail_after(10):
            assert await client.request("stderr", {"size": 10 * 1024 * 1024}) == {"written": 10 * 1024 * 1024}
            await client.request("stderr_background", {"size": 10 * 1024 * 1024})
            for i in range(100):
                assert await client.request("echo", {"i": i}) == {"params": {"i": i}}
        tail = client.stderr_tail(100_000)
        assert 0 < len(tail) <= 65536
        assert set(tail) <= {"e", "\n"}
        assert len(lines) >= 10 * 1024


async def test_process_exit_fails_every_pending_request_at_once() -> None:
    async with fake_client() as client:
        errors: list[BaseException] = []
        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(collect_error, client, errors, "hold", {"count": 1000, "value": i})
            await anyio.sleep(0.1)
            started = anyio.current_time()
            tg.start_soon(collect_error, client, errors, "crash", {"code": 3, "message": "Traceback: boom\n"})
        elapsed = anyio.current_time() - started
        assert elapsed < 1.0
        assert len(errors) == 6
        for error in errors:
            assert isinstance(error, MCPProcessExitedError)
            assert error.exit_code == 3
            assert "boom" in str(error) and "'fake'" in str(error)
        assert not client.is_alive
        assert client.exit_code == 3
        assert "boom" in client.stderr_tail()

        started = anyio.current_time()
        with pytest.raises(MCPProcessExitedError, match="boom"):
            await client.request("echo")
        with pytest.raises(MCPProcessExitedError):
            await client.notify("notifications/whatever")
        assert anyio.current_time() - started < 0.05


# --- timeouts, cancellation and progress ---------------------------------------------------------


async def test_timeout_sends_notifications_cancelled() -> None:
    async with fake_client() as client:
        with pytest.raises(MCPTimeoutError, match="'never'") as caught:
            await client.request("never", timeout=0.2)
        assert isinstance(caught.value, TimeoutError)
        assert client.in_flight == {}
        log = await client.request("cancelled_log")
        assert log["cancelled"] == [{"requestId": 1, "reason": "timed out after 0.2 s"}]


async def test_cancelling_the_caller_sends_notifications_cancelled() -> None:
    async with fake_client() as client:
        with anyio.move_on_after(0.2):
            await client.request("never", timeout=10)
        assert client.in_flight == {}
        log = await client.request("cancelled_log")
        assert log["cancelled"] == [{"requestId": 1, "reason": "cancelled by the client"}]


async def test_cancel_by_id_fails_the_waiter_and_tells_the_server() -> None:
    async with fake_client() as client:
        errors: list[BaseException] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(collect_error, client, errors, "never", None)
            await anyio.wait_all_tasks_blocked()
            [request_id] = client.in_flight
            await client.cancel(request_id, "user pressed stop")
        assert len(errors) == 1 and isinstance(errors[0], MCPRequestCancelledError)
        log = await client.request("cancelled_log")
        assert log["cancelled"] == [{"requestId": request_id, "reason": "user pressed stop"}]


async def test_progress_is_routed_in_order_and_extends_the_timeout() -> None:
    notifications: list[str] = []

    async def on_notification(method: str, params: dict[str, Any] | None) -> None:
        notifications.append(method)

    async with fake_client(on_notification=on_notification) as client:
        seen: list[dict[str, Any]] = []

        async def on_progress(params: dict[str, Any]) -> None:
            await anyio.sleep(0.01)  # a slow callback must not reorder anything
            seen.append(params)

        # 6 x 0.15 s = 0.9 s in total, well past the 0.4 s timeout that each progress restarts.
        result = await client.request("progress", {"count": 6, "interval": 0.15}, timeout=0.4, on_progress=on_progress)
        assert result == {"done": True}
        assert [p["progress"] for p in seen] == [1, 2, 3, 4, 5, 6]
        assert seen[0] == {"progressToken": 1, "progress": 1, "total": 6, "message": "step 1"}
        assert "notifications/progress" not in notifications

        started = anyio.current_time()
        with pytest.raises(MCPTimeoutError):
            await client.request(
                "progress",
                {"count": 20, "interval": 0.1},
                timeout=0.3,
                max_timeout=0.6,
                on_progress=on_progress,
            )
        assert 0.55 < anyio.current_time() - started < 1.5


# --- messages from the server --------------------------------------------------------------------


async def test_notifications_are_routed_in_order() -> None:
    received: list[tuple[str, Any]] = []
    all_received = anyio.Event()

    async def on_notification(method: str, params: dict[str, Any] | None) -> None:
        await anyio.sleep(0.01)
        received.append((method, params))
        if len(received) == 50:
            all_received.set()

    async with fake_client(on_notification=on_notification) as client:
        started = anyio.current_time()
        assert await client.request("notify", {"count": 50}) == {"sent": 50}
        assert anyio.current_time() - started < 0.4  # the handler (0.5 s in all) does not hold it up
        with anyio.fail_after(5):
            await all_received.wait()
        assert received == [("notifications/message", {"level": "info", "data": i}) for i in range(50)]


async def test_server_requests_are_answered_by_on_request() -> None:
    async def on_request(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        if method == "roots/list":
            return {"roots": [{"uri": "file:///work", "name": "work"}]}
        if method == "sampling/createMessage":
            raise MCPRemoteError(-1, "user rejected sampling")
        raise RuntimeError("handler bug")

    async with fake_client(on_request=on_request) as client:
        result = await client.request("ask", {"method": "roots/list"})
        assert result["answer"] == {
            "jsonrpc": "2.0",
            "id": "srv-1",
            "result": {"roots": [{"uri": "file:///work", "name": "work"}]},
        }
        result = await client.request("ask", {"method": "sampling/createMessage"})
        assert result["answer"]["error"] == {"code": -1, "message": "user rejected sampling"}
        result = await client.request("ask", {"method": "elicitation/create"})
        assert result["answer"]["error"] == {"code": -32603, "message": "RuntimeError: handler bug"}
        result = await client.request("ask", {"method": "ping"})
        assert result["answer"]["result"] == {}


async def test_default_request_handling_answers_ping_and_refuses_the_rest() -> None:
    async with fake_client() as client:
        assert (await client.request("ask", {"method": "ping"}))["answer"]["result"] == {}
        answer = (await client.request("ask", {"method": "sampling/createMessage"}))["answer"]
        assert answer["error"]["code"] == -32601


async def test_server_can_cancel_its_own_request() -> None:
    handler_cancelled = anyio.Event()

    async def on_request(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        try:
            await anyio.sleep_forever()
        finally:
            handler_cancelled.set()
        return {}

    async with fake_client(on_request=on_request) as client:
        result = await client.request("ask", {"method": "elicitation/create", "cancel_after": 0.1})
        assert result == {"cancelled": "srv-1"}
        with anyio.fail_after(2):
            await handler_cancelled.wait()
        await anyio.sleep(0.05)
        assert (await client.request("client_responses"))["responses"] == {}


# --- MCP methods ---------------------------------------------------------------------------------


async def test_initialize_records_the_server_and_sends_initialized() -> None:
    async with fake_client() as client:
        result = await client.initialize({"name": "mcp-registry", "version": "0.1.0"}, {"roots": {}})
        assert result["serverInfo"] == {"name": "fake", "version": "1.0"}
        assert client.protocol_version == "2025-11-25"
        assert client.server_info == {"name": "fake", "version": "1.0"}
        assert client.server_capabilities == {"tools": {"listChanged": True}}
        assert client.instructions == "be nice"
        await client.notify("notifications/roots/list_changed")
        log = await client.request("notifications_log")
        assert log["notifications"] == ["notifications/initialized", "notifications/roots/list_changed"]


async def test_initialize_rejects_an_unknown_protocol_version() -> None:
    async with fake_client("--protocol-version", "1999-01-01") as client:
        with pytest.raises(MCPProtocolError, match="1999-01-01"):
            await client.initialize({"name": "t", "version": "0"}, {})


async def test_list_tools_follows_cursors() -> None:
    async with fake_client("--pages", "5") as client:
        tools = await client.list_tools()
        assert [tool["name"] for tool in tools] == [f"tool_{i}" for i in range(5)]
        assert client.requests_sent == 5


async def test_list_tools_stops_a_cursor_loop() -> None:
    async with fake_client("--cursor-loop") as client:
        with pytest.raises(MCPProtocolError, match="loops"):
            await client.list_tools()
        assert client.requests_sent == 2


# --- shutdown ------------------------------------------------------------------------------------


async def test_close_kills_a_child_that_ignores_stdin_eof_and_sigterm() -> None:
    process = await spawn_fake("--ignore-stdin-eof", "--ignore-sigterm")
    started = anyio.current_time()
    async with MCPClient.connect(process, name="stubborn", shutdown_timeouts=FAST_SHUTDOWN) as client:
        await client.request("echo")
        started = anyio.current_time()
    elapsed = anyio.current_time() - started
    assert 0.55 < elapsed < 1.5
    assert process.returncode == -9


async def test_close_terminates_a_child_that_ignores_stdin_eof() -> None:
    process = await spawn_fake("--ignore-stdin-eof")
    async with MCPClient.connect(process, name="lingering", shutdown_timeouts=FAST_SHUTDOWN) as client:
        await client.request("echo")
        started = anyio.current_time()
    assert anyio.current_time() - started < 0.6
    assert process.returncode == -15


async def test_close_fails_pending_requests_and_later_ones() -> None:
    errors: list[BaseException] = []
    async with anyio.create_task_group() as tg:
        async with fake_client() as client:
            tg.start_soon(collect_error, client, errors, "never", None)
            await anyio.sleep(0.1)
    assert len(errors) == 1 and isinstance(errors[0], MCPClientClosedError)
    with pytest.raises(MCPClientClosedError):
        await client.request("echo")


async def test_cancelling_the_owner_still_stops_the_process() -> None:
    process = await spawn_fake()
    with anyio.move_on_after(0.2):
        async with MCPClient.connect(process, name="cancelled") as client:
            await client.request("never", timeout=10)
    assert process.returncode == 0

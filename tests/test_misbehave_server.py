"""Tests for the fault-test server in ``tests/images/misbehave/misbehave_server.py``.

The script runs under the host Python over plain pipes, exactly as it runs in its container, and each
test speaks newline-delimited JSON-RPC to it by hand. Reader threads drain stdout and stderr all the
time, so a test never deadlocks on a full pipe; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parent / "images" / "misbehave" / "misbehave_server.py"
TIMEOUT = 5.0
MIB = 1024 * 1024

JsonObject = dict[str, Any]


class MisbehaveProcess:
    """The server in a subprocess, with stdout lines queued and stderr collected by threads."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr = bytearray()
        self.next_id = 0
        self.unclaimed: list[JsonObject] = []  # Messages read while waiting for some other reply.
        self.stdout_thread = threading.Thread(target=self._read_stdout, daemon=True)
        self.stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self.stdout_thread.start()
        self.stderr_thread.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip(b"\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(65536):
            self.stderr += chunk

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: JsonObject) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def request(self, method: str, params: JsonObject | None = None) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        return self.next_id

    def next_line(self, timeout: float = TIMEOUT) -> bytes | None:
        """The next raw stdout line, or None at EOF."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from the server within {timeout} s") from None

    def next_message(self, timeout: float = TIMEOUT) -> JsonObject:
        line = self.next_line(timeout)
        assert line is not None, "server closed stdout"
        return json.loads(line)

    def response(self, request_id: int, timeout: float = TIMEOUT) -> JsonObject:
        for index, message in enumerate(self.unclaimed):
            if message.get("id") == request_id and "method" not in message:
                return self.unclaimed.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(max(deadline - time.monotonic(), 0.01))
            if message.get("id") == request_id and "method" not in message:
                return message
            self.unclaimed.append(message)

    def call(self, name: str, arguments: JsonObject | None = None) -> JsonObject:
        request_id = self.request("tools/call", {"name": name, "arguments": arguments or {}})
        return self.response(request_id)["result"]

    def initialize(self, version: str = "2025-06-18") -> JsonObject:
        request_id = self.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
        )
        result = self.response(request_id)["result"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def assert_silent(self, seconds: float) -> None:
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"expected no output, got {line[:200]!r}")

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait_stderr(self, size: int, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while len(self.stderr) < size and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass  # stdin may have a broken pipe after a crash; nothing to flush.


@pytest.fixture
def start() -> Iterator[Callable[..., MisbehaveProcess]]:
    started: list[MisbehaveProcess] = []

    def _start(**env: str) -> MisbehaveProcess:
        server = MisbehaveProcess(env)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def server(start: Callable[..., MisbehaveProcess]) -> MisbehaveProcess:
    ready = start()
    ready.initialize()
    return ready


def text_of(result: JsonObject) -> str:
    return result["content"][0]["text"]


def test_initialize_echoes_known_version_and_falls_back_to_latest(
    start: Callable[..., MisbehaveProcess],
) -> None:
    proc = start()
    result = proc.initialize("2025-06-18")
    assert result == {
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": True}, "logging": {}},
        "serverInfo": {"name": "misbehave", "version": "1.0.0"},
    }
    assert proc.initialize("1999-01-01")["protocolVersion"] == "2025-11-25"


def test_ping_set_level_and_unknown_method(server: MisbehaveProcess) -> None:
    ping_id = server.request("ping")
    assert server.response(ping_id) == {"jsonrpc": "2.0", "id": ping_id, "result": {}}
    assert server.response(server.request("logging/setLevel", {"level": "warning"}))["result"] == {}
    error = server.response(server.request("resources/list"))["error"]
    assert error["code"] == -32601
    assert "resources/list" in error["message"]


def test_malformed_json_gives_parse_error_and_serving_continues(server: MisbehaveProcess) -> None:
    server.send_raw(b'{"jsonrpc": "2.0", "id": \n')
    error = server.next_message()
    assert error["id"] is None
    assert error["error"]["code"] == -32700
    assert server.response(server.request("ping"))["result"] == {}


def test_tools_list_has_schemas_and_annotations(server: MisbehaveProcess) -> None:
    tools = server.response(server.request("tools/list"))["result"]["tools"]
    names = [tool["name"] for tool in tools]
    assert names == [
        "echo",
        "add",
        "crash",
        "hang",
        "garbage",
        "big_result",
        "big_stderr",
        "notify_then_reply",
        "slow",
        "stderr_line",
        "env",
        "change_tools",
        "cancellations",
    ]
    assert all(tool["inputSchema"]["type"] == "object" and tool["description"] for tool in tools)
    echo = tools[0]
    assert echo["outputSchema"]["properties"] == {"text": {"type": "string"}}
    assert echo["annotations"] == {"readOnlyHint": True}


def test_tools_list_paginates(start: Callable[..., MisbehaveProcess]) -> None:
    proc = start(MISBEHAVE_PAGE_SIZE="2")
    proc.initialize()
    names: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"cursor": cursor} if cursor is not None else {}
        result = proc.response(proc.request("tools/list", params))["result"]
        assert len(result["tools"]) <= 2
        names += [tool["name"] for tool in result["tools"]]
        pages += 1
        cursor = result.get("nextCursor")
        if cursor is None:
            break
    assert pages == 7
    assert names[0] == "echo" and names[-1] == "cancellations" and len(set(names)) == 13
    bad = proc.response(proc.request("tools/list", {"cursor": "not-a-cursor"}))
    assert bad["error"]["code"] == -32602


def test_thousand_synthetic_tools_list_fast(start: Callable[..., MisbehaveProcess]) -> None:
    proc = start(MISBEHAVE_TOOL_COUNT="1000")
    proc.initialize()
    began = time.monotonic()
    tools = proc.response(proc.request("tools/list"))["result"]["tools"]
    assert time.monotonic() - began < 1.0
    synthetic = [tool["name"] for tool in tools if tool["name"].startswith("synthetic_")]
    assert synthetic[0] == "synthetic_0000" and synthetic[-1] == "synthetic_0999" and len(synthetic) == 1000
    assert json.loads(text_of(proc.call("synthetic_0999", {"value": "v"}))) == {"value": "v"}


def test_echo_and_add(server: MisbehaveProcess) -> None:
    echo = server.call("echo", {"text": "héllo"})
    assert echo["content"] == [{"type": "text", "text": "héllo"}]
    assert echo["structuredContent"] == {"text": "héllo"}
    assert echo["isError"] is False
    added = server.call("add", {"a": 2, "b": 3.5})
    assert text_of(added) == "5.5" and added["structuredContent"] == {"sum": 5.5}


def test_many_adds_in_flight_each_answer_matches_its_call(server: MisbehaveProcess) -> None:
    ids = {server.request("tools/call", {"name": "add", "arguments": {"a": i, "b": 1000}}): i for i in range(50)}
    for request_id, i in ids.items():
        assert server.response(request_id)["result"]["structuredContent"] == {"sum": i + 1000}


def test_bad_arguments_and_unknown_tool_are_tool_errors(server: MisbehaveProcess) -> None:
    bad = server.call("add", {"a": "one", "b": 2})
    assert bad["isError"] is True and "'a'" in text_of(bad)
    missing = server.call("echo", {})
    assert missing["isError"] is True and "'text'" in text_of(missing)
    unknown = server.call("no_such_tool")
    assert unknown["isError"] is True and "no_such_tool" in text_of(unknown)


def test_garbage_lines_come_before_the_reply(server: MisbehaveProcess) -> None:
    request_id = server.request("tools/call", {"name": "garbage", "arguments": {"lines": 4}})
    garbage: list[bytes] = []
    while True:
        line = server.next_line()
        assert line is not None
        try:
            message = json.loads(line)
        except ValueError:
            garbage.append(line)
            continue
        break
    assert len(garbage) == 4
    assert garbage[0] == b"this is not json" and garbage[3] == b""
    for line in garbage:
        line.decode("utf-8")  # Raises if a strict UTF-8 reader would choke on the stream itself.
    assert message["id"] == request_id and text_of(message["result"]) == "ok"


def test_big_result_is_exact_size_on_one_line(server: MisbehaveProcess) -> None:
    text = text_of(server.call("big_result", {"megabytes": 2.5}))
    assert len(text) == int(2.5 * MIB) and set(text) == {"x"}


def test_big_stderr_does_not_block_when_drained(server: MisbehaveProcess) -> None:
    assert text_of(server.call("big_stderr", {"megabytes": 4})) == "ok"
    server.wait_stderr(4 * MIB)
    assert len(server.stderr) == 4 * MIB


def test_hang_cancelled_never_replies_while_echo_is_served(server: MisbehaveProcess) -> None:
    hung = [server.request("tools/call", {"name": "hang", "arguments": {}}) for _ in range(3)]
    assert text_of(server.call("echo", {"text": "still here"})) == "still here"
    for request_id in hung:
        server.send(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "test"},
            }
        )
    assert server.response(server.request("ping"))["result"] == {}
    server.assert_silent(0.3)
    assert server.unclaimed == []


def test_hang_replies_after_its_seconds(server: MisbehaveProcess) -> None:
    assert text_of(server.call("hang", {"seconds": 0.1})).startswith("hung for")


def test_crash_exits_with_code_and_message(server: MisbehaveProcess) -> None:
    server.request("tools/call", {"name": "crash", "arguments": {"exit_code": 7, "message": "boom"}})
    assert server.next_line() is None
    assert server.proc.wait(TIMEOUT) == 7
    server.stderr_thread.join(TIMEOUT)
    assert b"boom\n" in server.stderr


def test_notify_then_reply_sends_notifications_in_order(server: MisbehaveProcess) -> None:
    request_id = server.request(
        "tools/call",
        {"name": "notify_then_reply", "arguments": {"count": 2}, "_meta": {"progressToken": "tok"}},
    )
    messages = [server.next_message() for _ in range(5)]
    assert [m.get("method") for m in messages] == [
        "notifications/message",
        "notifications/progress",
        "notifications/message",
        "notifications/progress",
        None,
    ]
    assert [m["params"]["data"] for m in messages[0:4:2]] == ["note 1", "note 2"]
    assert messages[1]["params"] == {"progressToken": "tok", "progress": 1, "total": 2}
    assert messages[4]["id"] == request_id and text_of(messages[4]["result"]) == "done"


def test_set_level_above_info_silences_log_notifications(server: MisbehaveProcess) -> None:
    server.response(server.request("logging/setLevel", {"level": "error"}))
    request_id = server.request("tools/call", {"name": "notify_then_reply", "arguments": {"count": 2}})
    assert server.next_message()["id"] == request_id


def test_slow_sends_progress_then_replies(server: MisbehaveProcess) -> None:
    request_id = server.request(
        "tools/call", {"name": "slow", "arguments": {"seconds": 0.6}, "_meta": {"progressToken": 9}}
    )
    progress = server.next_message()
    assert progress["method"] == "notifications/progress" and progress["params"]["progressToken"] == 9
    assert text_of(server.response(request_id)["result"]) == "slept"


def test_change_tools_toggles_extra_tool_and_notifies(server: MisbehaveProcess) -> None:
    request_id = server.request("tools/call", {"name": "change_tools", "arguments": {}})
    assert server.next_message()["method"] == "notifications/tools/list_changed"
    assert text_of(server.response(request_id)["result"]) == "changed"
    names = [tool["name"] for tool in server.response(server.request("tools/list"))["result"]["tools"]]
    assert names[-1] == "extra_tool"
    assert text_of(server.call("extra_tool")) == "extra"


def test_env_and_stderr_line(start: Callable[..., MisbehaveProcess]) -> None:
    proc = start(MISBEHAVE_TEST_VALUE="forty-two")
    proc.initialize()
    assert text_of(proc.call("env", {"name": "MISBEHAVE_TEST_VALUE"})) == "forty-two"
    assert text_of(proc.call("env", {"name": "MISBEHAVE_UNSET_VALUE"})) == ""
    assert text_of(proc.call("stderr_line", {"text": "to stderr"})) == "ok"
    proc.wait_stderr(len("to stderr\n"))
    assert proc.stderr.endswith(b"to stderr\n")


def test_eof_exits_cleanly_with_hangs_pending(server: MisbehaveProcess) -> None:
    for _ in range(2):
        server.request("tools/call", {"name": "hang", "arguments": {}})
    server.close_stdin()
    assert server.proc.wait(TIMEOUT) == 0
    assert server.next_line() is None


def test_start_delay_and_never_init(start: Callable[..., MisbehaveProcess]) -> None:
    began = time.monotonic()
    slow = start(MISBEHAVE_START_DELAY="0.3")
    never = start(MISBEHAVE_NEVER_INIT="1")
    slow.initialize()
    assert time.monotonic() - began >= 0.3
    never.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}})
    assert never.response(never.request("ping"))["id"] == 2
    never.assert_silent(0.2)
    never.close_stdin()
    assert never.proc.wait(TIMEOUT) == 0

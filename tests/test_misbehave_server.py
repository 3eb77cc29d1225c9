"""Tests for the fault-test server in ``tests/images/misbehave/misbehave_server.py``.

The script runs under the host Python over plain pipes, exactly as it runs in its container, and each
test speaks newline-delimited JSON-RPC to it by hand (one test drives it with the SDK's client, to prove
the mid-call requests parse in a real client). Reader threads drain stdout and stderr all the
time, so a test never deadlocks on a full pipe; every wait is bounded.
"""

from __future__ import annotations

import io
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

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
        while chunk := cast(io.BufferedReader, self.proc.stderr).read1(65536):
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

    def next_server_request(self, timeout: float = TIMEOUT) -> JsonObject:
        """The next server->client request (one with both `method` and `id`)."""
        for index, message in enumerate(self.unclaimed):
            if "method" in message and "id" in message:
                return self.unclaimed.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(max(deadline - time.monotonic(), 0.01))
            if "method" in message and "id" in message:
                return message
            self.unclaimed.append(message)

    def answer(self, request: JsonObject, result: JsonObject) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": result})

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
        raise AssertionError(f"expected no output, got {line!r:.200}")

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
        "capabilities": {"tools": {"listChanged": True}, "logging": {}, "prompts": {}, "resources": {}},
        "serverInfo": {"name": "misbehave", "version": "1.0.0"},
    }
    assert proc.initialize("1999-01-01")["protocolVersion"] == "2025-11-25"


def test_ping_set_level_and_unknown_method(server: MisbehaveProcess) -> None:
    ping_id = server.request("ping")
    assert server.response(ping_id) == {"jsonrpc": "2.0", "id": ping_id, "result": {}}
    assert server.response(server.request("logging/setLevel", {"level": "warning"}))["result"] == {}
    error = server.response(server.request("no/such_method"))["error"]
    assert error["code"] == -32601
    assert "no/such_method" in error["message"]


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
        "ask",
        "unknown_fields",
        "invalid_result",
        "url_required",
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
    assert pages == 9
    assert names[0] == "echo" and names[-1] == "url_required" and len(set(names)) == 17
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


# --- asking the client mid-call ------------------------------------------------------------------

SAMPLED = {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m", "stopReason": "endTurn"}
ACCEPTED = {"action": "accept", "content": {"name": "Ada", "count": 2}}
ROOTS = {"roots": [{"uri": "file:///work", "name": "work"}]}


def ask(server: MisbehaveProcess, **arguments: Any) -> int:
    return server.request("tools/call", {"name": "ask", "arguments": arguments})


def answers_of(result: JsonObject) -> list[JsonObject]:
    assert result["isError"] is False, result
    assert json.loads(text_of(result)) == result["structuredContent"]
    return result["structuredContent"]["answers"]


@pytest.mark.parametrize(
    ("kind", "method", "answer"),
    [
        ("sampling", "sampling/createMessage", SAMPLED),
        ("elicitation", "elicitation/create", ACCEPTED),
        ("roots", "roots/list", ROOTS),
    ],
)
def test_ask_sends_one_request_and_reports_the_answer_verbatim(
    server: MisbehaveProcess, kind: str, method: str, answer: JsonObject
) -> None:
    call_id = ask(server, asks=kind)
    request = server.next_server_request()
    assert request["method"] == method
    assert isinstance(request["id"], str) and request["id"].startswith("misbehave-")
    server.assert_silent(0.1)  # No reply before the client answered.
    server.answer(request, answer)
    assert answers_of(server.response(call_id)["result"]) == [{"ask": kind, "method": method, "result": answer}]


def test_ask_request_shapes(start: Callable[..., MisbehaveProcess]) -> None:
    proc = start()
    proc.initialize("2025-11-25")
    kinds = ["sampling", "sampling_tools", "elicitation", "roots"]
    ask(proc, asks=kinds, concurrent=True)
    requests = [proc.next_server_request() for _ in kinds]
    prompt = [{"role": "user", "content": {"type": "text", "text": "misbehave asks: say hello"}}]
    assert requests[0]["params"] == {"messages": prompt, "maxTokens": 64}
    assert requests[1]["params"]["toolChoice"] == {"mode": "auto"}
    assert [tool["name"] for tool in requests[1]["params"]["tools"]] == ["lookup"]
    elicitation = requests[2]["params"]
    assert elicitation["mode"] == "form" and elicitation["message"] == "misbehave asks: who are you?"
    assert elicitation["requestedSchema"]["required"] == ["name"]
    assert "params" not in requests[3]
    assert len({request["id"] for request in requests}) == 4

    older = start()
    older.initialize("2025-06-18")
    ask(older, asks="elicitation")
    assert "mode" not in older.next_server_request()["params"]  # `mode` is new in 2025-11-25.


def test_ask_sequence_asks_the_next_only_after_an_answer(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks=["elicitation", "sampling", "elicitation"])
    first = server.next_server_request()
    assert first["method"] == "elicitation/create"
    server.assert_silent(0.2)
    server.answer(first, ACCEPTED)
    second = server.next_server_request()
    assert second["method"] == "sampling/createMessage"
    server.answer(second, SAMPLED)
    third = server.next_server_request()
    server.answer(third, {"action": "decline"})
    assert [answer.get("result") for answer in answers_of(server.response(call_id)["result"])] == [
        ACCEPTED,
        SAMPLED,
        {"action": "decline"},
    ]


def test_ask_concurrent_sends_all_before_waiting_and_keeps_the_order(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks=["sampling", "roots"], concurrent=True)
    sampling, roots = server.next_server_request(), server.next_server_request()
    assert (sampling["method"], roots["method"]) == ("sampling/createMessage", "roots/list")
    server.answer(roots, ROOTS)  # Answer out of order.
    server.assert_silent(0.1)
    server.answer(sampling, SAMPLED)
    answers = answers_of(server.response(call_id)["result"])
    assert [(answer["ask"], answer["result"]) for answer in answers] == [("sampling", SAMPLED), ("roots", ROOTS)]


def test_ask_reports_an_error_response_and_ignores_strangers(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks=["roots", "sampling"])
    request = server.next_server_request()
    server.send({"jsonrpc": "2.0", "id": "not-asked", "result": {}})
    server.send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "no roots", "data": [1]}})
    server.answer(server.next_server_request(), SAMPLED)
    assert answers_of(server.response(call_id)["result"]) == [
        {"ask": "roots", "method": "roots/list", "error": {"code": -32601, "message": "no roots", "data": [1]}},
        {"ask": "sampling", "method": "sampling/createMessage", "result": SAMPLED},
    ]


def test_ask_url_elicitation_completes_after_accept_only(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks=["elicitation_url", "elicitation_url"])
    first = server.next_server_request()
    params = first["params"]
    elicitation_id = params["elicitationId"]
    assert params == {
        "mode": "url",
        "message": "misbehave asks: open this page to continue",
        "url": f"https://example.invalid/misbehave/consent?elicitation={elicitation_id}",
        "elicitationId": elicitation_id,
    }
    server.answer(first, {"action": "accept"})
    complete = server.next_message()
    assert complete == {
        "jsonrpc": "2.0",
        "method": "notifications/elicitation/complete",
        "params": {"elicitationId": elicitation_id},
    }
    second = server.next_server_request()
    assert second["params"]["elicitationId"] != elicitation_id
    server.answer(second, {"action": "decline"})
    reply = server.next_message()  # No completion for a declined URL: the reply comes next.
    assert reply["id"] == call_id
    answers = answers_of(reply["result"])
    assert answers[0] == {
        "ask": "elicitation_url",
        "method": "elicitation/create",
        "elicitationId": elicitation_id,
        "result": {"action": "accept"},
    }
    assert answers[1]["result"] == {"action": "decline"}


def test_ask_cancelled_while_waiting_never_replies(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks="sampling")
    request = server.next_server_request()
    server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": call_id}})
    server.answer(request, SAMPLED)  # A late answer is dropped.
    assert server.response(server.request("ping"))["result"] == {}
    server.assert_silent(0.3)


def test_ask_timeout_and_bad_arguments_are_tool_errors(server: MisbehaveProcess) -> None:
    call_id = ask(server, asks="roots", timeout=0.2)
    server.next_server_request()
    timed_out = server.response(call_id)["result"]
    assert timed_out["isError"] is True and "roots/list" in text_of(timed_out) and "0.2 s" in text_of(timed_out)
    bad_arguments: list[JsonObject] = [
        {"asks": "telepathy"},
        {"asks": []},
        {"asks": ["roots", 1]},
        {"concurrent": "yes"},
    ]
    for bad in bad_arguments:
        result = server.call("ask", bad)
        assert result["isError"] is True, bad


def test_ask_tool_prompt_and_resource_have_icons(server: MisbehaveProcess) -> None:
    tools = server.response(server.request("tools/list"))["result"]["tools"]
    ask_tool = next(tool for tool in tools if tool["name"] == "ask")
    prompt = server.response(server.request("prompts/list"))["result"]["prompts"][0]
    resource = server.response(server.request("resources/list"))["result"]["resources"][0]
    for icons in (ask_tool["icons"], prompt["icons"], resource["icons"]):
        assert icons[0]["src"].startswith("data:image/svg+xml;base64,") and icons[0]["sizes"] == ["any"]
        assert icons[1]["theme"] == "dark"
    assert ask_tool["inputSchema"]["properties"]["concurrent"] == {"type": "boolean", "default": False}


def test_prompt_and_resource(server: MisbehaveProcess) -> None:
    got = server.response(server.request("prompts/get", {"name": "greeting", "arguments": {"name": "Ada"}}))
    assert got["result"]["messages"] == [{"role": "user", "content": {"type": "text", "text": "Hello, Ada!"}}]
    assert server.response(server.request("prompts/get", {"name": "nope"}))["error"]["code"] == -32602
    read = server.response(server.request("resources/read", {"uri": "misbehave://readme"}))["result"]
    assert read["contents"][0]["uri"] == "misbehave://readme" and read["contents"][0]["text"].startswith("misbehave")
    missing = server.response(server.request("resources/read", {"uri": "misbehave://nope"}))["error"]
    assert missing == {"code": -32002, "message": "Resource not found", "data": {"uri": "misbehave://nope"}}
    assert server.response(server.request("resources/templates/list"))["result"] == {"resourceTemplates": []}


def test_unknown_fields_and_invalid_result(server: MisbehaveProcess) -> None:
    assert server.call("unknown_fields") == {
        "content": [{"type": "text", "text": "unknown fields", "x-misbehave-item": {"kept": True}}],
        "isError": False,
        "x-misbehave-top": {"kept": True, "list": [1, 2, 3]},
    }
    assert server.call("invalid_result") == {"content": "oops"}


def test_url_required_answers_error_32042(server: MisbehaveProcess) -> None:
    response = server.response(server.request("tools/call", {"name": "url_required", "arguments": {}}))
    assert response["error"]["code"] == -32042
    assert response["error"]["data"]["elicitations"][0]["elicitationId"] == "misbehave-sign-in"


# --- server/discover (2026-07-28) before initialize ----------------------------------------------

DISCOVER_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("", {"code": -32601, "message": "method not found: 'server/discover'"}),
        ("invalid_params", {"code": -32602, "message": "Invalid request parameters", "data": ""}),
    ],
)
def test_discover_is_an_error_and_initialize_still_works(
    start: Callable[..., MisbehaveProcess], mode: str, error: JsonObject
) -> None:
    proc = start(MISBEHAVE_DISCOVER=mode)
    discover_id = proc.request("server/discover", {"_meta": DISCOVER_META})
    assert proc.response(discover_id) == {"jsonrpc": "2.0", "id": discover_id, "error": error}
    assert proc.initialize("2025-11-25")["protocolVersion"] == "2025-11-25"
    assert text_of(proc.call("echo", {"text": "after discover"})) == "after discover"


def test_discover_ignored_or_crash(start: Callable[..., MisbehaveProcess]) -> None:
    silent = start(MISBEHAVE_DISCOVER="ignore")
    silent.request("server/discover", {"_meta": DISCOVER_META})
    silent.assert_silent(0.3)
    assert silent.initialize()["serverInfo"]["name"] == "misbehave"

    crashing = start(MISBEHAVE_DISCOVER="crash")
    crashing.request("server/discover", {"_meta": DISCOVER_META})
    assert crashing.next_line() is None
    assert crashing.proc.wait(TIMEOUT) == 1


# --- the real SDK client answers the asks --------------------------------------------------------


async def test_sdk_client_answers_every_kind_of_ask() -> None:
    """The request shapes parse in the MCP SDK's client, and its answers come back intact."""
    import mcp_types as types
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters
    from pydantic import FileUrl

    async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="hello"), model="m", stop_reason="endTurn"
        )

    async def elicitation(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if isinstance(params, types.ElicitRequestURLParams):
            return types.ElicitResult(action="accept")
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=FileUrl("file:///work"), name="work")])

    params = StdioServerParameters(command=sys.executable, args=[str(SCRIPT)])
    async with Client(
        params,
        mode="legacy",
        sampling_callback=sampling,
        sampling_capabilities=types.SamplingCapability(tools=types.SamplingToolsCapability()),
        elicitation_callback=elicitation,
        list_roots_callback=roots,
    ) as client:
        kinds = ["elicitation", "sampling", "roots", "elicitation_url", "sampling_tools"]
        result = await client.call_tool("ask", {"asks": kinds, "concurrent": True})
        answers = result.structured_content["answers"]
        assert [answer["ask"] for answer in answers] == kinds
        assert answers[0]["result"] == {"action": "accept", "content": {"name": "Ada"}}
        assert answers[1]["result"]["content"] == {"type": "text", "text": "hello"}
        assert answers[2]["result"] == {"roots": [{"uri": "file:///work", "name": "work"}]}
        assert answers[3]["result"] == {"action": "accept"}
        assert answers[4]["result"]["content"] == {"type": "text", "text": "hello"}

"""The editor's stdio (`stdio_transport.stdio_server`) on explicit pipes: what reaches the SDK, what the
lane takes, what malformed lines are answered with, EOF, and the writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from anyio.abc import TaskGroup
from mcp.shared.message import SessionMessage

from mcp_registry_server.server.inbound import PlainRequest
from mcp_registry_server.server.stdio_transport import WireWriter, stdio_server
from tests.server.wire import EditorWire


@dataclass
class RecordingLane:
    """Takes requests for `lane/…` methods and notifications/cancelled; records everything offered."""

    taken: list[PlainRequest] = field(default_factory=list)
    offered: list[Any] = field(default_factory=list)
    bound: tuple[WireWriter, TaskGroup] | None = None

    def bind(self, writer: WireWriter, tasks: TaskGroup) -> None:
        self.bound = (writer, tasks)

    def take(self, request: PlainRequest) -> bool:
        assert self.bound is not None, "bind comes before the first take"
        if request.method.startswith("lane/"):
            self.taken.append(request)
            return True
        return False

    def offer(self, message: types.JSONRPCMessage) -> bool:
        self.offered.append(message)
        return isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled"


@dataclass
class Pipes:
    editor: EditorWire
    received: Any  # the SDK's read stream
    writer: WireWriter
    to_registry: int

    async def next_for_sdk(self) -> types.JSONRPCMessage:
        with anyio.fail_after(5):
            item = await self.received.receive()
        assert isinstance(item, SessionMessage), item
        return item.message

    def close_input(self) -> None:
        os.close(self.to_registry)
        self.to_registry = -1


@asynccontextmanager
async def pipes(lane: Any = None) -> AsyncIterator[Pipes]:
    to_registry_r, to_registry_w = os.pipe()
    from_registry_r, from_registry_w = os.pipe()
    os.set_blocking(to_registry_w, False)
    os.set_blocking(from_registry_r, False)
    wire = Pipes(EditorWire(to_registry_w, from_registry_r), None, None, to_registry_w)  # type: ignore[arg-type]
    try:
        with anyio.fail_after(10):
            async with stdio_server(lane, fds=(to_registry_r, from_registry_w)) as (received, writer):
                wire.received, wire.writer = received, writer
                yield wire
    finally:
        for fd in (to_registry_r, wire.to_registry, from_registry_r, from_registry_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


# -- what reaches the SDK ------------------------------------------------------------------------------


async def test_requests_notifications_and_responses_reach_the_sdk_in_order() -> None:
    async with pipes() as p:
        await p.editor.send(
            b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}}\n'
            b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
            b'{"jsonrpc":"2.0","id":"s-1","result":{"roots":[]}}\n'
        )
        request, notification, response = [await p.next_for_sdk() for _ in range(3)]
    assert isinstance(request, types.JSONRPCRequest)
    assert (request.id, request.method, request.params) == (1, "tools/list", {"cursor": "c"})
    assert isinstance(notification, types.JSONRPCNotification) and notification.method == "notifications/initialized"
    assert isinstance(response, types.JSONRPCResponse) and response.id == "s-1"


async def test_a_line_split_across_writes_and_blank_lines_are_read_once() -> None:
    async with pipes() as p:
        await p.editor.send(b'\n   \n{"jsonrpc":"2.0","id":7,')
        await anyio.sleep(0.02)
        await p.editor.send(b'"method":"ping"}\n\n')
        message = await p.next_for_sdk()
        await p.editor.send(b'{"jsonrpc":"2.0","id":8,"method":"ping"}\n')
        after = await p.next_for_sdk()
    assert isinstance(message, types.JSONRPCRequest) and message.id == 7 and after.id == 8  # type: ignore[union-attr]


async def test_requests_with_null_params_or_invalid_utf8_still_reach_the_sdk() -> None:
    async with pipes() as p:
        await p.editor.send(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":null}\n')
        first = await p.next_for_sdk()
        await p.editor.send(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"\xff"}}\n')
        second = await p.next_for_sdk()
    assert isinstance(first, types.JSONRPCRequest) and first.id == 1
    assert isinstance(second, types.JSONRPCRequest) and second.params == {"name": "\ufffd"}


# -- malformed lines are answered here ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "reply_id", "fragment"),
    [
        (b"{this is not json", -32700, None, "Parse error"),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, None, "a batch"),
        (b"42", -32600, None, "not a JSON object"),
        (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, None, "its id must be a string or an integer"),
        (b'{"jsonrpc":"2.0","id":[1],"method":"ping"}', -32600, None, "its id must be"),
        (b'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":[1,2]}', -32600, 9, "params must be an object"),
        (b'{"jsonrpc":"1.0","id":"a","method":"ping"}', -32600, "a", "not a valid JSON-RPC 2.0 request"),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, None, "its id must be a string or an integer"),
    ],
)
async def test_a_malformed_line_is_answered_and_never_reaches_the_sdk(
    line: bytes, code: int, reply_id: Any, fragment: str
) -> None:
    async with pipes() as p:
        await p.editor.send(line + b"\n" + b'{"jsonrpc":"2.0","id":"next","method":"ping"}\n')
        with anyio.fail_after(5):
            reply = await p.editor.next_message()
        following = await p.next_for_sdk()
    assert reply["jsonrpc"] == "2.0" and reply["id"] == reply_id and "id" in reply
    assert reply["error"]["code"] == code and fragment in reply["error"]["message"]
    assert isinstance(following, types.JSONRPCRequest) and following.id == "next"  # the bad line was not passed on


@pytest.mark.parametrize(
    "line",
    [b'{"jsonrpc":"2.0","id":1,"result":5}', b'{"id":1,"error":{"code":"x"}}', b'{"jsonrpc":"2.0","result":{}}'],
)
async def test_a_malformed_response_is_dropped_without_an_answer(line: bytes) -> None:
    async with pipes() as p:
        await p.editor.send(line + b"\n" + b'{"jsonrpc":"2.0","id":"next","method":"ping"}\n')
        following = await p.next_for_sdk()
        await p.writer.write_line(b'{"marker":true}\n')
        with anyio.fail_after(5):
            first_output = await p.editor.next_message()
    assert isinstance(following, types.JSONRPCRequest) and following.id == "next"
    assert first_output == {"marker": True}  # nothing was written for the response


# -- the lane --------------------------------------------------------------------------------------------


async def test_the_lane_is_offered_every_message_and_what_it_takes_skips_the_sdk() -> None:
    lane = RecordingLane()
    async with pipes(lane) as p:
        assert lane.bound is not None and lane.bound[0] is p.writer
        await p.editor.send(
            b'{"jsonrpc":"2.0","id":1,"method":"lane/fast","params":{"a":1}}\n'
            b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}\n'
            b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n'
            b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n'
        )
        progress, ping = await p.next_for_sdk(), await p.next_for_sdk()
    assert [(r.id, r.method, r.params) for r in lane.taken] == [(1, "lane/fast", {"a": 1})]
    assert [m.method for m in lane.offered] == ["notifications/cancelled", "notifications/progress"]
    assert isinstance(progress, types.JSONRPCNotification) and progress.method == "notifications/progress"
    assert isinstance(ping, types.JSONRPCRequest) and ping.id == 2


# -- EOF, backpressure, descriptors -------------------------------------------------------------------------


async def test_eof_flushes_a_last_line_without_newline_and_ends_the_stream() -> None:
    async with pipes() as p:
        await p.editor.send(b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
        p.close_input()
        message = await p.next_for_sdk()
        with anyio.fail_after(5), pytest.raises(anyio.EndOfStream):
            await p.received.receive()
    assert isinstance(message, types.JSONRPCRequest) and message.id == 1


async def test_many_lines_at_once_all_arrive_in_order_while_the_sdk_is_slow() -> None:
    count = 500  # far past the SDK buffer: reading pauses, then resumes
    lines = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % n for n in range(count))
    async with pipes() as p:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(p.editor.send, lines)
            await anyio.sleep(0.05)
            ids = [(await p.next_for_sdk()).id for _ in range(count)]  # type: ignore[union-attr]
    assert ids == list(range(count))


async def test_explicit_descriptors_leave_stdio_alone_and_are_restored() -> None:
    before = [os.fstat(fd) for fd in (0, 1)]
    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    try:
        async with stdio_server(None, fds=(read_end, out_write)):
            assert [os.fstat(fd) for fd in (0, 1)] == before
            assert not os.get_blocking(read_end)  # driven from the event loop while serving
        assert os.get_blocking(read_end) and os.get_blocking(out_write)  # restored
        assert [os.fstat(fd) for fd in (0, 1)] == before
    finally:
        for fd in (read_end, write_end, out_read, out_write):
            os.close(fd)


async def test_a_regular_file_as_stdin_is_read_to_the_end(tmp_path: Path) -> None:
    source = tmp_path / "input.jsonl"
    source.write_bytes(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}')
    output = tmp_path / "output.jsonl"
    read_fd = os.open(source, os.O_RDONLY)
    write_fd = os.open(output, os.O_WRONLY | os.O_CREAT)
    try:
        with anyio.fail_after(5):
            async with stdio_server(None, fds=(read_fd, write_fd)) as (received, writer):
                ids = [(await received.receive()).message.id for _ in range(2)]
                with pytest.raises(anyio.EndOfStream):
                    await received.receive()
                await writer.write_line(b'{"ok":1}\n')
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert ids == [1, 2] and output.read_bytes() == b'{"ok":1}\n'


# -- the writer ------------------------------------------------------------------------------------------


async def test_concurrent_large_lines_are_written_whole_and_never_interleave() -> None:
    lines = [json.dumps({"n": n, "pad": chr(97 + n) * 3_000_000}).encode() + b"\n" for n in range(3)]
    async with pipes() as p:
        received: list[dict[str, Any]] = []

        async def read_all() -> None:
            for _ in lines:
                received.append(await p.editor.next_message())

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(read_all)
                for line in lines:
                    tasks.start_soon(p.writer.write_line, line)
    assert sorted(message["n"] for message in received) == [0, 1, 2]
    for message in received:
        assert message["pad"] == chr(97 + message["n"]) * 3_000_000


async def test_writes_after_the_editor_is_gone_are_dropped() -> None:
    async with pipes() as p:
        os.close(p.editor._in)  # the editor closed its end of our output
        await p.writer.write_line(b'{"a":1}\n')  # EPIPE: no exception
        await p.writer.write_line(b'{"b":2}\n')
        await p.writer.send(SessionMessage(types.JSONRPCNotification(jsonrpc="2.0", method="x")))
        p.editor._in = os.open(os.devnull, os.O_RDONLY)  # so cleanup has something to close


async def test_the_sdks_messages_are_written_as_json_lines() -> None:
    async with pipes() as p:
        async with p.writer as writer:
            await writer.send(SessionMessage(types.JSONRPCResponse(jsonrpc="2.0", id=3, result={"ok": True})))
        await p.writer.aclose()
        with anyio.fail_after(5):
            assert await p.editor.next_message() == {"jsonrpc": "2.0", "id": 3, "result": {"ok": True}}


# -- claiming the process's own stdio ------------------------------------------------------------------------

CLAIMING = textwrap.dedent(
    """
    import anyio, json, sys
    from mcp_registry_server.server.stdio_transport import stdio_server

    async def main():
        async with stdio_server() as (received, writer):
            print("a stray print")  # must not reach the editor
            sys.stdout.flush()
            async for item in received:
                await writer.write_line(json.dumps({"got": item.message.id}).encode() + b"\\n")
        print("after serving")  # fd 1 is the editor's again

    anyio.run(main)
    """
)


def test_without_descriptors_it_claims_stdin_and_stdout_and_gives_them_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLAIMING],
        input=b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n',
        capture_output=True,
        timeout=30,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == ['{"got": 1}', '{"got": 2}', "after serving"]
    assert "a stray print" in done.stderr.decode()

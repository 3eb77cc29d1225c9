"""Both dispatch paths answer every line alike, on every protocol version (no Podman needed).

The same raw editor lines, and the same child replies (a scripted fake child), go through a
registry with the direct lane and one without it (every request through the SDK's own loop),
once per protocol version. The messages the editor receives must be identical, and each case
also checks what the answer is, so a path that is wrong the same way twice still fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.server.tools import REGISTRY_TOOLS
from tests.server.wire import MODERN, VERSIONS, EditorWire, envelope, request, running_registry

# Past the 64 KiB offload threshold; every line differs and is not ASCII, so a slice taken from
# the wrong place or cut in a character shows.
BIG_TEXT = "".join(f"{i:06d} ünïcødé ✓\n" for i in range(20_000))
TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
IMAGE = {"type": "image", "data": TINY_PNG, "mimeType": "image/png"}


def _reply(request_result: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": "ID", "result": request_result})


SCRIPT = {
    "tools": [
        {"name": name, "inputSchema": {"type": "object"}}
        for name in ("echo", "oops", "extra", "progress", "rpcerror", "notobject", "big", "structured", "mixed")
    ]
    + [{"name": "typed", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"}}],
    "calls": {
        "oops": {"reply": _reply({"content": "oops"})},
        "extra": {"reply": _reply({"content": [{"type": "text", "text": "hi", "zzz": 1}], "extra": 2})},
        "progress": {
            "progress": [{"progress": 1, "total": 2, "message": "half"}, {"progress": 2, "total": 2}],
            "reply": _reply({"content": [{"type": "text", "text": "done"}]}),
        },
        "rpcerror": {
            "reply": json.dumps({"jsonrpc": "2.0", "id": "ID", "error": {"code": -32000, "message": "boom", "data": 7}})
        },
        "notobject": {"reply": json.dumps({"jsonrpc": "2.0", "id": "ID", "result": 5})},
        "big": {"reply": _reply({"content": [{"type": "text", "text": BIG_TEXT}]})},
        "mixed": {
            "reply": _reply(
                {
                    "content": [{"type": "text", "text": BIG_TEXT}, IMAGE, {"type": "text", "text": "tail"}],
                    "structuredContent": {"n": 2},
                }
            )
        },
        "typed": {
            "reply": _reply({"content": [{"type": "text", "text": BIG_TEXT}], "structuredContent": {"t": BIG_TEXT}})
        },
        "structured": {
            "reply": _reply(
                {"content": [{"type": "text", "text": "{}"}], "structuredContent": {"n": 1}, "isError": False}
            )
        },
    },
}

Line = Callable[[str, Any], bytes]
Check = Callable[[str, list[dict[str, Any]]], None]


def call(name: str, arguments: Any = None, meta: dict[str, Any] | None = None) -> Line:
    def line(version: str, request_id: Any) -> bytes:
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        if meta is not None:
            params["_meta"] = meta
        return request(version, request_id, "tools/call", params)

    return line


def raw(text: str) -> Line:
    return lambda version, request_id: text.replace('"ID"', json.dumps(request_id)).encode() + b"\n"


def tool_text(messages: list[dict[str, Any]]) -> str:
    return "".join(item.get("text", "") for item in messages[-1]["result"]["content"])


def ok(text: str) -> Check:
    def check(version: str, messages: list[dict[str, Any]]) -> None:
        assert messages[-1]["result"].get("isError") in (None, False), messages[-1]
        assert tool_text(messages) == text

    return check


def tool_error(fragment: str) -> Check:
    def check(version: str, messages: list[dict[str, Any]]) -> None:
        assert messages[-1]["result"]["isError"] is True, messages[-1]
        assert fragment in tool_text(messages)

    return check


def rpc_error(code: int, *, null_id: bool = False) -> Check:
    def check(version: str, messages: list[dict[str, Any]]) -> None:
        assert messages[-1]["error"]["code"] == code, messages[-1]
        assert (messages[-1]["id"] is None) == null_id

    return check


def stripped(version: str, messages: list[dict[str, Any]]) -> None:
    result = messages[-1]["result"]
    assert result["content"] == [{"type": "text", "text": "hi"}] and "extra" not in result


def progressed(version: str, messages: list[dict[str, Any]]) -> None:
    notes = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert notes == [
        {"progressToken": "tok", "progress": 1, "total": 2, "message": "half"},
        {"progressToken": "tok", "progress": 2, "total": 2},
    ]
    assert tool_text(messages) == "done"


def structured(version: str, messages: list[dict[str, Any]]) -> None:
    structured_is(version, messages, {"n": 1})


def structured_is(version: str, messages: list[dict[str, Any]], value: dict[str, Any]) -> None:
    assert messages[-1]["result"]["structuredContent"] == value


def offloaded(version: str, messages: list[dict[str, Any]]) -> None:
    result = messages[-1]["result"]
    preview, note, *link = result["content"]
    assert preview == {"type": "text", "text": BIG_TEXT[:4096]} and result.get("isError") in (None, False)
    assert (
        f"is {len(BIG_TEXT.encode()):,} bytes, more than the 65,536 sent at once, so it is kept as reference '@REF@'"
        in (note["text"])
    )
    assert 'registry_get_content(ref="@REF@", offset=4096)' in note["text"]
    # resource_link content exists from 2025-06-18 on; earlier editors get the URI in the note only.
    expected_link = [{"type": "resource_link", "uri": "mcp-registry://results/@REF@", "size": len(BIG_TEXT.encode())}]
    assert [{k: v for k, v in item.items() if k in ("type", "uri", "size")} for item in link] == (
        expected_link if version >= "2025-06-18" else []
    )


def mixed(version: str, messages: list[dict[str, Any]]) -> None:
    result = messages[-1]["result"]
    note = result["content"][1]["text"]
    assert f"0 text (characters 0 to {len(BIG_TEXT) - 1:,})" in note
    assert "1 image image/png, " in note and 'registry_get_content(ref="@REF@", part=1)' in note
    assert f"2 text (characters {len(BIG_TEXT):,} to {len(BIG_TEXT) + 3:,})" in note
    assert '3 structuredContent, 7 bytes: registry_get_content(ref="@REF@", part=3)' in note
    assert result.get("structuredContent", {"n": 2}) == {"n": 2}  # small: kept inline where defined


def schema_bound(*, kept: bool) -> Check:
    """A large result of a tool with an outputSchema: its text is previewed; its structuredContent
    stays whole when the tool was called by its name (clients require it), not through registry_exec."""

    def check(version: str, messages: list[dict[str, Any]]) -> None:
        result = messages[-1]["result"]
        assert result["content"][0] == {"type": "text", "text": BIG_TEXT[:4096]}
        assert "so it is kept as reference '@REF@'" in result["content"][1]["text"]
        assert result.get("structuredContent") == ({"t": BIG_TEXT} if kept else None)

    return check


def sliced(text: str, next_offset: int | None) -> Check:
    def check(version: str, messages: list[dict[str, Any]]) -> None:
        result = messages[-1]["result"]
        assert result["content"][0] == {"type": "text", "text": text}, result["content"][1:]
        assert result["_meta"]["io.mcp-registry/slice"]["next_offset"] == next_offset

    return check


def whole(item: dict[str, Any]) -> Check:
    def check(version: str, messages: list[dict[str, Any]]) -> None:
        assert messages[-1]["result"]["content"] == [item]

    return check


def read_back(version: str, messages: list[dict[str, Any]]) -> None:
    contents = messages[-1]["result"]["contents"]
    assert contents == [{"uri": "mcp-registry://results/@REF@", "mimeType": "text/plain", "text": BIG_TEXT}]


def listed(version: str, messages: list[dict[str, Any]]) -> None:
    names = [tool["name"] for tool in messages[-1]["result"]["tools"]]
    own = [tool["name"] for tool in REGISTRY_TOOLS]
    assert names[: len(own)] == own and own[0] == "registry_search"
    assert names[len(own) :] == sorted(f"fake_{tool['name']}" for tool in SCRIPT["tools"])  # deterministic order


def unknown_task(version: str, messages: list[dict[str, Any]]) -> None:
    """tasks/* exist only in 2025-11-25; there an unknown id is invalid params."""
    assert messages[-1]["error"]["code"] == (-32602 if version == "2025-11-25" else -32601), messages[-1]


def anything(version: str, messages: list[dict[str, Any]]) -> None:
    """Only parity is asserted (the SDK decides; both paths must agree)."""


INVALID = "fake server (prefix 'fake') returned an invalid tools/call result"
CASES: list[tuple[str, Line, Check]] = [
    ("echo", call("fake_echo", {"a": 1}), ok('{"a": 1}')),
    (
        "echo through registry_exec",
        call("registry_exec", {"tool_name": "fake_echo", "arguments": {"a": 1}}),
        ok('{"a": 1}'),
    ),
    ("invalid child result", call("fake_oops", {}), tool_error(INVALID)),
    ("invalid result through registry_exec", call("registry_exec", {"tool_name": "fake_oops"}), tool_error(INVALID)),
    ("unknown fields are dropped", call("fake_extra", {}), stripped),
    ("progress is forwarded", call("fake_progress", {}, {"progressToken": "tok"}), progressed),
    ("progressToken 1.5", call("fake_echo", {}, {"progressToken": 1.5}), rpc_error(-32602)),
    ("progressToken null", call("fake_echo", {}, {"progressToken": None}), rpc_error(-32602)),
    ("progressToken true", call("fake_progress", {}, {"progressToken": True}), anything),
    ("child JSON-RPC error", call("fake_rpcerror", {}), tool_error("failed in the server")),
    ("child result not an object", call("fake_notobject", {}), tool_error("no result object")),
    ("large result", call("fake_big", {}), offloaded),
    (
        "a slice of it",
        call("registry_get_content", {"ref": "@REF@", "offset": 4096, "length": 100_000}),
        sliced(BIG_TEXT[4096:104_096], 104_096),
    ),
    (
        "its last slice",
        call("registry_get_content", {"ref": "@REF@", "offset": len(BIG_TEXT) - 5}),
        sliced(BIG_TEXT[-5:], None),
    ),
    (
        "a slice past its end",
        call("registry_get_content", {"ref": "@REF@", "offset": len(BIG_TEXT)}),
        tool_error(f"past the end of the text of result '@REF@', which has {len(BIG_TEXT):,} characters"),
    ),
    (
        "resources/read of it",
        lambda v, i: request(v, i, "resources/read", {"uri": "mcp-registry://results/@REF@"}),
        read_back,
    ),
    ("large result through registry_exec", call("registry_exec", {"tool_name": "fake_big"}), offloaded),
    ("an unknown reference", call("registry_get_content", {"ref": "000000-7"}), tool_error("no offloaded result")),
    ("a large result of several parts", call("fake_mixed", {}), mixed),
    ("its image, whole", call("registry_get_content", {"ref": "@REF@", "part": 1}), whole(IMAGE)),
    ("its second text part", call("registry_get_content", {"ref": "@REF@", "part": 2}), sliced("tail", None)),
    (
        "its structured content",
        call("registry_get_content", {"ref": "@REF@", "part": 3}),
        lambda version, messages: structured_is(version, messages, {"n": 2}),
    ),
    ("structured result", call("fake_structured", {}), structured),
    ("a large result of a tool with an outputSchema", call("fake_typed", {}), schema_bound(kept=True)),
    ("the same through registry_exec", call("registry_exec", {"tool_name": "fake_typed"}), schema_bound(kept=False)),
    ("unknown tool", call("fake_nope", {}), tool_error("Unknown tool 'fake_nope'")),
    ("bad registry_exec arguments", call("registry_exec", {"tool_name": 5}), tool_error("tool_name must be a string")),
    ("no name", lambda v, i: request(v, i, "tools/call", {}), rpc_error(-32602)),
    ("arguments not an object", call("fake_echo", [1, 2]), rpc_error(-32602)),
    ("string id", lambda v, i: call("fake_echo", {"s": 1})(v, f"s-{i}"), ok('{"s": 1}')),
    ("tools/list", lambda v, i: request(v, i, "tools/list"), listed),
    ("tools/list again (the lane's kept page)", lambda v, i: request(v, i, "tools/list"), listed),
    ("tools/list with a bad cursor", lambda v, i: request(v, i, "tools/list", {"cursor": "nope"}), rpc_error(-32602)),
    ("unknown method", lambda v, i: request(v, i, "foo/bar"), rpc_error(-32601)),
    ("registry_task, unknown id", call("registry_task", {"task_id": "nope"}), tool_error("No task 'nope'")),
    ("tasks/get, unknown id", lambda v, i: request(v, i, "tasks/get", {"taskId": "nope"}), unknown_task),
    ("params is a list", raw('{"jsonrpc":"2.0","id":"ID","method":"tools/call","params":[1]}'), rpc_error(-32600)),
    ("not JSON", raw("{this is not json"), rpc_error(-32700, null_id=True)),
    ("a batch", raw('[{"jsonrpc":"2.0","id":"ID","method":"tools/list"}]'), rpc_error(-32600, null_id=True)),
    ("id true", raw('{"jsonrpc":"2.0","id":true,"method":"tools/list"}'), rpc_error(-32600, null_id=True)),
    ("jsonrpc 1.0", raw('{"jsonrpc":"1.0","id":"ID","method":"tools/list"}'), rpc_error(-32600)),
]


def response_id(case: str, request_id: int) -> Any:
    if case in {"not JSON", "a batch", "id true"}:
        return None
    return f"s-{request_id}" if case == "string id" else request_id


# How an offloaded result names its reference; refs differ between runs, so transcripts show
# "@REF@" instead, and a line's "@REF@" is the latest reference the registry gave.
KEPT_AS = re.compile(r"kept as reference '([0-9a-f]{6}-[0-9]+)'")


async def transcripts(tmp_path: Path, version: str, *, lane: bool) -> dict[str, list[dict[str, Any]]]:
    seen: dict[str, list[dict[str, Any]]] = {}
    refs: list[str] = []
    async with running_registry(tmp_path, {"fake": SCRIPT}, lane=lane) as (wire, serving):
        await wire.handshake(version)
        seen["add"] = await _exchange(wire, call("registry_add", {"entry_id": "fake"})(version, 1), 1)
        for number, (case, line, _) in enumerate(CASES, start=100):
            line_bytes = line(version, number).replace(b"@REF@", refs[-1].encode() if refs else b"")
            if version == MODERN and b'"id":' in line_bytes and b"tools/" in line_bytes:
                assert (
                    b"io.modelcontextprotocol/protocolVersion" in line_bytes
                    or b"[1]" in line_bytes
                    or case
                    in {
                        "a batch",
                        "id true",
                        "jsonrpc 1.0",
                    }
                )
            seen[case] = await _exchange(wire, line_bytes, response_id(case, number))
            refs.extend(KEPT_AS.findall(json.dumps(seen[case][-1])))
        if lane:
            taken = serving.lane.requests_taken if serving.lane else 0
            # On the handshake era the lane answered the routed calls and lists itself.
            assert (taken >= 10) == (version != MODERN), taken
    text = json.dumps(seen)
    for ref in refs:
        text = text.replace(ref, "@REF@")
    return json.loads(text)  # type: ignore[no-any-return]


async def _exchange(wire: EditorWire, line: bytes, request_id: Any) -> list[dict[str, Any]]:
    return await wire.exchange(line, request_id)


@pytest.mark.parametrize("version", VERSIONS)
async def test_lane_and_sdk_paths_answer_alike(tmp_path: Path, version: str) -> None:
    by_lane = await transcripts(tmp_path, version, lane=True)
    by_sdk = await transcripts(tmp_path, version, lane=False)
    for case, _, check in CASES:
        assert by_lane[case] == by_sdk[case], f"{case}: the lane and the SDK path differ"
        check(version, by_lane[case])
    assert envelope(version) or version != MODERN

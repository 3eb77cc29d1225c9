"""Tests for mcp_registry_server.mcp_client.wire: line encoding, decoding and raw results."""

from __future__ import annotations

import json

import pytest

from mcp_registry_server.mcp_client.wire import RawJSON, decode_line, encode_line, raw_response


def test_encode_line_is_compact_utf8_with_a_newline() -> None:
    assert encode_line({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}\n'.encode()


def test_encode_line_escapes_a_lone_surrogate() -> None:
    line = encode_line({"text": "\ud800"})
    assert line.endswith(b"\n") and json.loads(line) == {"text": "\ud800"}


@pytest.mark.parametrize(
    "line",
    [b'{"a":1}', b'  {"a":"\\ud800"}  ', b"[" * 300 + b"]" * 300, b'{"a":NaN}', b'{"a":1,"a":2}'],
)
def test_decode_line_accepts_what_json_loads_accepts(line: bytes) -> None:
    assert repr(decode_line(line)) == repr(json.loads(line))


@pytest.mark.parametrize("line", [b"not json", b'{"a":1}{', b"\xff\xfe"])
def test_decode_line_refuses_what_json_loads_refuses(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_line(line)


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 12, "result": {"content": [{"type": "text", "text": "x" * 100}]}},
        {"result": {"content": [], "nested": {"a": 1}}, "jsonrpc": "2.0", "id": 3},
    ],
)
def test_raw_response_keeps_the_result_bytes_of_both_usual_shapes(message: dict) -> None:
    for line in (json.dumps(message).encode(), json.dumps(message, separators=(",", ":")).encode()):
        found = raw_response(line)
        assert found is not None
        request_id, result = found
        assert request_id == message["id"]
        assert isinstance(result, RawJSON) and result.decode() == message["result"]


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}',
        b'{"jsonrpc":"2.0","id":1,"result":[1]}',
        b'{"jsonrpc":"2.0","id":"a","result":{}}',
        b'{"jsonrpc":"2.0","id":1,"result":{"a":1}',
        b'{"jsonrpc":"2.0","method":"x","params":{}}',
    ],
)
def test_raw_response_leaves_other_lines_to_the_parser(line: bytes) -> None:
    assert raw_response(line) is None

"""One JSON-RPC message per line: how a message becomes bytes and a line becomes a message.

`encode_line` and `decode_line` use pydantic-core's JSON codec (installed with pydantic), which is
3-6x faster than the standard library's on small messages and parses a large line in a third of
the time. The standard library stays the referee: a message pydantic-core refuses to write (a lone
surrogate) is written with \\u escapes, and a line it refuses to read (a lone surrogate escape,
nesting deeper than its recursion limit) is read again by `json.loads`, so what counts as valid
JSON is unchanged.

`RawJSON` is a JSON value kept as the bytes the server sent. A request made with `raw=True` gets
its result that way when the response line is large (`RAW_LINE_MIN`) and its envelope is one of
the two usual shapes, so a relay can pass a 20 MB result on without parsing and re-encoding it
(which would stall its event loop for a tenth of a second); `decode()` parses it when needed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_core import from_json, to_json

__all__ = ["RAW_LINE_MIN", "RawJSON", "decode_line", "encode_line", "raw_response"]

RAW_LINE_MIN = 256 * 1024
"""Response lines at least this long may be kept as bytes (see `raw_response`)."""

# `{"jsonrpc":"2.0","id":7,"result":{...}}` (pydantic and json.dumps order) and
# `{"result":{...},"jsonrpc":"2.0","id":7}` (JSON.stringify of the TypeScript SDK's object).
_HEAD = re.compile(rb'\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(\d{1,18})\s*,\s*"result"\s*:\s*(?=\{)')
_RESULT_FIRST = re.compile(rb'\s*\{\s*"result"\s*:\s*(?=\{)')
_TAIL = re.compile(rb'\}\s*,\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(\d{1,18})\s*\}\s*$')
_CLOSE = re.compile(rb"\}\s*\}\s*$")


class RawJSON:
    """A JSON object kept as the bytes the server sent; see the module docstring."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data

    def decode(self) -> Any:
        return decode_line(bytes(self.data))


def raw_response(line: bytes) -> tuple[int, RawJSON] | None:
    """`(id, result)` of a success response whose envelope has a usual shape, without parsing the result.

    Only the envelope is checked (the result starts with "{" and the line closes the object);
    what is inside the result goes on as the server wrote it, as it would through a pipe.
    """
    view = memoryview(line)
    if head := _HEAD.match(line):
        close = _CLOSE.search(line, len(line) - 64)
        if close is None:
            return None
        return int(head[1]), RawJSON(view[head.end() : close.start() + 1])
    if head := _RESULT_FIRST.match(line):
        tail = _TAIL.search(line, max(len(line) - 128, head.end()))
        if tail is None:
            return None
        return int(tail[1]), RawJSON(view[head.end() : tail.start() + 1])
    return None


def encode_line(message: Any) -> bytes:
    """`message` as compact UTF-8 JSON plus b"\\n"."""
    try:
        return to_json(message) + b"\n"
    except ValueError:
        # A lone surrogate cannot be UTF-8; \u escapes keep the message valid JSON.
        return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode_line(line: bytes) -> Any:
    """The JSON value of `line`; raises ValueError (or RecursionError) when it is not JSON."""
    try:
        return from_json(line)
    except ValueError:
        return json.loads(line)

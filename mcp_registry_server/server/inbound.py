"""What a line from the editor is: a JSON-RPC message, or the answer a malformed one gets.

`plain_request(line)` reads the common case, a plain request (an object with exactly jsonrpc
"2.0", a str or int id, a str method and object or absent params), without the SDK's union
validation; the SDK's union reads such a line as the same `JSONRPCRequest`. `parse_line(line)`
reads anything else as the SDK's stdio transport does (`jsonrpc_message_adapter.validate_json`,
invalid UTF-8 replaced) and, for a line that is not a JSON-RPC message, returns the `Reply` it
gets, so an editor never waits forever: not JSON: -32700 with `id: null`; JSON that is not a
valid request or notification (a batch, a list as params, an id that is not a string or an
integer): -32600, with the request's id when it has a usable one, else null. A malformed
response (to a request of ours) cannot be answered: it is logged and dropped (None).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.shared.dispatcher import as_request_id
from mcp_types import INVALID_REQUEST, PARSE_ERROR
from pydantic import ValidationError
from pydantic_core import from_json

from mcp_registry_server.mcp_client.wire import decode_line

__all__ = ["PlainRequest", "Reply", "parse_line", "plain_request"]

logger = logging.getLogger(__name__)

_REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})


@dataclass(frozen=True)
class Reply:
    """Our answer to a malformed line, to be written to the editor."""

    error: types.JSONRPCError


def parse_line(line: bytes) -> types.JSONRPCMessage | Reply | None:
    """The message on `line` as the SDK's stdio transport reads it; for a malformed line, the reply
    it gets (None when there is nobody to answer: a malformed response)."""
    text = line.decode("utf-8", errors="replace")
    try:
        message = types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as error:
        return _malformed(text, error)
    if isinstance(message, types.JSONRPCNotification) and '"id"' in text:
        # The models ignore an unusable `id` (true, a list, …) and would take a request for a notification.
        decoded = _decoded(text)
        if isinstance(decoded, dict) and "id" in decoded:
            return _invalid_request(None, "its id must be a string or an integer")
    return message


def plain_request(line: bytes) -> PlainRequest | None:
    """The request on `line` when it is plainly one (the common case), without the union validation.

    Plainly: an object with exactly jsonrpc "2.0", a str or int id, a str method and object (or
    no) params: the SDK's union reads such a line as the same `JSONRPCRequest`
    (`PlainRequest.message`). Anything else, invalid UTF-8 included, takes the full path."""
    try:
        decoded = from_json(line)
    except ValueError:
        return None
    if type(decoded) is not dict or decoded.keys() - _REQUEST_KEYS or decoded.get("jsonrpc") != "2.0":
        return None
    request_id, method, params = decoded.get("id"), decoded.get("method"), decoded.get("params")
    if not isinstance(request_id, int | str) or isinstance(request_id, bool):
        return None
    if type(method) is not str or not (params is None or type(params) is dict):
        return None
    if params is None and "params" in decoded:
        return None  # `"params": null` is not plain
    return PlainRequest(request_id, method, params)


@dataclass(frozen=True, slots=True)
class PlainRequest:
    """A request's id, method and params, read without building its model (see `plain_request`)."""

    id: int | str
    method: str
    params: dict[str, Any] | None

    def message(self) -> types.JSONRPCRequest:
        if self.params is None:
            return types.JSONRPCRequest.model_construct(jsonrpc="2.0", id=self.id, method=self.method)
        return types.JSONRPCRequest.model_construct(jsonrpc="2.0", id=self.id, method=self.method, params=self.params)


def _malformed(text: str, error: ValidationError) -> Reply | None:
    if error.errors()[0]["type"] == "json_invalid":
        return _error_reply(None, PARSE_ERROR, "Parse error: the line is not JSON")
    decoded = _decoded(text)
    if not isinstance(decoded, dict):
        what = "a batch (an array); MCP does not use batches" if isinstance(decoded, list) else "not a JSON object"
        return _invalid_request(None, what)
    if "method" not in decoded and ("result" in decoded or "error" in decoded):
        logger.warning("ignoring a malformed response from the editor (id %.40r)", decoded.get("id"))
        return None
    why = "it is not a valid JSON-RPC 2.0 request or notification (params must be an object)"
    return _invalid_request(as_request_id(decoded.get("id")), why)


def _decoded(text: str) -> Any:
    try:
        return decode_line(text.encode())
    except (ValueError, RecursionError):
        return None


def _invalid_request(request_id: types.RequestId | None, why: str) -> Reply:
    return _error_reply(request_id, INVALID_REQUEST, f"Invalid Request: {why}")


def _error_reply(request_id: types.RequestId | None, code: int, message: str) -> Reply:
    error = types.ErrorData(code=code, message=message)
    return Reply(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))

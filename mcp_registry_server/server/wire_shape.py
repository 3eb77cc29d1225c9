"""What the SDK's `ServerRunner` does around a handler, as two functions the direct lane calls.

The SDK's own loop runs every request through its runner: before the handler, the request is
checked against the editor's protocol version (`check_request`); after it, the result is given
its wire shape (`wire_result`). The direct lane serves its requests without that loop, so it
calls these, which call the same SDK functions in the same order and fail the same way:
- `check_request(server, method, version, params)`: the per-version surface
  (`mcp_types.methods.validate_client_request`: an unknown method is -32601 "Method not
  found"), then the handler's own params model; a `ValidationError` is -32602 "Invalid
  request parameters" once the SDK's `handler_exception_to_error_data` maps it;
- `wire_result(server, method, version, result)`: the server's cache hint (hint keys first, so
  the handler's own keys win), then the per-version sieve (`serialize_server_result`: fields
  the version does not define are dropped; an invalid result is -32603), which a
  `results.ShapedResult` has had already.
Only handshake-era versions: 2026-07-28 requests never take the lane (their results also get
`resultType` and the `serverInfo` stamp, which the SDK's loop adds).
`tests/server/test_dispatch_parity.py` holds both paths to the same answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, METHOD_NOT_FOUND
from mcp_types import methods as sdk_methods
from pydantic import ValidationError

from mcp_registry_server.server.results import ShapedResult

__all__ = ["check_request", "wire_result"]

logger = logging.getLogger(__name__)


def check_request(server: Server[Any], method: str, version: str, params: Mapping[str, Any] | None) -> None:
    """Raise what the SDK's runner raises for this request before its handler runs (nothing when valid)."""
    try:
        sdk_methods.validate_client_request(method, version, params)
    except KeyError:
        raise MCPError(code=METHOD_NOT_FOUND, message="Method not found", data=method) from None
    entry = server.get_request_handler(method)
    if entry is None:
        raise MCPError(code=METHOD_NOT_FOUND, message="Method not found", data=method)
    entry.params_type.model_validate({} if params is None else params, by_name=False)


def wire_result(server: Server[Any], method: str, version: str, result: dict[str, Any]) -> dict[str, Any]:
    """The handler's `result` as the SDK's runner puts it on the wire for a handshake-era editor."""
    if isinstance(result, ShapedResult) and method not in server.cache_hints:
        return result  # already the sieve's output; sieving again would give the same
    if (hint := server.cache_hints.get(method)) is not None:
        result = {"ttlMs": hint.ttl_ms, "cacheScope": hint.scope, **result}
    try:
        return sdk_methods.serialize_server_result(method, version, result)
    except ValidationError:
        logger.exception("handler for %r returned an invalid result", method)
        raise MCPError(code=INTERNAL_ERROR, message="Handler returned an invalid result") from None

"""Every tool result the editor sees, built in one place, for every dispatch path and protocol version.

- `routed_result(outcome, method, version)`: what a child answered to a routed request
  (`tools/call`, `prompts/get`, `resources/read`), checked against the SDK's per-version
  surface for the editor's protocol version (`mcp_types.methods.SERVER_RESULTS`). This is the
  registry's one rule for a child that breaks the protocol: a tools/call result the surface
  rejects becomes a tool error that names the server and says what was wrong, so the model
  reads it and the call does not look like a registry crash; for the other methods, which
  have no error result, it is a JSON-RPC error (-32603) with the same text. A valid result
  goes on in the surface's shape (`ShapedResult`: fields the editor's version does not define
  are dropped), as the SDK's runner would give it on every path.
- 2026-07-28 editors require `resultType`; a handshake-era child's results get
  `"complete"` before they are checked. A 2026-07-28 child's `serverInfo` stamp is taken off:
  to the editor, the registry is the server (the SDK stamps the registry's).
- `text_result(payload)` and `error_result(text)`: the registry's own tool results.
"""

from __future__ import annotations

import json
from functools import cache
from types import UnionType
from typing import Any, cast, get_args

from mcp_types import INTERNAL_ERROR, SERVER_INFO_META_KEY
from mcp_types.methods import SERVER_RESULTS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError

from mcp_registry_server.registry import CallOutcome, RequestError

__all__ = ["ShapedResult", "error_result", "routed_result", "text_result"]

# How much of the surface's complaint an invalid-result error quotes.
_PROBLEM_CHARS = 300


@cache
def _surface(method: str, version: str, input_required: bool) -> TypeAdapter[Any]:
    """The surface model of one result arm. 2026-07-28 rows are unions (complete | input_required);
    checking against the union would let a broken complete result pass as an empty
    input_required one, so the arm is chosen by `resultType`."""
    row = SERVER_RESULTS[(method, version)]
    arms = get_args(row) if isinstance(row, UnionType) else (row,)
    chosen = [arm for arm in arms if (arm.__name__ == "InputRequiredResult") == input_required]
    return TypeAdapter(cast(Any, chosen[0] if chosen else row))


def error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def text_result(payload: Any, *, is_error: bool = False) -> dict[str, Any]:
    """A registry tool's result: text for the model, and the same data as structuredContent."""
    if isinstance(payload, str):
        return {"content": [{"type": "text", "text": payload}], "isError": is_error}
    return {
        "content": [{"type": "text", "text": json.dumps(payload, indent=2, ensure_ascii=False)}],
        "structuredContent": payload,
        "isError": is_error,
    }


def routed_result(outcome: CallOutcome, method: str, version: str) -> dict[str, Any]:
    """The result to send the editor for a routed `method`; see the module docstring."""
    result = outcome.result
    meta = result.get("_meta")
    if isinstance(meta, dict) and SERVER_INFO_META_KEY in meta:
        # A 2026-07-28 child's identity stamp: the editor's server is the registry, which stamps its own.
        result = {**result, "_meta": {k: v for k, v in meta.items() if k != SERVER_INFO_META_KEY}}
    if version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        result = {**result, "resultType": "complete"}
    surface = _surface(method, version, result.get("resultType") == "input_required")
    try:
        validated = surface.validate_python(result, by_name=False)
    except ValidationError as error:
        return _invalid(outcome, method, _first_problem(error))
    return ShapedResult(surface.dump_python(validated, by_alias=True, mode="json", exclude_none=True))


class ShapedResult(dict[str, Any]):
    """A result already in the surface's shape for the editor's version: the sieve would not
    change it (it is idempotent), so the direct lane does not run it again."""


def _invalid(outcome: CallOutcome, method: str, problem: str) -> dict[str, Any]:
    server = f"The {outcome.server}" if outcome.server else "The server"
    text = (
        f"{server} returned an invalid {method} result ({problem}), so it was not passed on. "
        "This is a bug in that server; its log (mcp-registry logs) may say more."
    )
    if method != "tools/call":
        raise RequestError(INTERNAL_ERROR, text)
    return error_result(text)


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "result"
    return f"{where}: {first['msg']}"[:_PROBLEM_CHARS]
